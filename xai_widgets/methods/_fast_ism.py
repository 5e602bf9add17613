"""Fast in-silico mutagenesis for models made of position-local layers (after fastISM).

A single-base edit changes only a bounded window of every convolution and pooling output
(Nair et al. 2022). For each edit we carry that window through the local layers, computing it
from the cached activations of the unedited sequence, and then either take the global max with
prefix/suffix maxima of the cached final map, or stitch the window into the cached map and run
the head. Windows have one fixed size per layer (clamped at the ends), so all edits of a batch
run as one tensor operation.

The fast path computes convolutions from their raw weights, so it takes a layer as local only
when it knows the layer's computation: exactly one of :data:`KNOWN_LAYERS` (or a subclass that
redefines nothing of it), without forward hooks, with supported settings (:func:`local_plan`,
:func:`fast_ism_support`). Every method then uses :func:`checked_plan`, which compares the fast
path with plain forward passes on a few edits the first time it meets a model, and falls back
to them (with a warning) when the two disagree.

A fast path that exists is not always the cheaper one: when the head after the local layers
does most of the work (an LSTM over the whole map, as in DanQ), every edit still pays for the
whole head, and the window bookkeeping can cost more than the local layers it saves. With
``n_edits`` given, :func:`checked_plan` (through :func:`choose_path`) therefore compares the
two paths' cost for the model and input length and returns the plan only when the fast path
is the cheaper one (see :func:`estimate_costs`).
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
from torch.nn.modules import module as _module_globals
from torch.utils.flop_counter import FlopCounterMode

from .._core import resolve_batch_size
from ..contract import Exp, LocalPlan, Residual
from ._common import check_target, model_method, prepare

ELEMENTWISE = (nn.BatchNorm1d, nn.ReLU, nn.ELU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.LeakyReLU,
               nn.Identity, nn.Dropout, Exp)
"""Element-wise layers fast ISM knows (BatchNorm1d only in eval mode with running statistics)."""
KNOWN_LAYERS = (nn.Conv1d, nn.MaxPool1d, Residual) + ELEMENTWISE
"""Every layer class the fast path computes itself (see :func:`local_plan`). A
:class:`~xai_widgets.contract.Residual` block (``x + body(x)``) counts when every layer
of its body does and keeps the length: convolutions with "same" padding, element-wise layers."""
_COMPUTATION = ("forward", "_conv_forward", "__call__", "_call_impl", "_wrapped_call_impl", "__getattr__",
                "__getattribute__", "weight", "bias")
"""Attributes a subclass may not redefine and still count as its known base class."""


def local_plan(model: nn.Module) -> LocalPlan | None:
    """The model's :class:`LocalPlan`, or None when fast ISM does not apply (see :func:`fast_ism_support`).

    Zoo models provide one; an ``nn.Sequential`` (exactly that class) gets one when its leading
    layers are known local layers (the rest becomes the head). When a plan lists a layer that is
    not known (for instance a Conv1d subclass with its own forward, or a layer with a forward
    hook), only the known layers before it stay local and the rest moves into the head; None when
    that leaves no local layer. The plan is not yet checked against the model's own forward: the
    methods use :func:`checked_plan`.
    """
    return _plan_and_reason(model)[0]


def fast_ism_support(model: nn.Module) -> str:
    """Whether fast ISM applies to ``model``: ``"yes"`` or ``"no: <reason naming the layer>"``.

    This is the static part of the decision (the layers and their settings, for the model in
    eval mode, as every method runs it); the methods also check the plan numerically the first
    time (:func:`checked_plan`).
    """
    plan, reason = _plan_and_reason(model)
    return "yes" if plan is not None else "no: " + reason


def _plan_and_reason(model: nn.Module) -> tuple[LocalPlan | None, str]:
    names = {id(m): name for name, m in model.named_modules()}
    hooked = _hooks(model, top_level=True)
    if hooked:
        return None, f"the model ({type(model).__name__}) has {hooked}, which the fast path would bypass"
    if hasattr(model, "local_plan"):
        plan = model.local_plan()
    elif type(model) is nn.Sequential:
        plan = LocalPlan(list(model), False, None)
    elif isinstance(model, nn.Sequential):
        return None, (f"{type(model).__name__} subclasses nn.Sequential, so its forward may differ from running "
                      "its layers in order; give it a local_plan() method to allow fast ISM")
    else:
        return None, (f"{type(model).__name__} has no local_plan() and is not an nn.Sequential, so its "
                      "position-local layers are not known (e.g. an RNN or attention model)")
    layers = list(plan.layers)
    reason = (f"{type(model).__name__}'s local_plan() offers no position-local layers (an adapter over a model "
              "without them, or with a changed input length): ISM runs plain forward passes")
    for k, layer in enumerate(layers):
        problem = _layer_problem(layer, id(layer) in names, names)
        if problem is not None:
            name = names.get(id(layer))
            label = f"layer {name!r}" if name else f"plan layer {k}"
            reason = f"{label} ({type(layer).__name__}) {problem}"
            layers = layers[:k]
            rest = list(plan.layers)[k:]
            break
    else:
        rest = []
    if not layers:
        return None, reason
    if plan.head is None:  # an nn.Sequential: the rest of it is the head
        return LocalPlan(layers, False, nn.Sequential(*rest)), ""
    if not rest:
        return plan, ""
    return LocalPlan(layers, False, _Tail(rest, plan.global_max, plan.head)), ""


class _Tail:
    """Head of a plan cut short: the plan's remaining layers, its global max (if any), its head."""

    def __init__(self, layers, global_max: bool, head):
        self.layers, self.global_max, self.head = layers, global_max, head

    def __call__(self, h: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            h = layer(h)
        return self.head(h.amax(-1) if self.global_max else h)


def _known_class(module: nn.Module):
    """The known layer class ``module`` computes as, or None (a subclass redefining its computation)."""
    cls = type(module)
    if cls in KNOWN_LAYERS:
        return cls
    for base in KNOWN_LAYERS:
        if issubclass(cls, base):
            between = cls.__mro__[: cls.__mro__.index(base)]
            if any(name in vars(c) for c in between for name in _COMPUTATION):
                return None
            return base
    return None


def _hooks(module: nn.Module, top_level: bool = False) -> str:
    """Description of the forward hooks that would run on ``module`` ('' when none)."""
    found = []
    if module._forward_hooks or module._forward_pre_hooks:
        found.append("a forward hook")
    if not top_level and (getattr(_module_globals, "_global_forward_hooks", None)
                          or getattr(_module_globals, "_global_forward_pre_hooks", None)):
        found.append("global forward hooks (torch.nn.modules.module.register_module_forward_hook)")
    return " and ".join(found)


def _layer_problem(module, owned: bool, names: dict | None = None) -> str | None:
    """Why ``module`` is not a local layer fast ISM can compute, or None.

    ``owned``: the module belongs to the model, which every method puts in eval mode first; a
    plan layer outside the model keeps its own training flag. ``names``: ids of the model's
    modules (for the layers inside a :class:`Residual` block).
    """
    if not isinstance(module, nn.Module):
        return "is not an nn.Module"
    cls = _known_class(module)
    if cls is None:
        known = ", ".join(c.__name__ for c in KNOWN_LAYERS)
        if isinstance(module, KNOWN_LAYERS):
            return ("subclasses a known layer but redefines its computation (e.g. its own forward), so the fast "
                    f"path cannot compute it; fast ISM knows {known}")
        return f"is not a layer fast ISM knows ({known})"
    hooked = _hooks(module)
    if hooked:
        return f"has {hooked}, which the fast path would bypass"
    training = module.training and not owned
    if cls is Residual:
        for k, layer in enumerate(module.body):
            problem = _layer_problem(layer, id(layer) in names if names is not None else owned, names)
            if problem is None and isinstance(layer, nn.MaxPool1d):
                problem = "changes the length"
            if problem is None and isinstance(layer, nn.Conv1d) and \
                    2 * layer.padding[0] != layer.dilation[0] * (layer.kernel_size[0] - 1):
                problem = ("changes the length (a residual body needs 'same' padding: "
                           "2 * padding == dilation * (width - 1))")
            if problem is not None:
                return f"has body layer {k} ({type(layer).__name__}) that {problem}"
        return None
    if cls is nn.Conv1d:
        if module.stride != (1,):
            return f"has stride {module.stride[0]}; fast ISM needs stride 1"
        if module.padding_mode != "zeros" or not isinstance(module.padding, tuple):
            return (f"has padding={module.padding!r}, padding_mode={module.padding_mode!r}; fast ISM needs integer "
                    "zero padding")
    elif cls is nn.MaxPool1d:
        k = _single(module.kernel_size)
        if not (_single(module.stride) == k and _single(module.padding) == 0 and _single(module.dilation) == 1
                and not module.ceil_mode and not module.return_indices):
            return ("is not a plain non-overlapping pool; fast ISM needs stride == kernel_size, no padding, "
                    "dilation 1, ceil_mode=False, return_indices=False")
    elif cls is nn.BatchNorm1d:
        if not module.track_running_stats or module.running_mean is None or module.running_var is None:
            return "has no running statistics (it normalises over the batch, which is not position-local)"
        if training:
            return "is in training mode (outside the model, so model.eval() does not reach it)"
    elif cls is nn.Dropout and training and module.p > 0:
        return "is in training mode (outside the model, so model.eval() does not reach it)"
    return None


_CHECKED = weakref.WeakKeyDictionary()
"""model -> {(length, dtype, device): (parameter versions, plan or None, max difference, tolerance)}."""
CHECK_RTOL = 1e-4
"""Self-check tolerance: ``CHECK_RTOL * (1 + scale)``, scale the largest absolute output (for
float16/bfloat16 models ``32 * eps`` of the dtype instead of ``CHECK_RTOL`` when larger)."""
CHECK_SEQUENCES, CHECK_EDITS = 2, 8
"""The self-check edits the first ``CHECK_SEQUENCES`` sequences at ``CHECK_EDITS`` positions each
(the first, the last and random ones in between), each to a random other base."""


@torch.no_grad()
def checked_plan(model: nn.Module, X: torch.Tensor, device, *, strict: bool = False,
                 n_edits: int | None = None) -> LocalPlan | None:
    """The model's :func:`local_plan` once it has agreed with plain forward passes; else None.

    With ``n_edits`` (and ``strict=False``, i.e. ``method="auto"``) the plan is returned only
    when the fast path is also the cheaper one for that many edits (:func:`choose_path`).

    The first time per model, input length, dtype, device and state of the parameters and
    buffers (their ``_version``, so in-place training or loading invalidates it), a few single-base
    edits of the first sequences of ``X`` (see :data:`CHECK_EDITS`; positions include the first
    and last) and the unedited sequences go through the fast path and through the model itself.
    They must agree within ``1e-4 * (1 + scale)``, ``scale`` the largest absolute output
    (:data:`CHECK_RTOL`). The result is cached (weakly, per model). This catches a plan that
    does not compute what the model computes, for example a user's ``local_plan()`` that leaves
    out part of the forward; it cannot prove agreement on every input.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode on ``device`` (as :func:`._common.prepare` leaves it).
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences of the call (only the first few are used).
    device : torch.device
    strict : bool
        True (``method="fast"``): a plan that fails the check raises. False (``"auto"``): warn
        (RuntimeWarning) and return None, so the caller runs plain forward passes.
    n_edits : int, optional
        The number of single-base edits the caller will evaluate. Default None: no cost
        comparison (the plan whenever it passes the check). Ignored with ``strict=True``.

    Returns
    -------
    LocalPlan or None
        None when the model has no plan (see :func:`fast_ism_support`) or it failed the check.

    Raises
    ------
    ValueError
        With ``strict=True``, when the fast path disagrees with the model's forward.
    """
    if n_edits is not None and not strict:
        return choose_path(model, X, device, n_edits=n_edits).plan
    plan = local_plan(model)
    if plan is None:
        return None
    Xc = X[:CHECK_SEQUENCES].to(device)
    key = (X.shape[2], next((p.dtype for p in model.parameters()), Xc.dtype), torch.device(device).type,
           torch.device(device).index)
    versions = tuple((id(t), t._version) for t in (*model.parameters(), *model.buffers()))
    cache = _CHECKED.setdefault(model, {})
    if key not in cache or cache[key][0] != versions:
        cache[key] = (versions, *_self_check(model, plan, Xc))
    _, ok, detail = cache[key]
    if ok:
        return plan
    message = (f"fast ISM disagrees with plain forward passes of {type(model).__name__} ({detail}): its local plan "
               "does not compute what its forward computes (check local_plan() and its layers)")
    if strict:
        raise ValueError(message + "; use method='naive' or 'auto'")
    warnings.warn(message + "; using plain forward passes instead (pass method='naive' to choose them yourself)",
                  RuntimeWarning, stacklevel=2)
    return None


def _self_check(model: nn.Module, plan: LocalPlan, X: torch.Tensor) -> tuple[bool, str]:
    """Whether the fast path agrees with ``model`` on edits of ``X``, and the max difference found."""
    result = compare_fast_path(model, X, plan)
    return result["agrees"], result["detail"]


@torch.no_grad()
def compare_fast_path(model: nn.Module, X: torch.Tensor, plan: LocalPlan, *, device=None,
                      n_sequences: int = CHECK_SEQUENCES, n_edits: int = CHECK_EDITS) -> dict:
    """Outputs of the raw fast path against the model's own forward, on sampled edits of ``X``.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode.
    X : torch.Tensor, shape (N, 4, L)
        The first ``n_sequences`` are used, with ``n_edits`` single-base edits each (the first
        and last positions included) and the unedited sequences.
    plan : LocalPlan
        The plan to check (e.g. :func:`local_plan`), used as it is.
    device : torch.device, optional
        Where to compute (default: where ``X`` is).

    Returns
    -------
    dict
        ``agrees`` (within ``CHECK_RTOL * (1 + largest absolute output)``), ``max_difference``,
        ``tolerance``, ``n_edits`` and a ``detail`` sentence.
    """
    X = X[:n_sequences].to(device if device is not None else X.device)
    n, _, length = X.shape
    generator = torch.Generator().manual_seed(0)
    k = min(n_edits, length)
    inner = torch.randperm(max(length - 2, 0), generator=generator)[: max(k - 2, 0)] + 1
    positions = torch.cat([torch.tensor([0, length - 1][:k]), inner]).unique()
    seq = torch.arange(n).repeat_interleave(len(positions))
    pos = positions.repeat(n)
    base = (X.argmax(1).cpu()[seq, pos] + torch.randint(1, 4, (len(seq),), generator=generator)).remainder(4)
    seq, pos, base = seq.to(X.device), pos.to(X.device), base.to(X.device)
    expected = torch.cat([model(X), model(edited_copies(X, seq, pos, base))])
    result = {"agrees": False, "max_difference": math.inf, "tolerance": math.nan, "n_edits": len(seq)}
    try:
        engine = FastISM(plan, X)
        fast = torch.cat([engine.reference_output, engine.edited_outputs(seq, pos, base)])
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
            "n_edits": len(seq),
            "detail": f"max difference {difference:.3g} > tolerance {tolerance:.3g} on {len(seq)} test edits"}


