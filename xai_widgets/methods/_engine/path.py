"""The one path decision of the edit engine: fast windows or plain forward passes.

:func:`decide` is called once per job (ISM, a GIA sweep, variant scoring, ...) with the
job's size and edit width. ``method`` means one thing everywhere:

``"auto"``
    The cheapest exact path: the fast window path (:class:`.windows.WindowEngine`) when the
    model offers a local plan that agrees with its forward on test edits and that path is the
    cheaper one, else plain forward passes.
``"fast"``
    The fast window path, or a ValueError saying why it does not apply.
``"naive"``
    Plain forward passes of the edited sequences.

The self-check runs the engine that will run, on edits of the job's width (:func:`check_plan`).
The cost rule compares the work per edit of the two paths, counted from the model's layers
(:func:`estimate_costs`, no tracing), and times both on a sample when it is close.
"""

from __future__ import annotations

import math
import time
import warnings
import weakref
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..._core import activation_bytes, resolve_batch_size
from ...contract import LocalPlan, Residual, plan_and_reason
from .windows import LengthMajorPlan, WindowEngine, _single

EDIT_METHODS = ("auto", "fast", "naive")
"""The values of every edit-based method's ``method`` option."""

CHECK_RTOL = 1e-4
"""Self-check tolerance: ``CHECK_RTOL * (1 + scale)``, scale the largest absolute output (for
float16/bfloat16 models ``32 * eps`` of the dtype instead of ``CHECK_RTOL`` when larger)."""
CHECK_SEQUENCES, CHECK_EDITS = 2, 8
"""The self-check edits the first ``CHECK_SEQUENCES`` sequences at ``CHECK_EDITS`` places each
(the first, the last and random ones in between), each to random other values."""

HEAD_DOMINATES = 0.9
"""``method="auto"`` runs plain forward passes, without timing, when the fast path's work per
edit is at least this fraction of a forward pass's (the head after the local layers does
nearly all the work, which the fast path repeats for every edit)."""
LOCAL_DOMINATES = 0.25
"""``method="auto"`` takes the fast path, without timing, when its work per edit is at most
this fraction of a forward pass's (the local layers dominate, as in Basset-like CNNs)."""
TIMING_FRACTION, MIN_TIMING_EDITS, MAX_TIMING_EDITS = 1 / 32, 64, 256
"""Between the two thresholds both paths are timed, once per model, input length, edit width,
dtype, device and thread count, on ``clip(n_edits * TIMING_FRACTION, MIN_TIMING_EDITS,
MAX_TIMING_EDITS)`` edits of the first sequence (twice each, alternating, the faster run
counted); a job of fewer than ``MIN_TIMING_EDITS / TIMING_FRACTION`` edits is not timed and
takes the fast path (it does less work)."""
PLAIN_MARGIN = 1.1
"""Timed, plain forward passes are chosen only when the fast path took more than this factor of
their time per edit (the fast path does less work; the margin keeps noise from flipping ties)."""

_CHECKED = weakref.WeakKeyDictionary()
"""model -> {(length, width, dtype, device): (parameter versions, agrees, detail)}."""
_COSTS = weakref.WeakKeyDictionary()
"""model -> {(length, width, dtype, device, threads): cost dict of :func:`estimate_costs`}."""


class PathChoice(NamedTuple):
    """The computation :func:`decide` picked for a job of edits."""

    path: str
    """``"fast"`` (windows through the local layers, then the head) or ``"naive"`` (plain
    batched forward passes)."""
    plan: LocalPlan | None
    """The checked plan for ``"fast"``, None for ``"naive"``."""
    reason: str
    """One sentence: why this path."""
    costs: dict
    """:func:`estimate_costs`' estimates (empty when no comparison was made)."""


def check_method(method) -> str:
    """``method`` if it is one of :data:`EDIT_METHODS`, else a ValueError listing them."""
    if not isinstance(method, str) or method not in EDIT_METHODS:
        raise ValueError(f"method must be one of {EDIT_METHODS} ('auto': the cheapest exact path, 'fast': the fast "
                         f"window path or an error saying why not, 'naive': plain forward passes); got {method!r}")
    return method


