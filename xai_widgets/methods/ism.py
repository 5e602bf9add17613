"""In-silico mutagenesis (the review's Fig. 3a): every single-base substitution, and edits.

:func:`saturation_mutagenesis` predicts all ``3 L`` substitutions of each sequence. For models
that start with position-local layers (convolutions, pooling, element-wise layers: the zoo
CNNs, and DanQ's convolution before its LSTM) it can use the fast incremental path of
:mod:`._fast_ism` for that part; for anything else (attention, unknown layers) it runs batched
forward passes of the edited sequences. With ``method="auto"`` the cheaper of the two runs
(:func:`._fast_ism.choose_path`: plain passes when the head after the local layers does nearly
all the work, as an LSTM over the whole map can). Both give the same numbers.

At an unknown base (an ``N`` column, all-zero or all-0.25, as :func:`data.one_hot` writes it
with ``unknown="zeros"`` or ``"uniform"``) all four bases are substitutions: ``delta`` holds
the change from the sequence with ``N`` to the sequence with each base there.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .._core import activation_bytes, predict, resolve_batch_size
from ..data.encoding import ALPHABET
from ..data.motifs import scan
from ..data.shuffle import dinucleotide_shuffle
from ..data.tasks import PlantedInstances
from ._common import ALL, check_target, model_method, prepare
from ._fast_ism import FastISM, choose_path, edited_copies, fast_ism_support, local_plan

ISM_METHODS = ("auto", "fast", "naive")


@dataclass(frozen=True)
class ISMResult:
    """Result of :func:`saturation_mutagenesis`; an :class:`~.results.AttributionResult`.

    Attributes
    ----------
    delta : torch.Tensor, shape (N, 4, L), or (N, T, 4, L) when ``target="all"``
        Prediction of the edited sequence minus the prediction of the original, for each
        position and each substituted base; exactly 0 at the original base.
    prediction : torch.Tensor, shape (N,), or (N, T) when ``target="all"``
        Prediction for the unedited sequences.
    X : torch.Tensor, shape (N, 4, L)
        The sequences.
    path : {"fast", "naive"}
        Which computation ran.
    target : int or "all"
        The output explained (``"all"``: every output, on the axis after ``N``).
    method : str
        ``"ism"`` (a class attribute).
    """

    delta: torch.Tensor
    prediction: torch.Tensor
    X: torch.Tensor
    path: str
    target: int | str
    method: ClassVar[str] = "ism"

    def centred(self) -> torch.Tensor:
        """``delta`` minus its mean over the four bases at each position (same shape)."""
        return self.delta - self.delta.mean(dim=-2, keepdim=True)

    @property
    def values(self) -> torch.Tensor:
        """The usual ISM attribution: the mean-centred map at the observed base, ``(N, 4, L)``
        (``(N, T, 4, L)`` for ``target="all"``), zero at the other bases, so that
        :meth:`per_position` (the sum over the bases) gives one score per position."""
        x = self.X if self.delta.ndim == 3 else self.X[:, None]
        return self.centred() * x

    def per_position(self) -> torch.Tensor:
        """One score per position, ``(N, L)`` (``(N, T, L)`` for ``target="all"``): the sum of
        :attr:`values` over the four bases."""
        return self.values.sum(-2)


def edit_evaluator(model: nn.Module, Xd: torch.Tensor, plan, batch_size: int):
    """Outputs of ``Xd`` and a function predicting single-base edits of it.

    Returns
    -------
    (torch.Tensor, callable)
        ``reference (N, T)`` and ``evaluate(seq, pos, base) -> (E, T)`` for edits "sequence
        ``seq[e]`` with base ``base[e]`` at ``pos[e]``": from :class:`FastISM`'s cached windows
        when ``plan`` (from :func:`._fast_ism.checked_plan`) is given, else by plain forward passes.
    """
    if plan is not None:
        engine = FastISM(plan, Xd)
        return engine.reference_output, engine.edited_outputs
    reference = torch.cat([model(Xd[i : i + batch_size]) for i in range(0, len(Xd), batch_size)])

    def evaluate(s, p, b):
        return model(edited_copies(Xd, s, p, b))

    return reference, evaluate


def supports_fast_ism(model: nn.Module) -> bool:
    """Whether :func:`saturation_mutagenesis` can use the fast incremental path for ``model``."""
    return local_plan(model) is not None


def fast_edit_bytes(plan, model: nn.Module, X: torch.Tensor, device) -> int:
    """Bytes one edit needs on the fast path: the head's activations (and the stitched final
    map when the head reads the whole map) plus each local layer's edited window."""
    per_module = activation_bytes(model, X, device)["per_module"]
    local = set(map(id, plan.layers))
    total = sum(size for module, (size, _) in per_module.items() if id(module) not in local)
    width, final = 1, 0
    for layer in plan.layers:
        if isinstance(layer, nn.Conv1d):
            width += layer.dilation[0] * (layer.kernel_size[0] - 1)
        elif isinstance(layer, nn.MaxPool1d):
            size = layer.kernel_size if isinstance(layer.kernel_size, int) else layer.kernel_size[0]
            width = (width - 1) // size + 2
        size, length = per_module.get(layer, (0, 1))
        total += size // max(length, 1) * min(width, length)
        final = size
    return total + (0 if plan.global_max else 2 * final)  # the stitched map and its overlay copy


