"""Feature interactions (the review's Fig. 4): Deep Feature Interaction Maps (pairwise ISM is
:mod:`.pairwise`).

:func:`dfim` implements Deep Feature Interaction Maps (Greenside, Shimko, Fordyce & Kundaje,
Bioinformatics 2018): the interaction score of a *source* feature on a *target* feature is the
change in the target's importance when the source is mutated, everything else kept. Its cost is
linear in the number of source features (one importance map per mutated copy), and a null
distribution from dinucleotide-shuffled copies of the sequence tells how large a score has to
be to mean something. :func:`mutated_importance` gives one source's "after" importance track
(the same copies as in :func:`dfim`). :func:`xai_widgets.evaluation.planted_pair_rank` checks DFIM
against the ground truth of :func:`~xai_widgets.data.cooperative_grammar`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .._core import resolve_batch_size
from ..data.shuffle import dinucleotide_shuffle
from ._common import check_target, model_method, prepare
from ._engine import check_method, predict_substitutions
from .gradients import saliency
from .pairwise import _check_single

IMPORTANCES = ("ism", "saliency")
AGGREGATES = ("sum", "max")
MUTATIONS = ("random", "shuffle")


# ---------------------------------------------------------------------------------------------
# DFIM


@dataclass(frozen=True)
class Feature:
    """A span of one sequence used as a DFIM source or target.

    Attributes
    ----------
    label : str
        Unique, readable label, e.g. ``"Spi1:16-29"``, ``"40-50"`` or ``"pos 17"``.
    start, end : int
        Half-open span ``[start, end)``.
    name : str
        The motif name for motif instances, else ``""``.
    strand : int
        +1 / -1 for motif instances given with a strand, else 0.
    """

    label: str
    start: int
    end: int
    name: str = ""
    strand: int = 0

    @property
    def width(self) -> int:
        return self.end - self.start


def _as_feature(spec, length: int) -> Feature:
    """A :class:`Feature` from a position, a ``(start, end)`` span, a motif instance tuple
    ``(name, start, end[, strand])`` or a :class:`Feature`."""
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if isinstance(spec, Feature):
        feature = spec
    elif is_int(spec):
        feature = Feature(f"pos {int(spec)}", int(spec), int(spec) + 1)
    elif isinstance(spec, (tuple, list)) and len(spec) == 2 and all(is_int(v) for v in spec):
        feature = Feature(f"{int(spec[0])}-{int(spec[1])}", int(spec[0]), int(spec[1]))
    elif (isinstance(spec, (tuple, list)) and len(spec) in (3, 4) and isinstance(spec[0], str)
          and all(is_int(v) for v in spec[1:])):
        strand = int(spec[3]) if len(spec) == 4 else 0
        feature = Feature(f"{spec[0]}:{int(spec[1])}-{int(spec[2])}", int(spec[1]), int(spec[2]), spec[0], strand)
    else:
        raise ValueError(f"cannot read feature {spec!r}: give a position (int), a span (start, end), or a motif "
                         "instance (name, start, end[, strand]) such as task.instances.for_sequence(i) yields")
    if not 0 <= feature.start < feature.end <= length:
        raise ValueError(f"feature {feature.label!r} spans [{feature.start}, {feature.end}), outside a sequence "
                         f"of length {length}")
    return feature


def _as_features(specs, length: int, what: str) -> list[Feature]:
    if specs is None or isinstance(specs, (str, bytes)):
        raise ValueError(f"{what} must be a list of features; got {specs!r}")
    features = [_as_feature(s, length) for s in specs]
    if not features:
        raise ValueError(f"{what} is empty: give at least one position, span or motif instance")
    labels = [f.label for f in features]
    if len(set(labels)) != len(labels):
        raise ValueError(f"{what} lists a feature twice: {labels}")
    return features


@dataclass(frozen=True)
class DFIMResult:
    """Result of :func:`dfim`: the interaction score of every source feature on every target.

    With ``I_p(x)`` the importance of position ``p`` in sequence ``x`` and ``x^(s, d)`` the
    ``d``-th mutated copy of ``x`` in which source ``s`` is replaced (``n_draws`` random
    replacements of a span; the three other bases of a single position), the per-position change is
    ``D_p(s) = mean_d I_p(x^(s, d)) - I_p(x)`` over the target's positions that lie outside the
    source (a mutated position changes its own importance trivially), and

    - ``aggregate="sum"``: ``change[s, t] = sum_p D_p(s)``, the change in the target's total
      importance;
    - ``aggregate="max"``: ``change[s, t] = D_q(s)`` at the position ``q`` with the largest
      ``|D_p(s)|``.

    ``scores = |change|``. A target lying entirely inside its source (the diagonal when sources
    and targets are the same list) has no position left: its entries are NaN.

    Attributes
    ----------
    scores : torch.Tensor, shape (S, T)
        ``|change|``, the feature interaction scores (FIS).
    change : torch.Tensor, shape (S, T)
        Signed change in target importance; negative when mutating the source makes the target
        less important (e.g. a cooperative partner lost).
    sources, target_features : list of Feature
        The mutated features and the features whose importance is read.
    importance : torch.Tensor, shape (L,)
        Per-position importance of the unmutated sequence.
    null : torch.Tensor or None, shape (n_null, S, T)
        ``scores`` of the same procedure (same spans, same mutations) on ``n_null``
        dinucleotide-shuffled copies of the sequence, where any planted grammar is destroyed.
    z : torch.Tensor or None, shape (S, T)
        ``(scores - null.mean(0)) / null.std(0)`` (sample sd; where the null has no spread:
        inf when the score exceeds it, else 0).
    p_value : torch.Tensor or None, shape (S, T)
        Empirical one-sided p-value ``(1 + #{null >= score}) / (1 + n_null)``; it cannot be
        smaller than ``1 / (1 + n_null)``.
    X : torch.Tensor, shape (1, 4, L)
    method : str
        The importance method (or the callable's name).
    aggregate, mutation : str
    n_draws : int
    target : int
    """

    scores: torch.Tensor
    change: torch.Tensor
    sources: list
    target_features: list
    importance: torch.Tensor
    null: torch.Tensor | None
    z: torch.Tensor | None
    p_value: torch.Tensor | None
    X: torch.Tensor
    method: str
    aggregate: str
    mutation: str
    n_draws: int
    target: int

    @property
    def source_labels(self) -> list[str]:
        return [f.label for f in self.sources]

    @property
    def target_labels(self) -> list[str]:
        return [f.label for f in self.target_features]

    def pair_scores(self) -> torch.Tensor:
        """Symmetric score of each unordered pair, ``(F, F)``: the mean of both directions,
        ``(scores + scores.T) / 2``; needs the same features as sources and targets."""
        if self.source_labels != self.target_labels:
            raise ValueError("pair_scores needs the same features as sources and targets; use scores instead")
        return (self.scores + self.scores.T) / 2

    def ranked_pairs(self) -> list[tuple[str, str, float]]:
        """Unordered feature pairs by :meth:`pair_scores`, strongest first (NaN pairs left out)."""
        pairs = self.pair_scores()
        labels = self.source_labels
        out = [(labels[i], labels[j], float(pairs[i, j])) for i in range(len(labels))
               for j in range(i + 1, len(labels)) if not math.isnan(float(pairs[i, j]))]
        return sorted(out, key=lambda r: -r[2])


@torch.no_grad()
def _ism_importance(model: nn.Module, V: torch.Tensor, target: int, positions: torch.Tensor | None, batch_size: int,
                    device, method: str = "auto") -> torch.Tensor:
    """``saturation_mutagenesis(model, V, target=target).values.sum(1)``, ``(M, L)``, computed only at
    ``positions`` (all when None; 0 elsewhere): minus the mean effect of the three substitutions.

    The same computation as :func:`~xai_widgets.methods.saturation_mutagenesis` (the edit engine,
    with ``method``), restricted to the positions DFIM reads, which saves most of the edits.
    """
    n, _, length = V.shape
    positions = torch.arange(length) if positions is None else positions
    n_pos = len(positions)
    seq = torch.arange(n, device=device).repeat_interleave(3 * n_pos)
    pos = positions.to(device).repeat_interleave(3).repeat(n)
    base = (V.to(device).argmax(1)[seq, pos] + torch.arange(1, 4, device=device).repeat(n * n_pos)).remainder(4)
    run = predict_substitutions(model, V, seq=seq, pos=pos, base=base, device=device, method=method,
                                batch_size=batch_size)
    delta = run.outputs[:, target].view(n, n_pos, 3) - run.reference[:, target, None, None]
    out = torch.zeros(n, length)
    out[:, positions] = (-delta.sum(-1) / 4).float().cpu()
    return out


def _importance_fn(model: nn.Module, importance, target: int, batch_size: int, device,
                   method: str = "auto") -> tuple[Callable, str]:
    """``f(V (M, 4, L), positions or None) -> (M, L)`` per-position importance, and its name.

    ``positions`` are the only positions the caller reads (a hint; None: all)."""
    if callable(importance):
        def custom(V, positions=None):
            out = torch.as_tensor(importance(V))
            if out.shape != (V.shape[0], V.shape[2]):
                raise ValueError(f"a custom importance must map (M, 4, L) to (M, L); for {tuple(V.shape)} it "
                                 f"returned {tuple(out.shape)}")
            return out.float().cpu()

        return custom, getattr(importance, "__name__", "custom")
    if importance == "ism":
        def ism(V, positions=None):
            return _ism_importance(model, V, target, positions, batch_size, device, method)

        return ism, "ism"
    if importance == "saliency":
        def grad(V, positions=None):
            result = saliency(model, V, target=target, correct=True, batch_size=batch_size, device=device)
            return result.on_observed().sum(1)

        return grad, "saliency"
    raise ValueError(f"importance must be one of {IMPORTANCES} or a callable (M, 4, L) -> (M, L); got {importance!r}")


def _mutants(x: torch.Tensor, source: Feature, mutation: str, n_draws: int, rng: np.random.Generator) -> torch.Tensor:
    """Copies of ``x (4, L)`` with ``source`` replaced: ``(K, 4, L)``."""
    s, e = source.start, source.end
    if source.width == 1:  # every other base once: the expectation over substitutions, exactly
        ref = int(x[:, s].argmax())
        bases = [(ref + k) % 4 for k in (1, 2, 3)]
        out = x.repeat(3, 1, 1)
        out[:, :, s] = 0
        out[torch.arange(3), bases, s] = 1
        return out
    out = x.repeat(n_draws, 1, 1)
    if mutation == "random":
        idx = torch.from_numpy(rng.integers(0, 4, size=(n_draws, source.width)))
        out[:, :, s:e] = nn.functional.one_hot(idx, 4).permute(0, 2, 1).to(x.dtype)
    else:
        out[:, :, s:e] = dinucleotide_shuffle(x[None, :, s:e], n_draws, random_state=rng)[0]
    return out


def _check_random_state(random_state) -> None:
    ok = random_state is None or isinstance(random_state, np.random.Generator) or (
        isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) and random_state >= 0)
    if not ok:
        raise ValueError(f"random_state must be None, a non-negative int or a numpy Generator; got {random_state!r}")


def _source_rng(random_state, map_index: int, source: Feature) -> np.random.Generator:
    """The generator of one source's replacements in map ``map_index`` (0: the observed one).

    An integer seed gives every (map, source span) its own stream, so that
    :func:`mutated_importance` with the same seed reproduces a source's copies in :func:`dfim`
    exactly; a Generator is used as is (draws in order), None draws fresh entropy.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None:
        return np.random.default_rng()
    return np.random.default_rng([int(random_state), map_index, source.start, source.end])


def _dfim_scores(x: torch.Tensor, sources, targets, importance_fn, mutation, n_draws, aggregate, random_state,
                 map_index: int) -> torch.Tensor:
    """``change (S, T)`` for one sequence ``x (4, L)``."""
    variants, counts = [x[None]], []
    for source in sources:
        mutated = _mutants(x, source, mutation, n_draws, _source_rng(random_state, map_index, source))
        variants.append(mutated)
        counts.append(len(mutated))
    positions = torch.unique(torch.cat([torch.arange(t.start, t.end) for t in targets]))
    imp = importance_fn(torch.cat(variants), positions)  # (1 + sum K, L), read at the targets' positions only
    base = imp[0]
    change = torch.full((len(sources), len(targets)), float("nan"))
    offset = 1
    for si, (source, k) in enumerate(zip(sources, counts)):
        diff = imp[offset : offset + k].mean(0) - base  # (L,)
        offset += k
        for ti, tgt in enumerate(targets):
            keep = torch.ones(tgt.width, dtype=torch.bool)
            lo, hi = max(source.start, tgt.start), min(source.end, tgt.end)
            if lo < hi:
                keep[lo - tgt.start : hi - tgt.start] = False
            if not keep.any():
                continue
            d = diff[tgt.start : tgt.end][keep]
            change[si, ti] = d.sum() if aggregate == "sum" else d[d.abs().argmax()]
    return change


@model_method
def dfim(model: nn.Module, X: torch.Tensor, *, sources, target_features=None, target: int | str | None = None,
         importance="ism", aggregate: str = "sum", mutation: str = "random", n_draws: int = 8, n_null: int = 10,
         batch_size: int | None = None, device="auto", method: str = "auto", random_state=None,
         progress: bool = False) -> DFIMResult:
    """Deep Feature Interaction Maps (Greenside et al. 2018) for one sequence.

    For each source feature, ``n_draws`` copies of the sequence with the source replaced are
    explained, and the change of every target feature's importance relative to the intact
    sequence is recorded (see :class:`DFIMResult` for the exact formula). Sources that do not
    interact with a target leave its importance unchanged (score 0 for a purely additive
    model); a cooperative partner's importance drops when its partner is mutated.

    How a source is mutated: a single position (width 1) takes each of its three other bases
    once, and the changes are averaged (the exact expectation over substitutions). A span takes
    ``n_draws`` replacements, averaged: with ``mutation="random"`` (default) i.i.d. uniform
    bases, the background of the synthetic tasks, which destroys a motif whatever its
    composition; with ``mutation="shuffle"`` dinucleotide shuffles of the span (composition
    kept, for real genomic backgrounds; a shuffle of a short, repetitive motif can keep part
    of it).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    X : torch.Tensor, shape (1, 4, L)
        One one-hot sequence.
    sources : list
        Features, each a position ``p``, a span ``(start, end)``, a motif instance
        ``(name, start, end[, strand])`` (e.g. ``task.instances.for_sequence(i)``) or a
        :class:`Feature`.
    target_features : list, optional
        Default None: the sources (a feature x feature map). The features whose importance is
        read, in the same forms as ``sources``.
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model); an output
        index or name.
    importance : {"ism", "saliency"} or callable, optional
        Default ``"ism"``. Per-position importance: ``"ism"`` sums the ISM attribution
        (``saturation_mutagenesis(...).values.sum(1)``: minus the mean effect of the
        substitutions at each position); ``"saliency"`` sums the corrected gradient at the
        observed base (gradient x input after removing the off-simplex component). A callable
        maps ``(M, 4, L)`` to ``(M, L)``. For the mutated copies ``"ism"`` predicts only the
        substitutions at the targets' positions (with the fast incremental path of
        :func:`~xai_widgets.methods.saturation_mutagenesis` where the model allows).
    aggregate : {"sum", "max"}, optional
        Default ``"sum"``. How a target's per-position changes are combined (see :class:`DFIMResult`).
    mutation : {"random", "shuffle"}, optional
        Default ``"random"``. Replacement of span sources (see above).
    n_draws : int, optional
        Default 8. Replacements per span source.
    n_null : int, optional
        Default 10. Dinucleotide shuffles of the whole sequence on which the same procedure gives the null
        distribution (``0``: no null, ``z`` and ``p_value`` are None). Each costs as much as
        the observed map. The null asks whether a score exceeds what the same spans show in a
        background without the sequence's motifs; weak interactions that a nonlinear model adds
        between any real motifs (saturation) pass that test too, so compare ``z`` across pairs
        rather than reading every ``p_value < 0.05`` as a grammar. (On the grammar zoo model,
        30 held-out grammar sequences, ``n_null=20``: the planted Spi1-Irf1 pair had
        p <= 0.05 in both directions in 27, median z 36; in 25 some entry involving CTCF or
        REST also had p <= 0.05, with a median largest z of 10.)
    batch_size : int or None, optional
        Sequences (or ISM edits) evaluated at once; default None: from the memory rule
        (:func:`xai_widgets._core.resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.
    method : {"auto", "fast", "naive"}, optional
        Default ``"auto"``. How ``importance="ism"`` predicts its edits (the edit engine, as in
        :func:`~xai_widgets.methods.saturation_mutagenesis`); ignored by other importances.
    random_state : int, numpy.random.Generator or None, optional
        Default None. Seed of the replacements and the null shuffles. An integer gives every (map, source
        span) its own stream, so results do not depend on the order of the features and
        :func:`mutated_importance` reproduces a row.
    progress : bool, optional
        Default False. Show a progress bar over the observed map and the null maps.

    Returns
    -------
    DFIMResult
    """
    _check_single(X, "dfim")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}; got {aggregate!r}")
    if mutation not in MUTATIONS:
        raise ValueError(f"mutation must be one of {MUTATIONS}; got {mutation!r}")
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer; got {n_draws!r}")
    if isinstance(n_null, bool) or not isinstance(n_null, int) or n_null < 0 or n_null == 1:
        raise ValueError(f"n_null must be 0 (no null) or an integer >= 2; got {n_null!r}")
    check_method(method)
    device, n_outputs = prepare(model, X, device, batch_size)
    batch_size = resolve_batch_size(batch_size, model, X, device)
    target = check_target(target, n_outputs, model=model)
    length = X.shape[2]
    sources = _as_features(sources, length, "sources")
    targets = sources if target_features is None else _as_features(target_features, length, "target_features")
    importance_fn, importance_name = _importance_fn(model, importance, target, batch_size, device, method)
    _check_random_state(random_state)

    bar = tqdm(total=1 + n_null, desc="DFIM", disable=not progress, unit="map")
    try:
        base = importance_fn(X)[0]  # (L,), every position
        change = _dfim_scores(X[0], sources, targets, importance_fn, mutation, n_draws, aggregate, random_state, 0)
        bar.update()
        scores = change.abs()
        null = z = p_value = None
        if n_null:
            null_rng = (random_state if isinstance(random_state, np.random.Generator) or random_state is None
                        else np.random.default_rng([int(random_state), 2**32 - 1]))
            shuffled = dinucleotide_shuffle(X, n_null, random_state=null_rng)[0]
            null = torch.empty(n_null, len(sources), len(targets))
            for k in range(n_null):
                null[k] = _dfim_scores(shuffled[k], sources, targets, importance_fn, mutation, n_draws,
                                       aggregate, random_state, k + 1).abs()
                bar.update()
            mean, sd = null.mean(0), null.std(0)
            z = (scores - mean) / sd
            z = torch.where(sd > 0, z, torch.where(scores > mean, math.inf, 0.0))
            z[scores.isnan()] = math.nan
            p_value = (1 + (null >= scores).sum(0)) / (1 + n_null)
            p_value[scores.isnan()] = math.nan
    finally:
        bar.close()
    return DFIMResult(scores, change, sources, targets, base, null, z, p_value, X, importance_name, aggregate, mutation,
                      n_draws, target)


@model_method
def mutated_importance(model: nn.Module, X: torch.Tensor, *, source, target: int | str | None = None, importance="ism",
                       mutation: str = "random", n_draws: int = 8, batch_size: int | None = None, device="auto",
                       method: str = "auto", random_state=None) -> torch.Tensor:
    """Per-position importance after mutating one feature, averaged over its mutated copies.

    The "after" half of one row of :func:`dfim`: with the same ``importance``, ``mutation``,
    ``n_draws`` and an integer ``random_state``, the copies are exactly those :func:`dfim` makes
    for this source, so ``(mutated_importance(...) - result.importance)[t.start:t.end]`` summed
    over a target's positions outside the source is ``result.change[s, t]``.

    Parameters
    ----------
    model, X
        As in :func:`dfim`.
    source
        One feature (required): a position, a span ``(start, end)``, a motif instance
        ``(name, start, end[, strand])`` or a :class:`Feature`.
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model, naming its
        outputs); else an output index or name.
    importance : {"ism", "saliency"} or callable, optional
        Default ``"ism"``; as in :func:`dfim`.
    mutation : {"random", "shuffle"}, optional
        Default ``"random"``; as in :func:`dfim`.
    n_draws : int, optional
        Default 8; as in :func:`dfim`.
    batch_size : int or None, optional
        Default None: from the memory rule (:func:`xai_widgets._core.resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.
    method : {"auto", "fast", "naive"}, optional
        Default ``"auto"``. How ``importance="ism"`` predicts its edits (the edit engine, as in
        :func:`~xai_widgets.methods.saturation_mutagenesis`); ignored by other importances.
    random_state : int, numpy.random.Generator or None, optional
        Default None. Use the integer given to :func:`dfim` to get its copies.

    Returns
    -------
    torch.Tensor, shape (L,)
        Mean importance of every position over the mutated copies.
    """
    _check_single(X, "mutated_importance")
    if mutation not in MUTATIONS:
        raise ValueError(f"mutation must be one of {MUTATIONS}; got {mutation!r}")
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer; got {n_draws!r}")
    check_method(method)
    device, n_outputs = prepare(model, X, device, batch_size)
    batch_size = resolve_batch_size(batch_size, model, X, device)
    target = check_target(target, n_outputs, model=model)
    _check_random_state(random_state)
    feature = _as_feature(source, X.shape[2])
    importance_fn, _ = _importance_fn(model, importance, target, batch_size, device, method)
    copies = _mutants(X[0], feature, mutation, n_draws, _source_rng(random_state, 0, feature))
    return importance_fn(copies).mean(0)