def _key(model: nn.Module, X: torch.Tensor, device, width: int) -> tuple:
    device = torch.device(device)
    dtype = next((p.dtype for p in model.parameters()), X.dtype)
    return X.shape[2], width, dtype, device.type, device.index


def edited_copies(X: torch.Tensor, rows: torch.Tensor, starts: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Copies ``(E, 4, L)`` of ``X[rows[e]]`` with ``values[e] (4, W)`` at ``[starts[e], starts[e] + W)``."""
    edited = X[rows].clone()
    width = values.shape[2]
    columns = starts[:, None] + torch.arange(width, device=X.device)  # (E, W)
    edited.scatter_(2, columns[:, None, :].expand(-1, 4, -1), values.to(edited.dtype))
    return edited


def _test_edits(X: torch.Tensor, width: int, n_edits: int, generator: torch.Generator):
    """Edits of every sequence of ``X`` at ``n_edits`` places (the first and the last included),
    each a random one-hot window of ``width`` that differs from the sequence at every position."""
    n, _, length = X.shape
    last = length - width
    k = min(n_edits, last + 1)
    inner = torch.randperm(max(last - 1, 0), generator=generator)[: max(k - 2, 0)] + 1
    places = torch.cat([torch.tensor([0, last][:k]), inner]).unique()
    rows = torch.arange(n).repeat_interleave(len(places))
    starts = places.repeat(n)
    observed = X.argmax(1).cpu()[rows[:, None], starts[:, None] + torch.arange(width)]  # (E, W)
    bases = (observed + torch.randint(1, 4, observed.shape, generator=generator)).remainder(4)
    values = F.one_hot(bases, 4).permute(0, 2, 1).to(X.dtype)
    return rows.to(X.device), starts.to(X.device), values.to(X.device)


@torch.no_grad()
def compare_fast_path(model: nn.Module, X: torch.Tensor, plan: LocalPlan, *, device=None, width: int = 1,
                      n_sequences: int = CHECK_SEQUENCES, n_edits: int = CHECK_EDITS) -> dict:
    """Outputs of the window engine against the model's own forward, on sampled edits of ``X``.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode.
    X : torch.Tensor, shape (N, 4, L)
        The first ``n_sequences`` are used, with ``n_edits`` edits each (the first and the last
        place included) and the unedited sequences.
    plan : LocalPlan
        The plan to check, used as it is.
    device : torch.device, optional
        Where to compute (default: where ``X`` is).
    width : int, optional
        Width of the test edits (default 1: single-base substitutions).

    Returns
    -------
    dict
        ``agrees`` (within ``CHECK_RTOL * (1 + largest absolute output)``), ``max_difference``,
        ``tolerance``, ``n_edits`` and a ``detail`` sentence.
    """
    X = X[:n_sequences].to(device if device is not None else X.device)
    width = min(width, X.shape[2])
    rows, starts, values = _test_edits(X, width, n_edits, torch.Generator().manual_seed(0))
    expected = torch.cat([model(X), model(edited_copies(X, rows, starts, values))])
    result = {"agrees": False, "max_difference": math.inf, "tolerance": math.nan, "n_edits": len(rows)}
    try:
        engine = WindowEngine(plan, X)
        fast = torch.cat([engine.reference_output, engine.edit(rows.cpu().numpy(), starts.cpu().numpy(), values)])
    except Exception as error:  # noqa: BLE001 - a plan whose layers or head do not fit the model
        return result | {"detail": f"the fast path failed: {type(error).__name__}: {error}"}
    if fast.shape != expected.shape:
        return result | {"detail": f"the fast path gives outputs of shape {tuple(fast.shape)}, "
                                   f"the model {tuple(expected.shape)}"}
    same = (fast == expected) | (torch.isnan(fast) & torch.isnan(expected))
    difference = float(torch.where(same, 0.0, (fast - expected).abs().nan_to_num(math.inf)).max())
    finite = expected[torch.isfinite(expected)]
    scale = float(finite.abs().max()) if len(finite) else 0.0
    tolerance = max(CHECK_RTOL, 32 * torch.finfo(expected.dtype).eps) * (1 + scale)
    return {"agrees": difference <= tolerance, "max_difference": difference, "tolerance": tolerance,
            "n_edits": len(rows),
            "detail": f"max difference {difference:.3g} > tolerance {tolerance:.3g} on {len(rows)} test edits"}


def check_plan(model: nn.Module, plan: LocalPlan, X: torch.Tensor, device, width: int = 1) -> tuple[bool, str]:
    """Whether the window engine agrees with ``model`` on test edits of ``width`` (cached).

    The first time per model, input length, edit width, dtype, device and state of the
    parameters and buffers (their ``_version``, so in-place training or loading invalidates it),
    :func:`compare_fast_path` runs; the answer is cached weakly per model.
    """
    key = _key(model, X, device, width)
    versions = tuple((id(t), t._version) for t in (*model.parameters(), *model.buffers()))
    cache = _CHECKED.setdefault(model, {})
    if key not in cache or cache[key][0] != versions:
        result = compare_fast_path(model, X, plan, device=device, width=width)
        cache[key] = (versions, result["agrees"], result["detail"])
    return cache[key][1], cache[key][2]


def decide(model: nn.Module, X: torch.Tensor, device, *, n_edits: int, method: str = "auto",
           width: int = 1) -> PathChoice:
    """The path for ``n_edits`` edits of ``width`` bases of sequences like ``X`` (see the module).

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode on ``device``.
    X : torch.Tensor, shape (N, 4, L)
        The sequences to edit (the first ones are used for the check and the estimates).
    device : torch.device
    n_edits : int
        The number of edits the caller will evaluate.
    method : {"auto", "fast", "naive"}
        Default "auto".
    width : int
        Bases each edit writes (default 1).

    Returns
    -------
    PathChoice

    Raises
    ------
    ValueError
        For an unknown ``method``; for ``method="fast"`` when the model has no usable local
        plan or the engine disagrees with its forward on test edits (the message says which).
    """
    check_method(method)
    if method == "naive":
        return PathChoice("naive", None, "method='naive'", {})
    name = type(model).__name__
    plan, reason = plan_and_reason(model)
    if plan is None:
        if method == "fast":
            raise ValueError(f"method='fast': the fast path does not apply to {name}: {reason}; "
                             "use method='auto' or 'naive'")
        return PathChoice("naive", None, f"no fast path: {reason}", {})
    agrees, detail = check_plan(model, plan, X, device, width)
    if not agrees:
        message = (f"the fast path disagrees with plain forward passes of {name} ({detail}): its local plan does "
                   "not compute what its forward computes (check local_plan() and its layers)")
        if method == "fast":
            raise ValueError(f"method='fast': {message}; use method='naive' or 'auto'")
        warnings.warn(message + "; using plain forward passes instead (pass method='naive' to choose them yourself)",
                      RuntimeWarning, stacklevel=3)
        return PathChoice("naive", None, "its fast path disagreed with its forward on test edits", {})
    if method == "fast":
        return PathChoice("fast", plan, "method='fast'", {})
    costs = estimate_costs(model, plan, X, device, width=width)
    ratio = costs["ratio"]
    share = f"the fast path does {ratio:.0%} of a forward pass's work per edit"
    if ratio >= HEAD_DOMINATES:
        return PathChoice("naive", None, f"{share} (the head dominates)", costs)
    if ratio <= LOCAL_DOMINATES:
        return PathChoice("fast", plan, f"{share} (the local layers dominate)", costs)
    timing = min(int(n_edits * TIMING_FRACTION), MAX_TIMING_EDITS)
    if timing < MIN_TIMING_EDITS and "fast_seconds" not in costs:
        return PathChoice("fast", plan, f"{share}; too few edits ({n_edits}) to time both paths", costs)
    costs = estimate_costs(model, plan, X, device, width=width, timing_edits=timing)
    fast, naive = costs["fast_seconds"], costs["naive_seconds"]
    path = "fast" if fast <= PLAIN_MARGIN * naive else "naive"
    if path == "fast" and costs["fast_layout"] == "length":
        plan = LengthMajorPlan(*plan)
    return PathChoice(path, plan if path == "fast" else None,
                      f"{share}; timed {costs['timing_edits']} edits: fast {fast * 1e3:.3g} ms "
                      f"({costs['fast_layout']}-major stitch), plain {naive * 1e3:.3g} ms per edit", costs)


# ---------------------------------------------------------------------------------------------
# cost


def _module_flops(module: nn.Module, inputs, output) -> float:
    """Multiply-adds x 2 of one call of a leaf module (the layers that carry the work)."""
    if isinstance(module, nn.Conv1d) and isinstance(output, torch.Tensor):
        return 2.0 * output.numel() * module.weight[0].numel()
    if isinstance(module, nn.Linear) and isinstance(output, torch.Tensor):
        return 2.0 * output.numel() * module.in_features
    if isinstance(module, nn.RNNBase) and inputs and isinstance(inputs[0], torch.Tensor):
        steps_batch = inputs[0].numel() // inputs[0].shape[-1]
        weights = sum(p.numel() for name, p in module.named_parameters() if name.startswith("weight"))
        return 2.0 * steps_batch * weights
    if isinstance(module, nn.MultiheadAttention) and inputs and isinstance(inputs[0], torch.Tensor):
        q = inputs[0]
        tokens, dim = q.numel() // q.shape[-1], q.shape[-1]
        length = q.shape[1] if module.batch_first else q.shape[0]
        return 2.0 * tokens * (4 * dim * dim + 2 * length * dim)
    out = output if isinstance(output, torch.Tensor) else None
    return float(out.numel()) if out is not None else 0.0


def _window_flops(layers, widths: list, length_of: dict, flops: dict, width: int) -> tuple[float, int]:
    """FLOPs of carrying a window of ``width`` through ``layers``: each layer's per-position
    cost times its window width (clamped to its length)."""
    total = 0.0
    for layer in layers:
        if isinstance(layer, Residual):
            body, width = _window_flops(list(layer.body), widths, length_of, flops, width)
            total += body
            continue
        if isinstance(layer, nn.Conv1d):
            width += layer.dilation[0] * (layer.kernel_size[0] - 1)
        elif isinstance(layer, nn.MaxPool1d):
            width = (width - 1) // _single(layer.kernel_size) + 2
        length = length_of.get(layer, 1)
        width = min(width, max(length, 1))
        total += flops.get(layer, 0.0) / max(length, 1) * width
        widths.append(width)
    return total, width


def _counted(model: nn.Module, X1: torch.Tensor) -> tuple[dict, dict]:
    """Per leaf module: FLOPs of one forward of ``X1`` and the length of its output."""
    flops, length_of = {}, {}

    def hook(module, inputs, output):
        flops[module] = flops.get(module, 0.0) + _module_flops(module, inputs, output)
        first = output[0] if isinstance(output, (tuple, list)) else output
        if isinstance(first, torch.Tensor) and first.ndim:
            length_of[module] = first.shape[-1]

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        model(X1)
    finally:
        for handle in handles:
            handle.remove()
    return flops, length_of


def _probe_edits(X: torch.Tensor, n: int, width: int):
    """``n`` edits of ``X[0]`` of ``width`` bases at evenly spread places."""
    last = X.shape[2] - width
    starts = torch.linspace(0, last, n).round().long().to(X.device)
    observed = X[0].argmax(0)[starts[:, None] + torch.arange(width, device=X.device)]
    offset = torch.arange(n, device=X.device)[:, None] % 3 + 1
    values = F.one_hot((observed + offset).remainder(4), 4).permute(0, 2, 1).to(X.dtype)
    return torch.zeros(n, dtype=torch.long, device=X.device), starts, values


def _seconds(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


@torch.no_grad()
def estimate_costs(model: nn.Module, plan: LocalPlan, X: torch.Tensor, device, *, width: int = 1,
                   timing_edits: int = 0) -> dict:
    """Work per edit of the fast path and of plain forward passes.

    Work is counted from one forward pass of the first sequence with forward hooks: the FLOPs
    of every convolution, linear, recurrent and attention layer (closed forms; element-wise
    layers count one per output). The fast path pays each local layer's per-position cost over
    its window width and the whole head; plain passes pay everything. No tracing is involved,
    so the estimate costs one forward pass. With ``timing_edits`` both paths are also timed on
    that many edits (twice each, alternating; the faster run counts). Estimates are cached
    (weakly, per model) per input length, edit width, dtype, device and thread count.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode on ``device``.
    plan : LocalPlan
        A checked plan.
    X : torch.Tensor, shape (N, 4, L)
        Only the first sequence is used.
    device : torch.device
    width : int
        Edit width (default 1).
    timing_edits : int
        Edits to time each path on; default 0: no timing.

    Returns
    -------
    dict
        ``fast_flops`` and ``naive_flops`` per edit, ``ratio`` (fast over naive, NaN when
        nothing is counted), and when timed ``fast_seconds``, ``naive_seconds`` per edit,
        ``fast_layout`` (``"length"`` when the length-major stitch of
        :class:`~.windows.LengthMajorPlan` was the faster fast path, else ``"channels"``) and
        ``timing_edits``.
    """
    device = torch.device(device)
    X1 = X[:1].to(device)
    key = (*_key(model, X, device, width), torch.get_num_threads())
    cache = _COSTS.setdefault(model, {})
    if key not in cache:
        flops, length_of = _counted(model, X1)
        naive = sum(flops.values())
        local_modules = set()
        for layer in plan.layers:
            local_modules.update(m for m in layer.modules() if not list(m.children()))
        local_full = sum(f for m, f in flops.items() if m in local_modules)
        window, _ = _window_flops(list(plan.layers), [], length_of, flops, width)
        fast = naive - local_full + window
        cache[key] = {"fast_flops": fast, "naive_flops": naive, "ratio": fast / naive if naive > 0 else math.nan}
    costs = cache[key]
    if timing_edits > 0 and "fast_seconds" not in costs:
        rows, starts, values = _probe_edits(X1, timing_edits, width)
        engine = WindowEngine(plan, X1)
        r, s = rows.cpu().numpy(), starts.cpu().numpy()
        runs = {"channels": lambda: engine.edit(r, s, values),
                "naive": lambda: model(edited_copies(X1, rows, starts, values))}
        if not plan.global_max:  # the head reads the stitched map: try it length-major too
            length_major = WindowEngine(LengthMajorPlan(*plan), X1)
            runs["length"] = lambda: length_major.edit(r, s, values)
        best = {name: math.inf for name in runs}
        for _ in range(2):
            for name, run in runs.items():
                best[name] = min(best[name], _seconds(run, device))
        layout = min(("channels", "length") if "length" in best else ("channels",), key=best.get)
        costs.update(fast_seconds=best[layout] / timing_edits, naive_seconds=best["naive"] / timing_edits,
                     fast_layout=layout, timing_edits=timing_edits)
    return dict(costs)


def edit_bytes(plan: LocalPlan, model: nn.Module, X: torch.Tensor, device, width: int = 1) -> int:
    """Bytes one edit needs on the fast path: the head's activations (and the stitched final
    map when the head reads the whole map) plus each local layer's edited window."""
    per_module = activation_bytes(model, X, device)["per_module"]
    local = set()
    for layer in plan.layers:
        local.update(id(m) for m in layer.modules())
    total = sum(size for module, (size, _) in per_module.items() if id(module) not in local)
    final = 0
    for module in (m for layer in plan.layers for m in layer.modules() if not list(m.children())):
        if isinstance(module, nn.Conv1d):
            width += module.dilation[0] * (module.kernel_size[0] - 1)
        elif isinstance(module, nn.MaxPool1d):
            width = (width - 1) // _single(module.kernel_size) + 2
        size, length = per_module.get(module, (0, 1))
        total += size // max(length, 1) * min(width, length)
        final = size
    return total + (0 if plan.global_max else 2 * final)  # the stitched map and the head's copy


def edit_batch_size(batch_size, choice: PathChoice, model: nn.Module, X: torch.Tensor, device,
                    width: int = 1) -> int:
    """``batch_size``, or the edits per batch of the memory rule for the chosen path."""
    per_item = edit_bytes(choice.plan, model, X, device, width) if choice.plan is not None else None
    return resolve_batch_size(batch_size, model, X, device, per_item_bytes=per_item)