HEAD_DOMINATES = 0.9
"""``method="auto"`` runs plain forward passes, without timing, when the fast path's work per
edit (FLOPs, :func:`estimate_costs`) is at least this fraction of a forward pass's: the head
after the local layers does nearly all the work, which the fast path repeats for every edit,
and its window bookkeeping would cost more than the under 10% it saves."""
LOCAL_DOMINATES = 0.25
"""``method="auto"`` takes the fast path, without timing, when its work per edit is at most
this fraction of a forward pass's (the local layers dominate, as in Basset-like CNNs)."""
TIMING_FRACTION, MIN_TIMING_EDITS, MAX_TIMING_EDITS = 1 / 32, 64, 256
"""Between the two thresholds both paths are timed, once per model, input length, dtype, device
and thread count, on ``clip(n_edits * TIMING_FRACTION, MIN_TIMING_EDITS, MAX_TIMING_EDITS)``
synthetic edits of the first sequence (twice each, alternating, the faster run counted); a job
of fewer than ``MIN_TIMING_EDITS / TIMING_FRACTION`` edits is not timed and takes the fast path
(it does less work)."""
PLAIN_MARGIN = 1.1
"""Timed, plain forward passes are chosen only when the fast path took more than this factor
of their time per edit (the fast path does less work; the margin keeps timing noise from
flipping near-ties)."""