@model_method
@torch.no_grad()
def saturation_mutagenesis(model: nn.Module, X: torch.Tensor, *, target: int | str | None = None,
                           batch_size: int | None = None,
                           device="auto", method: str = "auto", progress: bool = False) -> ISMResult:
    """Predict every single-base substitution of every sequence.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences.
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model); an output
        index or name; ``"all"`` keeps every output (``delta`` of shape ``(N, T, 4, L)``).
    batch_size : int or None, optional
        Edited sequences evaluated at once; default None: from the memory rule
        (:func:`xai_widgets._core.resolve_batch_size`: 256 MiB of activations).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.
    method : {"auto", "fast", "naive"}, optional
        Default ``"auto"``. ``"fast"`` requires a model of local layers (see :func:`supports_fast_ism`) whose fast path
        agrees with its forward on a few test edits (:func:`._fast_ism.checked_plan`) and raises
        otherwise; ``"auto"`` takes the cheaper of the fast and the plain path for this model and
        input size (:func:`._fast_ism.choose_path`: the fast path's share of the FLOPs, timed
        once per model and shape when it is close), and plain forward passes when the fast path
        does not apply (with a RuntimeWarning when the test edits disagreed).
    progress : bool, optional
        Default False. Show a progress bar over batches.

    Returns
    -------
    ISMResult
    """
    if method not in ISM_METHODS:
        raise ValueError(f"method must be one of {ISM_METHODS}; got {method!r}")
    device, n_outputs = prepare(model, X, device, batch_size)
    target = check_target(target, n_outputs, model=model, allow_all=True)
    n, _, length = X.shape
    Xd = X.to(device)
    # all edits (sequence, position, base) with a base not observed there: three per position,
    # four at an N; ordered by sequence, then position, so the fast path shares windows
    seq, pos, base = torch.nonzero((Xd != 1).permute(0, 2, 1)).unbind(1)
    plan = choose_path(model, X, device, n_edits=len(seq), method=method).plan
    if method == "fast" and plan is None:
        raise ValueError(f"fast ISM does not apply to {type(model).__name__} ({fast_ism_support(model)}); "
                         "use method='naive' or 'auto'")
    batch_size = resolve_batch_size(batch_size, model, X, device,
                                    per_item_bytes=fast_edit_bytes(plan, model, X, device) if plan else None)

    reference, evaluate = edit_evaluator(model, Xd, plan, batch_size)

    outputs = torch.empty(len(seq), n_outputs, device=device, dtype=reference.dtype)
    starts = range(0, len(seq), batch_size)
    for start in tqdm(starts, desc="ISM", disable=not progress, unit="batch"):
        stop = start + batch_size
        outputs[start:stop] = evaluate(seq[start:stop], pos[start:stop], base[start:stop])
    delta = torch.zeros(n, n_outputs, 4, length, device=device, dtype=reference.dtype)
    delta[seq, :, base, pos] = outputs - reference[seq]
    if target != ALL:
        delta, reference = delta[:, target], reference[:, target]
    return ISMResult(delta.float().cpu(), reference.float().cpu(), X, "fast" if plan is not None else "naive", target)


