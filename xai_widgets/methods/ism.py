"""In-silico mutagenesis (the review's Fig. 3a): every single-base substitution, and edits.

:func:`saturation_mutagenesis` predicts all ``3 L`` substitutions of each sequence,
:func:`mutagenesis_at` those at some positions, :func:`predict_edits` chosen ones and
:func:`motif_knockout` replaced sites; :func:`occlusion` slides a masked window. The edits go
through the one edit engine (:mod:`._engine`): for models that start with position-local
layers (convolutions, pooling, element-wise layers, residual blocks: the zoo CNNs, DeepSTARR,
BPNet, and DanQ's convolution before its LSTM) the fast window path recomputes only what an
edit changes; anything else (attention, unknown layers) runs batched forward passes of the
edited sequences. ``method="auto"`` runs the cheaper of the two (plain passes when the head
after the local layers does nearly all the work, as an LSTM over the whole map can); both give
the same numbers.

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

from .._core import predict
from ..contract import local_plan
from ..data.encoding import ALPHABET
from ..data.motifs import scan
from ..data.shuffle import dinucleotide_shuffle
from ..data.tasks import PlantedInstances
from ._common import ALL, check_target, model_method, prepare
from ._engine import EDIT_METHODS, check_method, predict_substitutions, predict_windows

ISM_METHODS = EDIT_METHODS


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


def supports_fast_ism(model: nn.Module) -> bool:
    """Whether the model offers the fast window path a usable local plan (the static part of the
    decision: see :func:`xai_widgets.contract.fast_ism_support` for the reason when not)."""
    return local_plan(model) is not None


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
        agrees with its forward on a few test edits (``_engine.path.check_plan``) and raises
        otherwise; ``"auto"`` takes the cheaper of the fast and the plain path for this model and
        input size (``_engine.path.decide``: the fast path's share of the work, timed
        once per model and shape when it is close), and plain forward passes when the fast path
        does not apply (with a RuntimeWarning when the test edits disagreed).
    progress : bool, optional
        Default False. Show a progress bar over batches.

    Returns
    -------
    ISMResult
    """
    check_method(method)
    device, n_outputs = prepare(model, X, device, batch_size)
    target = check_target(target, n_outputs, model=model, allow_all=True)
    n, _, length = X.shape
    # all edits (sequence, position, base) with a base not observed there: three per position,
    # four at an N; ordered by sequence, then position, so the fast path shares windows
    seq, pos, base = torch.nonzero((X.to(device) != 1).permute(0, 2, 1)).unbind(1)
    run = predict_substitutions(model, X, seq=seq, pos=pos, base=base, device=device, method=method,
                                batch_size=batch_size, progress=progress, desc="ISM")
    reference = run.reference
    delta = torch.zeros(n, n_outputs, 4, length, device=device, dtype=reference.dtype)
    delta[seq, :, base, pos] = run.outputs - reference[seq]
    if target != ALL:
        delta, reference = delta[:, target], reference[:, target]
    return ISMResult(delta.float().cpu(), reference.float().cpu(), X, run.path, target)