_COSTS = weakref.WeakKeyDictionary()
"""model -> {(length, dtype, device type, device index, threads): cost dict of :func:`estimate_costs`}."""


class LengthMajorPlan(LocalPlan):
    """A :class:`LocalPlan` whose fast path stitches the final map of each edit length-major in
    memory, ``(L', E, C)`` seen as ``(E, C, L')``: a head that reads the map along its length
    (an LSTM, which wants ``(L', E, C)``) then needs no transposing copy of it per batch.
    :func:`choose_path` returns one when timing shows it faster (same numbers either way)."""

    __slots__ = ()


class PathChoice(NamedTuple):
    """The computation :func:`choose_path` picked for a batch of single-base edits."""

    path: str
    """``"fast"`` (windows through the local layers, then the head: on the pooled maximum, or on
    the stitched final map, the partial path) or ``"naive"`` (plain batched forward passes)."""
    plan: LocalPlan | None
    """The checked plan for ``"fast"``, None for ``"naive"``."""
    reason: str
    """One sentence: why this path."""
    costs: dict
    """:func:`estimate_costs`' estimates (empty when no comparison was made)."""


def edited_copies(X: torch.Tensor, seq: torch.Tensor, pos: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """Copies ``(E, 4, L)`` of ``X[seq[e]]`` with base ``base[e]`` at position ``pos[e]``."""
    edited = X[seq].clone()
    rows = torch.arange(len(seq), device=X.device)
    edited[rows, :, pos] = 0
    edited[rows, base, pos] = 1
    return edited


def _rnn_flops(input_shape, w_input, w_hidden, *_, out_shape=None, **__) -> int:
    """FLOPs of one fused recurrent layer (``aten.mkldnn_rnn_layer``, the CPU LSTM/GRU kernel),
    which the flop counter does not know: ``2 * steps * batch * (size of both weight matrices)``."""
    steps_batch = math.prod(input_shape) // input_shape[-1]
    return 2 * steps_batch * (math.prod(w_input) + math.prod(w_hidden))


_EXTRA_FLOPS = {torch.ops.aten.mkldnn_rnn_layer: _rnn_flops} if hasattr(torch.ops.aten, "mkldnn_rnn_layer") else {}


def _flops(fn) -> int:
    with FlopCounterMode(display=False, custom_mapping=_EXTRA_FLOPS) as counter:
        fn()
    return counter.get_total_flops()


def _probe_edits(X: torch.Tensor, n: int):
    """``n`` edits of ``X[0]``: the three substitutions at evenly spread positions."""
    length = X.shape[2]
    positions = torch.linspace(0, length - 1, -(-n // 3)).round().long().repeat_interleave(3)[:n].to(X.device)
    offset = torch.arange(1, 4, device=X.device).repeat(-(-n // 3))[:n]
    base = (X[0].argmax(0)[positions] + offset).remainder(4)
    return torch.zeros(n, dtype=torch.long, device=X.device), positions, base


def _seconds(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


@torch.no_grad()
def estimate_costs(model: nn.Module, plan: LocalPlan, X: torch.Tensor, device, *, timing_edits: int = 0) -> dict:
    """Cost per single-base edit of the fast path and of plain forward passes.

    Work is counted in FLOPs (``torch.utils.flop_counter``, with the CPU's fused LSTM/GRU
    kernel added) on a dozen edits of the first sequence. With ``timing_edits`` both paths are
    also timed on that many edits (twice each, alternating; the faster run counts). Estimates
    are cached (weakly, per model) per input length, dtype, device and thread count; timings
    are made once per key.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode on ``device``.
    plan : LocalPlan
        A checked plan (:func:`checked_plan`).
    X : torch.Tensor, shape (N, 4, L)
        Only the first sequence is used.
    device : torch.device
    timing_edits : int
        Edits to time each path on; default 0: no timing.

    Returns
    -------
    dict
        ``fast_flops`` and ``naive_flops`` per edit, ``ratio`` (fast over naive, NaN when the
        forward pass counts no FLOPs), and when timed ``fast_seconds`` and ``naive_seconds``
        per edit, ``fast_layout`` (``"length"`` when the length-major stitch of
        :class:`LengthMajorPlan` was the faster fast path, else ``"channels"``) and
        ``timing_edits``.
    """
    device = torch.device(device)
    X1 = X[:1].to(device)
    key = (X.shape[2], next((p.dtype for p in model.parameters()), X1.dtype), device.type, device.index,
           torch.get_num_threads())
    cache = _COSTS.setdefault(model, {})
    if key not in cache:
        seq, pos, base = _probe_edits(X1, 12)
        engine = FastISM(plan, X1)
        fast = _flops(lambda: engine.edited_outputs(seq, pos, base)) / len(seq)
        naive = _flops(lambda: model(edited_copies(X1, seq, pos, base))) / len(seq)
        cache[key] = {"fast_flops": fast, "naive_flops": naive, "ratio": fast / naive if naive > 0 else math.nan}
    costs = cache[key]
    if timing_edits > 0 and "fast_seconds" not in costs:
        seq, pos, base = _probe_edits(X1, timing_edits)
        engine = FastISM(plan, X1)
        runs = {"channels": lambda: engine.edited_outputs(seq, pos, base),
                "naive": lambda: model(edited_copies(X1, seq, pos, base))}
        if not plan.global_max:  # the head reads the stitched map: try it length-major too
            length_major = FastISM(LengthMajorPlan(*plan), X1)
            runs["length"] = lambda: length_major.edited_outputs(seq, pos, base)
        best = {name: math.inf for name in runs}
        for _ in range(2):
            for name, run in runs.items():
                best[name] = min(best[name], _seconds(run, device))
        layout = min(("channels", "length") if "length" in best else ("channels",), key=best.get)
        costs.update(fast_seconds=best[layout] / timing_edits, naive_seconds=best["naive"] / timing_edits,
                     fast_layout=layout, timing_edits=timing_edits)
    return dict(costs)


def choose_path(model: nn.Module, X: torch.Tensor, device, *, n_edits: int, method: str = "auto") -> PathChoice:
    """The cheaper computation for ``n_edits`` single-base edits of sequences like ``X``.

    ``method="naive"`` and ``"fast"`` are taken as given (``"fast"`` through
    :func:`checked_plan` with ``strict=True``; its caller raises when there is no plan).
    ``"auto"``: plain forward passes when the model has no checked plan; otherwise by cost
    (:func:`estimate_costs`): plain passes when the fast path's work per edit is at least
    :data:`HEAD_DOMINATES` of a forward pass's, the fast path when at most
    :data:`LOCAL_DOMINATES`; in between, the faster of the two when timed on a sample of edits
    (see :data:`TIMING_FRACTION`; plain passes only when more than :data:`PLAIN_MARGIN` times
    faster), the fast path for jobs too small to time.

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

    Returns
    -------
    PathChoice
    """
    if method == "naive":
        return PathChoice("naive", None, "method='naive'", {})
    plan = checked_plan(model, X, device, strict=method == "fast")
    if plan is None:
        support = fast_ism_support(model)
        why = support[4:] if support != "yes" else "its fast path disagreed with its forward on test edits"
        return PathChoice("naive", None, f"no fast path: {why}", {})
    if method == "fast":
        return PathChoice("fast", plan, "method='fast'", {})
    costs = estimate_costs(model, plan, X, device)
    ratio = costs["ratio"]
    share = f"the fast path does {ratio:.0%} of a forward pass's work per edit"
    if ratio >= HEAD_DOMINATES:
        return PathChoice("naive", None, f"{share} (the head dominates)", costs)
    if ratio <= LOCAL_DOMINATES:
        return PathChoice("fast", plan, f"{share} (the local layers dominate)", costs)
    timing = min(int(n_edits * TIMING_FRACTION), MAX_TIMING_EDITS)
    if timing < MIN_TIMING_EDITS and "fast_seconds" not in costs:
        return PathChoice("fast", plan, f"{share}; too few edits ({n_edits}) to time both paths", costs)
    costs = estimate_costs(model, plan, X, device, timing_edits=timing)
    fast, naive = costs["fast_seconds"], costs["naive_seconds"]
    path = "fast" if fast <= PLAIN_MARGIN * naive else "naive"
    if path == "fast" and costs["fast_layout"] == "length":
        plan = LengthMajorPlan(*plan)
    return PathChoice(path, plan if path == "fast" else None,
                      f"{share}; timed {costs['timing_edits']} edits: fast {fast * 1e3:.3g} ms "
                      f"({costs['fast_layout']}-major stitch), plain {naive * 1e3:.3g} ms per edit", costs)


def _single(value) -> int:
    return value[0] if isinstance(value, tuple) else value


class _Windows(NamedTuple):
    """Edited values ``(E, C, W)`` of one layer output, starting at positions ``start (E,)``."""

    values: torch.Tensor
    start: torch.Tensor


def _gather(reference: torch.Tensor, seq: torch.Tensor, start: torch.Tensor, width: int) -> torch.Tensor:
    """``reference[seq[e], :, start[e] : start[e] + width]`` for every edit e; ``(E, C, width)``.

    Consecutive edits that share a window (the three substitutions of a position) are gathered
    once from the strided view and then copied as whole contiguous rows.
    """
    key = seq * reference.shape[2] + start
    unique, inverse = torch.unique_consecutive(key, return_inverse=True)
    windows = reference.unfold(2, width, 1)  # (N, C, L - width + 1, width), a view
    first = torch.div(unique, reference.shape[2], rounding_mode="floor")
    return windows[first, :, unique - first * reference.shape[2]][inverse]


def _overlay(base: torch.Tensor, base_start: torch.Tensor, win: _Windows) -> torch.Tensor:
    """Write ``win`` into ``base`` (in place) where their spans overlap.

    Edits are grouped by their relative offset (one group for all interior edits, a few small
    ones for windows clamped at the sequence ends), so each group is one slice assignment.
    """
    width, base_width = win.values.shape[2], base.shape[2]
    offset = win.start - base_start
    values, counts = torch.unique(offset, return_counts=True)
    for value, count in zip(values.tolist(), counts.tolist()):
        lo, hi = max(value, 0), min(value + width, base_width)
        if lo >= hi:
            continue
        if count == len(offset):
            base[:, :, lo:hi] = win.values[:, :, lo - value : hi - value]
        else:
            rows = torch.nonzero(offset == value).squeeze(1)
            base[rows, :, lo:hi] = win.values[rows, :, lo - value : hi - value]
    return base


class FastISM:
    """Cached activations of a batch of sequences and the window arithmetic for their edits."""

    def __init__(self, plan: LocalPlan, X: torch.Tensor):
        self.plan = plan
        self.inputs, h = self._cache(plan.layers, X)  # input of every local layer, (N, C, L_k)
        self.final = h
        if plan.global_max:
            n, c, length = h.shape
            neg = torch.full((n, c, 1), -math.inf, device=h.device, dtype=h.dtype)
            self.prefix_max = torch.cat([neg, torch.cummax(h, dim=2).values], dim=2)  # max of [:j]
            suffix = torch.flip(torch.cummax(torch.flip(h, [2]), dim=2).values, [2])
            self.suffix_max = torch.cat([suffix, neg], dim=2)  # max of [j:]
        self.reference_output = self.plan.head(h.amax(-1) if plan.global_max else h)
        self._padded = {}
        # LengthMajorPlan: the final map kept (L', N, C) for the head's stitched inputs
        self.final_by_length = h.permute(2, 0, 1).contiguous() \
            if isinstance(plan, LengthMajorPlan) and not plan.global_max else None

    @classmethod
    def _cache(cls, layers, h: torch.Tensor):
        """Inputs of ``layers`` on the unedited ``h`` (for a :class:`Residual`: its input and the
        inputs of its body) and their final output."""
        inputs = []
        for layer in layers:
            if isinstance(layer, Residual):
                body_inputs, body_out = cls._cache(list(layer.body), h)
                inputs.append((h, body_inputs))
                h = h + body_out
            else:
                inputs.append(h)
                h = layer(h.clone() if getattr(layer, "inplace", False) else h)  # keep the cached input
        return inputs, h

    def _padded_input(self, reference: torch.Tensor, pad: int) -> torch.Tensor:
        key = (id(reference), pad)  # the cached inputs live as long as the engine
        if key not in self._padded:
            self._padded[key] = F.pad(reference, (pad, pad))
        return self._padded[key]

    def edited_outputs(self, seq: torch.Tensor, pos: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """Model outputs ``(E, T)`` for edits: sequence ``seq[e]``, position ``pos[e]`` set to ``base[e]``."""
        values = F.one_hot(base.long(), 4).to(self.final.dtype)[:, :, None]  # (E, 4, 1)
        win, full = self._advance(self.plan.layers, self.inputs, seq, _Windows(values, pos.clone()))
        if full is not None:
            return self.plan.head(full.amax(-1) if self.plan.global_max else full)
        if self.plan.global_max:
            width = win.values.shape[2]
            outside = torch.maximum(self.prefix_max[seq, :, win.start],
                                    self.suffix_max[seq, :, win.start + width])
            return self.plan.head(torch.maximum(win.values.amax(-1), outside))
        if self.final_by_length is not None:  # (L', E, C) in memory, (E, C, L') to the head
            full = self.final_by_length[:, seq].permute(1, 2, 0)
            return self.plan.head(_overlay(full, torch.zeros_like(win.start), win))
        return self.plan.head(self._stitch(self.final, seq, win))

    def _advance(self, layers, inputs, seq: torch.Tensor, win: _Windows):
        """Carry the edited windows ``win`` through ``layers`` (cached ``inputs``): returns
        ``(windows, None)``, or ``(None, full edited maps)`` once a window spans a whole layer."""
        full = None
        for layer, reference in zip(layers, inputs):
            if full is not None:
                full = layer(full)
                continue
            if isinstance(layer, Residual):
                reference, body_inputs = reference
                body_layers, skip = list(layer.body), None
                if isinstance(body_layers[0], nn.Conv1d) and all(isinstance(b, ELEMENTWISE) for b in body_layers[1:]):
                    # conv, then element-wise layers: the conv's padded input region holds the skip
                    first, full, skip = self._conv(body_layers[0], body_inputs[0], seq, win)
                    body, full = self._advance(body_layers[1:], body_inputs[1:], seq, first) if full is None \
                        else (None, self._continue(body_layers[1:], full))
                else:
                    body, full = self._advance(body_layers, body_inputs, seq, win)
                if full is not None:
                    full = full + self._stitch(reference, seq, win)
                    continue
                # the body's window contains the input's ("same" padding): add the edited input on it
                if skip is None:
                    skip = _overlay(_gather(reference, seq, body.start, body.values.shape[2]), body.start, win)
                win = _Windows(body.values + skip, body.start)
                continue
            length_in = reference.shape[2]
            if isinstance(layer, nn.Conv1d):
                out, full, _ = self._conv(layer, reference, seq, win)
                win = out if full is None else win
            elif isinstance(layer, nn.MaxPool1d):
                size = _single(layer.kernel_size)
                length_out = length_in // size
                width_out = (win.values.shape[2] - 1) // size + 2
                if width_out >= length_out:
                    full = layer(self._stitch(reference, seq, win))
                    continue
                start = torch.div(win.start, size, rounding_mode="floor").clamp(0, length_out - width_out)
                region = _overlay(_gather(reference, seq, start * size, width_out * size), start * size, win)
                win = _Windows(F.max_pool1d(region, size), start)
            else:
                win = _Windows(layer(win.values), win.start)
        return win, full

    @staticmethod
    def _continue(layers, full: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            full = layer(full)
        return full

    def _conv(self, layer: nn.Conv1d, reference: torch.Tensor, seq: torch.Tensor, win: _Windows):
        """One convolution on the edited windows: ``(windows, None, skip)`` or ``(None, full maps, None)``.

        ``skip``: for a length-preserving ("same" padding) convolution, the edited input on the
        output window (read from the padded input region, which a :class:`Residual` adds back).
        """
        w, d, p = layer.kernel_size[0], layer.dilation[0], layer.padding[0]
        length_in = reference.shape[2]
        length_out = length_in + 2 * p - d * (w - 1)
        width_out = win.values.shape[2] + d * (w - 1)
        if width_out >= length_out:
            return None, layer(self._stitch(reference, seq, win)), None
        start = (win.start + p - d * (w - 1)).clamp(0, length_out - width_out)
        region = _gather(self._padded_input(reference, p), seq, start, width_out + d * (w - 1))
        region = _overlay(region, start - p, win)
        out = _Windows(F.conv1d(region, layer.weight, layer.bias, dilation=d, groups=layer.groups), start)
        skip = region[:, :, p : p + width_out] if length_out == length_in else None
        return out, None, skip

    @staticmethod
    def _stitch(reference: torch.Tensor, seq: torch.Tensor, win: _Windows) -> torch.Tensor:
        full = reference[seq].clone()
        return _overlay(full, torch.zeros_like(win.start), win)


@model_method
@torch.no_grad()
def mutagenesis_at(model: nn.Module, X: torch.Tensor, *, positions, target=None, batch_size: int | None = None,
                   device="auto"):
    """Saturation mutagenesis restricted to some positions: the columns ``positions`` of
    :func:`~xai_widgets.methods.saturation_mutagenesis`'s result, zero elsewhere.

    Every substitution at each of ``positions`` is predicted as there, by the fast incremental path
    when the model passes :func:`checked_plan` and that path is the cheaper one (the cost rule of
    :func:`choose_path`), else by plain forward passes. Results of disjoint position sets add up
    to the whole map, so a view can compute what it shows first and the rest after (the
    NucleotideFlipper does).

    Parameters
    ----------
    model, X
        As in :func:`~xai_widgets.methods.saturation_mutagenesis`.
    positions : sequence of int or torch.Tensor, shape (P,)
        Positions to mutate, each in ``0..L-1``.
    target : int or str, optional
        Output kept; default None: the model's only output (a multi-output model raises
        ``ValueError``: pass ``target=<index or name>``).
    batch_size : int, optional
        Edited sequences evaluated at once; default None: the memory rule, as in
        :func:`~xai_widgets.methods.saturation_mutagenesis`.
    device : str or torch.device, optional
        Default ``"auto"``.

    Returns
    -------
    ISMResult
        ``delta (N, 4, L)``: zero outside ``positions`` and at the observed bases.

    Raises
    ------
    ValueError
        When a position is outside the sequence.
    """
    from .ism import ISMResult, edit_evaluator, fast_edit_bytes  # ism imports this module

    device, _ = prepare(model, X, device, batch_size, probe=False)
    n, _, length = X.shape
    positions = torch.as_tensor(positions, dtype=torch.long).reshape(-1).unique()
    if len(positions) and not (0 <= int(positions[0]) and int(positions[-1]) < length):
        raise ValueError(f"positions must lie in 0..{length - 1}; got {int(positions[0])}..{int(positions[-1])}")
    plan = checked_plan(model, X, device, n_edits=3 * len(positions) * len(X))  # the cost rule
    Xd = X.to(device)
    selected = torch.zeros(length, dtype=torch.bool, device=device)
    selected[positions.to(device)] = True
    # the edits of saturation_mutagenesis (a base not observed there), at the selected positions only
    seq, pos, base = torch.nonzero((Xd != 1).permute(0, 2, 1) & selected[None, :, None]).unbind(1)
    batch_size = resolve_batch_size(batch_size, model, X, device,
                                    per_item_bytes=fast_edit_bytes(plan, model, X, device) if plan else None)
    reference, evaluate = edit_evaluator(model, Xd, plan, batch_size)
    target = check_target(target, reference.shape[1], model=model)
    outputs = torch.cat([evaluate(seq[i : i + batch_size], pos[i : i + batch_size], base[i : i + batch_size])[:, target]
                         for i in range(0, len(seq), batch_size)]) if len(seq) else reference.new_zeros(0)
    delta = torch.zeros(n, 4, length, device=device, dtype=reference.dtype)
    delta[seq, base, pos] = outputs - reference[seq, target]
    return ISMResult(delta.float().cpu(), reference[:, target].float().cpu(), X,
                     "fast" if plan is not None else "naive", target)