@model_method
@torch.no_grad()
def predict_edits(model: nn.Module, X: torch.Tensor, *, edits, target: int | str | None = None,
                  batch_size: int | None = None, device="auto") -> torch.Tensor:
    """Prediction change of single substitutions.

    Parameters
    ----------
    model, X
        As in :func:`saturation_mutagenesis`.
    edits : sequence of (int, int, str or int)
        ``(sequence index, position, new base)``; the base as a letter or an index 0..3
        (required).
    target : int, str or None, optional
        Default None: the model's only output; an output index or name; ``"all"`` for every
        output.
    batch_size : int or None, optional
        Sequences per forward pass; default None: from the memory rule.
    device : str or torch.device, optional
        Default ``"auto"``.

    Returns
    -------
    torch.Tensor, shape (E,), or (E, T) for ``target="all"``
        Edited minus original prediction, in the order of ``edits``.
    """
    device, n_outputs = prepare(model, X, device, batch_size)
    target = check_target(target, n_outputs, model=model, allow_all=True)
    edits = list(edits)
    if not edits:
        raise ValueError("edits is empty: give (sequence, position, base) triples")
    seq, pos, base = [], [], []
    for i, p, b in edits:
        b = ALPHABET.index(b.upper()) if isinstance(b, str) and b.upper() in ALPHABET and len(b) == 1 else b
        if not (0 <= i < X.shape[0] and 0 <= p < X.shape[2] and isinstance(b, int) and 0 <= b < 4):
            raise ValueError(f"edit {(i, p, b)} is out of range for X of shape {tuple(X.shape)} "
                             "(bases: 'A', 'C', 'G', 'T' or 0..3)")
        seq.append(i), pos.append(p), base.append(b)
    Xd = X.to(device)
    seq, pos, base = (torch.tensor(v, device=device) for v in (seq, pos, base))
    plan = choose_path(model, X, device, n_edits=len(seq)).plan  # the cheaper path (method="auto")
    batch_size = resolve_batch_size(batch_size, model, X, device,
                                    per_item_bytes=fast_edit_bytes(plan, model, X, device) if plan else None)
    reference, evaluate = edit_evaluator(model, Xd, plan, batch_size)
    outputs = torch.cat([evaluate(seq[i : i + batch_size], pos[i : i + batch_size], base[i : i + batch_size])
                         for i in range(0, len(seq), batch_size)])
    delta = (outputs - reference[seq]).float().cpu()
    return delta if target == ALL else delta[:, target]


@dataclass(frozen=True)
class OcclusionResult:
    """Result of :func:`occlusion`; an :class:`~.results.AttributionResult`.

    Attributes
    ----------
    delta : torch.Tensor, shape (N, W)
        Occluded minus original prediction for each of the ``W`` windows.
    starts : torch.Tensor, shape (W,)
        First position of each window.
    position_delta : torch.Tensor, shape (N, L)
        Mean ``delta`` over the windows covering each position; NaN (with a warning) at
        positions no window covers, which happens only when ``stride > window``.
    X : torch.Tensor, shape (N, 4, L)
        The sequences.
    target : int
        The output explained.
    method : str
        ``"occlusion"`` (a class attribute).
    """

    delta: torch.Tensor
    starts: torch.Tensor
    position_delta: torch.Tensor
    X: torch.Tensor
    target: int
    method: ClassVar[str] = "occlusion"

    @property
    def values(self) -> torch.Tensor:
        """:attr:`position_delta` at the observed base, zero at the others, ``(N, 4, L)``."""
        return self.position_delta[:, None] * self.X

    def per_position(self) -> torch.Tensor:
        """One score per position, ``(N, L)``: :attr:`position_delta` (also at ``N`` columns,
        where :attr:`values` is zero)."""
        return self.position_delta