@model_method
@torch.no_grad()
def predict_edits(model: nn.Module, X: torch.Tensor, *, edits, target: int | str | None = None,
                  batch_size: int | None = None, device="auto", method: str = "auto") -> torch.Tensor:
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
        Edits evaluated at once; default None: from the memory rule.
    device : str or torch.device, optional
        Default ``"auto"``.
    method : {"auto", "fast", "naive"}, optional
        Default ``"auto"``; as in :func:`saturation_mutagenesis`.

    Returns
    -------
    torch.Tensor, shape (E,), or (E, T) for ``target="all"``
        Edited minus original prediction, in the order of ``edits``.

    Raises
    ------
    ValueError
        For an empty or out-of-range edit, an unknown ``method``, or ``method="fast"`` where
        the fast path does not apply.
    """
    check_method(method)
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
    run = predict_substitutions(model, X, seq=seq, pos=pos, base=base, device=device, method=method,
                                batch_size=batch_size, desc="edits")
    delta = (run.outputs - run.reference[torch.tensor(seq, device=run.reference.device)]).float().cpu()
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
                   device="auto", method: str = "auto", random_state=None) -> KnockoutResult:
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
    method : {"auto", "fast", "naive"}, optional
        Default ``"auto"``; as in :func:`saturation_mutagenesis` (the fast path carries each
        replaced site as a window edit).
    random_state : int or None, optional
        Default None. Seed of the shuffles.

    Returns
    -------
    KnockoutResult
    """
    if fill not in OCCLUSION_FILLS:
        raise ValueError(f"fill must be one of {OCCLUSION_FILLS}; got {fill!r}")
    check_method(method)
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
    generator = np.random.default_rng(random_state)
    replacements = [_fill(X[n : n + 1, :, start:end], fill, n_shuffles, generator)[0] for n, start, end in sites]
    k = replacements[0].shape[0]
    delta = torch.empty(len(sites))
    for width in sorted({end - start for _, start, end in sites}):  # one job per site width
        index = [i for i, (_, start, end) in enumerate(sites) if end - start == width]
        run = predict_windows(model, X, rows=np.repeat([sites[i][0] for i in index], k),
                              starts=np.repeat([sites[i][1] for i in index], k),
                              values=torch.cat([replacements[i] for i in index]), device=device, method=method,
                              batch_size=batch_size, desc="knock-out")
        out = run.outputs[:, target].view(len(index), k).mean(1)
        rows = torch.tensor([sites[i][0] for i in index], device=out.device)
        delta[index] = (out - run.reference[rows, target]).float().cpu()
    return KnockoutResult(sites, delta)


@model_method
@torch.no_grad()
def mutagenesis_at(model: nn.Module, X: torch.Tensor, *, positions, target=None, batch_size: int | None = None,
                   device="auto", method: str = "auto") -> ISMResult:
    """Saturation mutagenesis restricted to some positions: the columns ``positions`` of
    :func:`saturation_mutagenesis`'s result, zero elsewhere.

    Every substitution at each of ``positions`` is predicted as there, through the edit engine
    (the path rule of :func:`saturation_mutagenesis`). Results of disjoint position sets add up
    to the whole map, so a view can compute what it shows first and the rest after (the
    NucleotideFlipper does).

    Parameters
    ----------
    model, X
        As in :func:`saturation_mutagenesis`.
    positions : sequence of int or torch.Tensor, shape (P,)
        Positions to mutate, each in ``0..L-1``.
    target : int or str, optional
        Output kept; default None: the model's only output (a multi-output model raises
        ``ValueError``: pass ``target=<index or name>``).
    batch_size : int, optional
        Edited sequences evaluated at once; default None: the memory rule, as in
        :func:`saturation_mutagenesis`.
    device : str or torch.device, optional
        Default ``"auto"``.
    method : {"auto", "fast", "naive"}, optional
        Default ``"auto"``; as in :func:`saturation_mutagenesis`.

    Returns
    -------
    ISMResult
        ``delta (N, 4, L)``: zero outside ``positions`` and at the observed bases.

    Raises
    ------
    ValueError
        When a position is outside the sequence, for an unknown ``method``, or for
        ``method="fast"`` where the fast path does not apply.
    """
    check_method(method)
    device, n_outputs = prepare(model, X, device, batch_size)
    target = check_target(target, n_outputs, model=model)
    n, _, length = X.shape
    positions = torch.as_tensor(positions, dtype=torch.long).reshape(-1).unique()
    if len(positions) and not (0 <= int(positions[0]) and int(positions[-1]) < length):
        raise ValueError(f"positions must lie in 0..{length - 1}; got {int(positions[0])}..{int(positions[-1])}")
    Xd = X.to(device)
    selected = torch.zeros(length, dtype=torch.bool, device=device)
    selected[positions.to(device)] = True
    # the edits of saturation_mutagenesis (a base not observed there), at the selected positions only
    seq, pos, base = torch.nonzero((Xd != 1).permute(0, 2, 1) & selected[None, :, None]).unbind(1)
    run = predict_substitutions(model, X, seq=seq, pos=pos, base=base, device=device, method=method,
                                batch_size=batch_size)
    reference = run.reference
    delta = torch.zeros(n, 4, length, device=device, dtype=reference.dtype)
    delta[seq, base, pos] = run.outputs[:, target] - reference[seq, target]
    return ISMResult(delta.float().cpu(), reference[:, target].float().cpu(), X, run.path, target)