OCCLUSION_FILLS = ("shuffle", "zeros", "uniform")


def _fill(segment: torch.Tensor, fill: str, n_shuffles: int, random_state) -> torch.Tensor:
    """Replacement for ``segment (N, 4, w)``: ``(N, K, 4, w)`` with K = n_shuffles or 1."""
    if fill == "shuffle":
        return dinucleotide_shuffle(segment, n_shuffles, random_state=random_state)
    value = 0.0 if fill == "zeros" else 0.25
    return torch.full_like(segment, value)[:, None]


@model_method
@torch.no_grad()
def occlusion(model: nn.Module, X: torch.Tensor, *, target: int | str | None = None, window: int = 10,
              stride: int = 1, fill: str = "shuffle", n_shuffles: int = 5, batch_size: int | None = None,
              device="auto", random_state=None, progress: bool = False) -> OcclusionResult:
    """Slide a window along each sequence, replace it, and record the prediction change.

    Parameters
    ----------
    model, X
        As in :func:`saturation_mutagenesis`.
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model); an output
        index or name.
    window : int, optional
        Default 10. Window width.
    stride : int, optional
        Default 1. Step between windows. Windows start at ``0, stride, 2 stride, ...``; when the last
        of these does not reach the end, one more window flush with the end is added, so every
        position is covered by at least one window.
    fill : {"shuffle", "zeros", "uniform"}, optional
        Default ``"shuffle"``: dinucleotide shuffles of the window (averaged over
        ``n_shuffles``); or all-zero columns, or all-0.25 columns.
    n_shuffles : int, optional
        Default 5. Shuffles per window for ``fill="shuffle"``.
    batch_size : int or None, optional
        Sequences per forward pass; default None: from the memory rule.
    device : str or torch.device, optional
        Default ``"auto"``.
    random_state : int or None, optional
        Default None. Seed of the shuffles.
    progress : bool, optional
        Default False. Show a progress bar over windows.

    Returns
    -------
    OcclusionResult
    """
    if fill not in OCCLUSION_FILLS:
        raise ValueError(f"fill must be one of {OCCLUSION_FILLS}; got {fill!r}")
    device, n_outputs = prepare(model, X, device, batch_size)
    target = check_target(target, n_outputs, model=model)
    n, _, length = X.shape
    if not 1 <= window <= length or stride < 1:
        raise ValueError(f"need 1 <= window <= L ({length}) and stride >= 1; got window={window}, stride={stride}")
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)  # the final window flush with the end: every position covered
    starts = torch.tensor(starts)
    reference = predict(model, X, batch_size=batch_size, device=device)[:, target]
    delta = torch.zeros(n, len(starts))
    generator = np.random.default_rng(random_state)
    for w, s in enumerate(tqdm(starts.tolist(), desc="occlusion", disable=not progress, unit="window")):
        replacement = _fill(X[:, :, s : s + window], fill, n_shuffles, generator)  # (N, K, 4, w)
        k = replacement.shape[1]
        variants = X[:, None].repeat(1, k, 1, 1)
        variants[..., s : s + window] = replacement
        out = predict(model, variants.reshape(n * k, 4, length), batch_size=batch_size, device=device)[:, target]
        delta[:, w] = out.reshape(n, k).mean(1) - reference
    coverage = torch.zeros(length)
    per_position = torch.zeros(n, length)
    for w, s in enumerate(starts.tolist()):
        per_position[:, s : s + window] += delta[:, w : w + 1]
        coverage[s : s + window] += 1
    if bool((coverage == 0).any()):
        warnings.warn(f"stride {stride} > window {window}: {int((coverage == 0).sum())} positions lie in no window "
                      "and are NaN in per_position", RuntimeWarning, stacklevel=3)
    return OcclusionResult(delta, starts, per_position / coverage, X, target)


@dataclass(frozen=True)
class KnockoutResult:
    """Result of :func:`motif_knockout`, one entry per site.

    Attributes
    ----------
    sites : list of (int, int, int)
        ``(sequence, start, end)`` of each site knocked out.
    delta : torch.Tensor, shape (K,)
        Prediction with the site replaced minus the original prediction (mean over fills).
    """

    sites: list
    delta: torch.Tensor


@model_method
@torch.no_grad()
def motif_knockout(model: nn.Module, X: torch.Tensor, *, sites=None, target: int | str | None = None, motif=None,
                   threshold: float = 0.8, fill: str = "shuffle", n_shuffles: int = 5,
                   batch_size: int | None = None,
                   device="auto", random_state=None) -> KnockoutResult:
    """Replace motif sites and measure the prediction change (the review's motif mutation).

    Parameters
    ----------
    model, X
        As in :func:`saturation_mutagenesis`.
    sites : PlantedInstances or iterable of tuples, optional
        Default None (give ``motif`` instead). ``(sequence, start, end, ...)`` per site, e.g. a
        task's ``instances``.
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model); an output
        index or name.
    motif : Motif, optional
        Default None. Instead of ``sites``: knock out every hit of a PWM scan
        (:func:`data.motifs.scan`).
    threshold : float, optional
        Default 0.8. Scan threshold, a fraction of the best possible score.
    fill : {"shuffle", "zeros", "uniform"}, optional
        Default ``"shuffle"``. How a site is replaced (dinucleotide shuffles of it are averaged
        over ``n_shuffles``).
    n_shuffles : int, optional
        Default 5.
    batch_size : int or None, optional
        Default None: from the memory rule.
    device : str or torch.device, optional
        Default ``"auto"``.
    random_state : int or None, optional
        Default None. Seed of the shuffles.

    Returns
    -------
    KnockoutResult
    """
    if fill not in OCCLUSION_FILLS:
        raise ValueError(f"fill must be one of {OCCLUSION_FILLS}; got {fill!r}")
    if (sites is None) == (motif is None):
        raise ValueError("give either sites (e.g. task.instances) or motif (to scan for), not both")
    device, n_outputs = prepare(model, X, device, batch_size)
    target = check_target(target, n_outputs, model=model)
    if motif is not None:
        sites = scan(X, motif, threshold=threshold)
    elif isinstance(sites, PlantedInstances):
        sites = list(zip(sites.sequence.tolist(), sites.start.tolist(), sites.end.tolist()))
    sites = [(int(s[0]), int(s[1]), int(s[2])) for s in sites]
    for n, start, end in sites:
        if not (0 <= n < X.shape[0] and 0 <= start < end <= X.shape[2]):
            raise ValueError(f"site {(n, start, end)} lies outside X of shape {tuple(X.shape)}")
    if not sites:
        return KnockoutResult([], torch.zeros(0))
    reference = predict(model, X, batch_size=batch_size, device=device)[:, target]
    generator = np.random.default_rng(random_state)
    variants = []
    for n, start, end in sites:
        replacement = _fill(X[n : n + 1, :, start:end], fill, n_shuffles, generator)[0]  # (K, 4, w)
        variant = X[n].repeat(len(replacement), 1, 1)
        variant[:, :, start:end] = replacement
        variants.append(variant)
    k = variants[0].shape[0]
    out = predict(model, torch.cat(variants), batch_size=batch_size, device=device)[:, target].view(len(sites), k)
    delta = out.mean(1) - reference[torch.tensor([s[0] for s in sites])]
    return KnockoutResult(sites, delta)
