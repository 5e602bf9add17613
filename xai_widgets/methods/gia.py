"""Global importance analysis (GIA) and motif-spacing sweeps (the review's Fig. 4a).

GIA (Koo et al. 2021) measures what a motif does to a model *on average*: insert it into many
background sequences that carry no signal of their own (dinucleotide shuffles of real data, or
random DNA of a chosen GC content) and average the prediction change

    effect_n = f(background_n with the insertions) - f(background_n).

:func:`global_importance` does this for one set of insertions, :func:`motif_effects` ranks
several motifs inserted alone, and :func:`spacing_sweep` inserts a pair of motifs A and B at
every spacing and in every orientation pair, the design that reveals a cooperative grammar
(ExplaiNN's DeepSTARR analysis; the ``cooperative_grammar`` task of this package).

The sequence edits (:func:`~xai_widgets.data.insert_motifs`, :func:`~xai_widgets.data.backgrounds`,
:func:`~xai_widgets.data.b_start`) are data operations in :mod:`xai_widgets.data.editing`; the
engine that predicts them is :mod:`._lanes`, the intervals :mod:`._stats`.

Spacing convention (:func:`spacing_sweep`)
------------------------------------------
Motif A stays at one position; ``spacing`` says where B goes, **in A's strand direction**:

* ``spacing = s >= 0``: B lies *downstream* of A with ``s`` bases strictly between them,
  exactly the gap of :class:`~xai_widgets.data.tasks.GrammarRule` (``s = 0``: adjacent);
* ``spacing = s < 0``: B lies *upstream* of A with ``|s|`` bases between them.

Downstream follows A's strand: with A on ``+`` it is to the right in sequence coordinates,
with A on ``-`` to the left. So the planted grammar (Irf1 4-12 bp downstream of Spi1, same
strand) is orientation ``"++"`` or ``"--"`` at spacings 4 to 12, for a sequence and for its
reverse complement alike. As spacings count the bases between the motifs, the two never
overlap; a spacing is skipped (and listed in :attr:`SpacingSweepResult.skipped`) when B
would fall off the sequence.

Speed
-----
For models made of position-local layers (:func:`~xai_widgets.methods.ism.supports_fast_ism`:
the zoo CNNs, DanQ's convolution, ExplaiNN's first layer), an insertion changes only a window
of each layer's output (fastISM, Nair et al. 2022, here for motif-wide edits). The fast path
caches the activations of every background, with and without A, and computes only the windows
around each insertion, for all backgrounds of one geometry at once. In the sweep, ``bg + A + B``
reuses the windows of ``bg + B`` for as long as A and B do not meet (the difference B makes is
the same in both through every affine layer and wherever A left a map unchanged), so it is
computed on its own only from the layer where their windows overlap. Other models get batched
forward passes of the edited sequences. Both paths give the same numbers (to float rounding,
below 1e-5 on the zoo models).

On 2 CPU cores the default sweep (101 spacings x 4 orientations x 100 backgrounds, L = 200,
Basset) takes about half a second; ``benchmarks/interactions.py`` compares it with
tangermeme. Many small tensor operations run multi-threaded, so on a machine whose cores are
busy with other work ``torch.set_num_threads(1)`` can be much faster than the default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data import (
    ORIENTATIONS,
    b_start,
    insert_motifs,
    motif_name,
    motif_sites,
    motif_start,
    motif_width,
    normalise_insertions,
    orient,
)
from ._common import check_target, model_method, prepare
from ._engine import Lane, check_method, predict_lanes
from ._stats import check_ci, mean_ci

__all__ = ["GIAResult", "MotifEffects", "SpacingSweepResult", "global_importance", "motif_effects", "spacing_sweep"]

# ---------------------------------------------------------------------------------------------
# global importance


@dataclass(frozen=True)
class GIAResult:
    """Result of :func:`global_importance`.

    Attributes
    ----------
    effect : torch.Tensor, shape (N,)
        Per background: prediction with the insertions minus prediction without.
    mean : float
        Mean of ``effect`` over the backgrounds: the global importance.
    ci : tuple of float
        95% confidence interval of ``mean`` (see ``ci_method``).
    with_insertions : torch.Tensor, shape (N,)
        Predictions for the backgrounds with the insertions.
    background_prediction : torch.Tensor, shape (N,)
        Predictions for the backgrounds alone.
    insertions : tuple of (str, int, str)
        ``(motif name or sequence, start, strand)`` of each insertion.
    ci_method : {"normal", "bootstrap"}
    path : {"fast", "naive"}
        Which computation ran.
    """

    effect: torch.Tensor
    mean: float
    ci: tuple
    with_insertions: torch.Tensor
    background_prediction: torch.Tensor
    insertions: tuple
    ci_method: str
    path: str


@model_method
@torch.no_grad()
def global_importance(model: nn.Module, backgrounds: torch.Tensor, *, insertions, target: int | str | None = None,
                      batch_size: int | None = None, device="auto", ci: str = "normal", n_bootstrap: int = 1000,
                      method: str = "auto", random_state=None) -> GIAResult:
    """Global importance of a set of insertions: mean prediction change over backgrounds.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    backgrounds : torch.Tensor, shape (N, 4, L)
        One-hot backgrounds, e.g. from :func:`xai_widgets.data.backgrounds`.
    insertions : list of (motif, position, strand)
        Non-overlapping insertions (see :func:`xai_widgets.data.insert_motif` for the motif
        forms); a single tuple is accepted too. Position None centres a motif.
    target : int, str or None
        The model output, by index or by name; default None: the model's only output (a
        multi-output model raises ValueError, naming its outputs: pass ``target=<index or name>``).
    batch_size : int, optional
        Default None: from the memory rule (:func:`xai_widgets._core.resolve_batch_size`).
        Edited sequences evaluated at once: window edits on the fast path; on the plain path the
        edited sequences built at once (run in forward passes of at most 256).
    device : str or torch.device
        Default ``"auto"``: CUDA when available.
    ci : {"normal", "bootstrap"}
        95% interval of the mean, default ``"normal"``: mean +- 1.96 standard errors, or
        ``"bootstrap"``: the 2.5/97.5 percentiles of ``n_bootstrap`` resampled means (with
        ``random_state``).
    n_bootstrap : int
        Resamples of the bootstrap interval; default 1000.
    method : {"auto", "fast", "naive"}
        Default ``"auto"``: fast when possible. ``"fast"`` recomputes only the windows the
        insertions reach (position-local models); ``"naive"`` runs full forward passes.
    random_state : int, numpy.random.Generator or None
        Seeds :class:`~xai_widgets.data.Motif` sampling and the bootstrap; default None (fresh
        entropy).

    Returns
    -------
    GIAResult
    """
    check_ci(ci, n_bootstrap)
    check_method(method)
    device, n_outputs = prepare(model, backgrounds, device, batch_size)
    target = check_target(target, n_outputs)
    rng = np.random.default_rng(random_state)
    n, _, length = backgrounds.shape
    items = normalise_insertions(insertions, length)
    edited = insert_motifs(backgrounds, [(m, s, st) for m, s, st, _ in items], random_state=rng)
    lo, hi = min(s for _, s, _, _ in items), max(s + w for _, s, _, w in items)
    ref_out, outputs, choice = predict_lanes(model, [backgrounds], [[Lane(0, lo, edited[:, :, lo:hi])]],
                                             target=target, device=device, method=method, batch_size=batch_size,
                                             desc="GIA")
    reference, with_insertions = ref_out[0], outputs[0][0]
    effect = (with_insertions - reference).float().cpu()
    mean, bounds = mean_ci(effect[:, None], ci, n_bootstrap, rng)
    described = tuple((motif_name(m), s, st) for m, s, st, _ in items)
    return GIAResult(effect, float(mean[0]), (float(bounds[0, 0]), float(bounds[0, 1])),
                     with_insertions.float().cpu(), reference.float().cpu(), described, ci,
                     choice.path)


@dataclass(frozen=True)
class MotifEffects:
    """Result of :func:`motif_effects`: each motif inserted alone.

    Attributes
    ----------
    names : tuple of str, length M
    effect : torch.Tensor, shape (M, N)
        Per motif and background: prediction with the motif minus without (the mean of the
        two strands for ``strand="both"``).
    mean : torch.Tensor, shape (M,)
    ci : torch.Tensor, shape (M, 2)
        95% confidence intervals of ``mean``.
    background_prediction : torch.Tensor, shape (N,)
        Predictions for the backgrounds alone.
    positions : tuple of int, length M
        Start of each motif.
    strand : {"+", "-", "both"}
    path : {"fast", "naive"}
    """

    names: tuple
    effect: torch.Tensor
    mean: torch.Tensor
    ci: torch.Tensor
    background_prediction: torch.Tensor
    positions: tuple
    strand: str
    path: str

    def ranking(self) -> list[str]:
        """Motif names from the largest mean effect to the smallest."""
        order = torch.argsort(self.mean, descending=True, stable=True)
        return [self.names[i] for i in order.tolist()]

    def as_dict(self) -> dict[str, float]:
        """``{name: mean effect}``."""
        return {name: float(v) for name, v in zip(self.names, self.mean)}


@model_method
@torch.no_grad()
def motif_effects(model: nn.Module, backgrounds: torch.Tensor, *, motifs, position: int | None = None,
                  strand: str = "+", target: int | str | None = None, batch_size: int | None = None, device="auto",
                  ci: str = "normal", n_bootstrap: int = 1000, method: str = "auto", random_state=None,
                  progress: bool = False) -> MotifEffects:
    """Global importance of several motifs, each inserted alone at the same place.

    Parameters
    ----------
    model, backgrounds
        As in :func:`global_importance`.
    motifs : dict of str to motif, or iterable of motifs
        Any form of :func:`xai_widgets.data.insert_motif`; an iterable is keyed by motif name /
        sequence.
    position : int or None
        Start of every motif; default None: each one centred (``L // 2 - W // 2``).
    strand : {"+", "-", "both"}
        Default ``"+"``; ``"both"`` averages, per background, the effects of the two strands.
    target : int, str or None
        The model output, by index or by name; default None: the model's only output (a
        multi-output model raises ValueError, naming its outputs: pass ``target=<index or name>``).
    batch_size : int, optional
        Default None: from the memory rule (see :func:`global_importance`).
    device : str or torch.device
        Default ``"auto"``: CUDA when available.
    ci : {"normal", "bootstrap"}
        Default ``"normal"``; as in :func:`global_importance`.
    n_bootstrap : int
        Default 1000.
    method : {"auto", "fast", "naive"}
        Default ``"auto"``; as in :func:`global_importance`.
    random_state : int, numpy.random.Generator or None
        Seeds motif sampling and the bootstrap; default None (fresh entropy).
    progress : bool
        Show a progress bar over batches; default False.

    Returns
    -------
    MotifEffects
    """
    if strand not in ("+", "-", "both"):
        raise ValueError(f"strand must be '+', '-' or 'both'; got {strand!r}")
    check_ci(ci, n_bootstrap)
    if not isinstance(motifs, Mapping):
        motifs = {motif_name(m): m for m in motifs}
    if not motifs:
        raise ValueError("motifs is empty: give a dict {name: motif}")
    check_method(method)
    device, n_outputs = prepare(model, backgrounds, device, batch_size)
    target = check_target(target, n_outputs)
    rng = np.random.default_rng(random_state)
    n, _, length = backgrounds.shape
    strands = ("+", "-") if strand == "both" else (strand,)
    widths = {name: motif_width(motif) for name, motif in motifs.items()}
    positions = [motif_start(position, width=widths[name], length=length, what=f"motif {name!r}") for name in motifs]
    # every edit gets the widest motif's width (padded with the background's own bases), so all
    # motifs go through the model in the same batches
    window = max(widths.values())
    families = []
    for (name, motif), start in zip(motifs.items(), positions):
        sites = motif_sites(motif, n, random_state=rng)
        lo = min(start, length - window)
        for s in strands:
            values = backgrounds[:, :, lo : lo + window].clone()
            values[:, :, start - lo : start - lo + widths[name]] = orient(sites, s)
            families.append([Lane(0, lo, values)])
    ref_out, outputs, choice = predict_lanes(model, [backgrounds], families, target=target, device=device,
                                             method=method, batch_size=batch_size, progress=progress, desc="motifs")
    reference = ref_out[0]
    per_strand = torch.stack([out[0] for out in outputs]).reshape(len(motifs), len(strands), n) - reference
    effects = per_strand.mean(1)
    effect = effects.float().cpu()
    mean, bounds = mean_ci(effect.T, ci, n_bootstrap, rng)
    return MotifEffects(tuple(motifs), effect, mean, bounds, reference.float().cpu(), tuple(positions), strand,
                        choice.path)


# ---------------------------------------------------------------------------------------------
# spacing sweep


@dataclass(frozen=True)
class SpacingSweepResult:
    """Result of :func:`spacing_sweep` (see the module docstring for the spacing convention).

    Effects are background-averaged prediction differences against the bare background
    ``f(bg)``; entries of skipped spacings (B off the sequence) are NaN.

    Attributes
    ----------
    orientations : tuple of str, length O
        ``"++"``, ``"+-"``, ``"-+"``, ``"--"``: A's strand, then B's.
    spacings : torch.Tensor of int64, shape (S,)
    position_a : int
        Start of A (the same in every orientation).
    b_start : torch.Tensor of int64, shape (O, S)
        Start of B in sequence coordinates; -1 where skipped.
    valid : torch.Tensor of bool, shape (O, S)
        False where the spacing was skipped.
    skipped : tuple of (str, int)
        ``(orientation, spacing)`` pairs that were skipped.
    effect : torch.Tensor, shape (O, S)
        Mean of ``f(AB) - f(bg)``.
    effect_ci : torch.Tensor, shape (O, S, 2)
        95% confidence interval of ``effect``.
    effect_a : torch.Tensor, shape (O,)
        Mean of ``f(A) - f(bg)``, A alone on the orientation's strand.
    effect_a_ci : torch.Tensor, shape (O, 2)
    effect_b : torch.Tensor, shape (O, S)
        Mean of ``f(B) - f(bg)``, B alone where it sits at that orientation and spacing (NaN
        with ``singles=False``, and so are ``cooperativity`` and ``interaction``).
    effect_b_ci : torch.Tensor, shape (O, S, 2)
    cooperativity : torch.Tensor, shape (O, S)
        ``effect / (effect_a + effect_b)``: 1 for additive motifs, above 1 for synergy. It is a
        ratio of background means (a mean of per-background ratios explodes wherever one
        background's denominator is near zero) and NaN where ``|effect_a + effect_b|`` is below
        ``min_denominator``.
    per_background : torch.Tensor, shape (N, O, S)
        ``f(AB) - f(bg)`` per background.
    per_background_a : torch.Tensor, shape (N, O)
    per_background_b : torch.Tensor, shape (N, O, S)
    background_prediction : torch.Tensor, shape (N,)
        ``f(bg)``, the prediction for each background alone.
    motif_names : tuple of str
        Names (or sequences) of A and B.
    ci_method : {"normal", "bootstrap"}
    path : {"fast", "naive"}
    """

    orientations: tuple
    spacings: torch.Tensor
    position_a: int
    b_start: torch.Tensor
    valid: torch.Tensor
    skipped: tuple
    effect: torch.Tensor
    effect_ci: torch.Tensor
    effect_a: torch.Tensor
    effect_a_ci: torch.Tensor
    effect_b: torch.Tensor
    effect_b_ci: torch.Tensor
    cooperativity: torch.Tensor
    per_background: torch.Tensor
    per_background_a: torch.Tensor
    per_background_b: torch.Tensor
    background_prediction: torch.Tensor
    motif_names: tuple
    ci_method: str
    path: str

    @property
    def interaction(self) -> torch.Tensor:
        """``effect - effect_a - effect_b``, shape (O, S): the non-additive part of the pair."""
        return self.effect - self.effect_a[:, None] - self.effect_b

    def peak(self, by: str = "effect") -> tuple[str, int]:
        """``(orientation, spacing)`` with the largest ``by`` among valid entries.

        Parameters
        ----------
        by : {"effect", "interaction", "cooperativity"}
            Default ``"effect"``.
        """
        options = ("effect", "interaction", "cooperativity")
        if by not in options:
            raise ValueError(f"by must be one of {options}; got {by!r}")
        values = getattr(self, by).clone()
        values[~self.valid | torch.isnan(values)] = -math.inf
        if not torch.isfinite(values).any():
            raise ValueError(f"no valid, finite {by} to take the peak of")
        o, s = divmod(int(torch.argmax(values)), values.shape[1])
        return self.orientations[o], int(self.spacings[s])

    def table(self) -> list[dict]:
        """One row per valid (orientation, spacing): spacing, B's start and the mean effects."""
        rows = []
        for o, orientation in enumerate(self.orientations):
            for s, spacing in enumerate(self.spacings.tolist()):
                if self.valid[o, s]:
                    rows.append({"orientation": orientation, "spacing": spacing, "b_start": int(self.b_start[o, s]),
                                 "effect": float(self.effect[o, s]), "effect_a": float(self.effect_a[o]),
                                 "effect_b": float(self.effect_b[o, s]),
                                 "cooperativity": float(self.cooperativity[o, s])})
        return rows


def _check_orientations(orientations) -> tuple:
    if isinstance(orientations, str):
        orientations = (orientations,)
    orientations = tuple(orientations)
    bad = [o for o in orientations if o not in ORIENTATIONS]
    if bad or not orientations or len(set(orientations)) != len(orientations):
        raise ValueError(f"orientations must be distinct values of {ORIENTATIONS}; got {orientations!r}")
    return orientations


def _check_spacings(spacings) -> torch.Tensor:
    try:
        values = spacings if isinstance(spacings, torch.Tensor) else torch.as_tensor(np.asarray(list(spacings)))
    except (TypeError, ValueError):
        raise ValueError(f"spacings must be a non-empty 1-D sequence of integers; got {spacings!r}") from None
    if values.ndim != 1 or len(values) == 0 or values.is_floating_point() or values.is_complex() \
            or values.dtype == torch.bool:
        raise ValueError(f"spacings must be a non-empty 1-D sequence of integers; got {spacings!r}")
    values = values.long().cpu()
    if len(torch.unique(values)) != len(values):
        raise ValueError("spacings contains duplicates")
    return values


@model_method
@torch.no_grad()
def spacing_sweep(model: nn.Module, backgrounds: torch.Tensor, *, motif_a, motif_b,
                  spacings: Sequence[int] | torch.Tensor = range(-50, 51), orientations=ORIENTATIONS,
                  position_a: int | None = None, target: int | str | None = None, batch_size: int | None = None,
                  device="auto", ci: str = "normal", n_bootstrap: int = 1000, min_denominator: float = 1e-3,
                  singles: bool = True, method: str = "auto", random_state=None,
                  progress: bool = False) -> SpacingSweepResult:
    """Insert motif A at a fixed position and motif B at every spacing and orientation pair.

    For every background ``bg`` this predicts ``bg``, ``bg + A`` (each strand), ``bg + B`` at
    every position B takes, and ``bg + A + B`` at every (orientation, spacing), and averages the
    differences to ``f(bg)`` over the backgrounds.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    backgrounds : torch.Tensor, shape (N, 4, L)
        One-hot backgrounds (:func:`xai_widgets.data.backgrounds`).
    motif_a, motif_b : str, Motif or one-hot array
        As in :func:`xai_widgets.data.insert_motif`. A :class:`Motif` is sampled once per background (with
        ``random_state``) and that site is used at every spacing and, reverse-complemented, on
        the ``-`` strand.
    spacings : sequence of int
        Signed gaps of B relative to A (module docstring): ``s >= 0`` B downstream with ``s``
        bases between, ``s < 0`` upstream with ``|s|`` bases between. Default ``range(-50, 51)``.
    orientations : sequence of {"++", "+-", "-+", "--"}
        Strand of A, then of B; default all four (:data:`xai_widgets.data.ORIENTATIONS`).
    position_a : int or None
        Start of A; default None: centred (``L // 2 - W_A // 2``).
    target : int, str or None
        The model output, by index or by name; default None: the model's only output (a
        multi-output model raises ValueError, naming its outputs: pass ``target=<index or name>``).
    batch_size : int, optional
        Default None: from the memory rule (:func:`xai_widgets._core.resolve_batch_size`).
        Edited sequences evaluated at once (see :func:`global_importance`).
    device : str or torch.device
        Default ``"auto"``: CUDA when available.
    ci : {"normal", "bootstrap"}
        95% intervals over backgrounds, default ``"normal"``; as in :func:`global_importance`.
    n_bootstrap : int
        Default 1000.
    min_denominator : float
        ``cooperativity`` is NaN where ``|effect_a + effect_b| < min_denominator``; default 1e-3.
    singles : bool
        Default True: also predict B alone at every position it takes (``effect_b``, ``cooperativity``).
        With False those are NaN and the sweep is faster (on the fast path B alone is then
        computed only as far as the ``bg + A + B`` windows reuse it).
    method : {"auto", "fast", "naive"}
        Default ``"auto"``: fast when possible. ``"fast"``: cached activations and windows
        around B (position-local models only); ``"naive"``: forward passes of the full edited
        sequences.
    random_state : int, numpy.random.Generator or None
        Seeds motif sampling and the bootstrap; default None (fresh entropy).
    progress : bool
        Show a progress bar over batches; default False.

    Returns
    -------
    SpacingSweepResult
    """
    check_ci(ci, n_bootstrap)
    orientations = _check_orientations(orientations)
    spacings = _check_spacings(spacings)
    if not min_denominator >= 0:
        raise ValueError(f"min_denominator must be >= 0; got {min_denominator!r}")
    check_method(method)
    device, n_outputs = prepare(model, backgrounds, device, batch_size)
    target = check_target(target, n_outputs)
    rng = np.random.default_rng(random_state)
    n, _, length = backgrounds.shape
    wa, wb = motif_width(motif_a), motif_width(motif_b)
    position_a = motif_start(position_a, width=wa, length=length, what="motif A")
    sites_a = motif_sites(motif_a, n, random_state=rng)
    sites_b = motif_sites(motif_b, n, random_state=rng)

    # geometry: B's start per (orientation, spacing); skip B off the sequence (or overlapping A)
    n_o, n_s = len(orientations), len(spacings)
    starts = torch.tensor([[b_start(position_a, int(s), orientation=o, width_a=wa, width_b=wb) for s in spacings]
                           for o in orientations], dtype=torch.long)
    valid = (starts >= 0) & (starts + wb <= length) & ((starts + wb <= position_a) | (starts >= position_a + wa))
    skipped = tuple((orientations[o], int(spacings[s])) for o, s in torch.nonzero(~valid).tolist())
    starts[~valid] = -1

    # references: bg, bg + A(+), bg + A(-); the sweep's edits write B into them
    a_strands = sorted({o[0] for o in orientations}, key="+-".index)
    refs = [backgrounds]
    for strand in a_strands:
        with_a = backgrounds.clone()
        with_a[:, :, position_a : position_a + wa] = orient(sites_a, strand)
        refs.append(with_a)

    # one family per (B strand, B start): B alone in bg, then bg + A + B for every orientation
    # and spacing that puts B there (partners of the B-alone lane: see _lanes.LaneEngine)
    b_sites = {strand: orient(sites_b, strand) for strand in sorted({o[1] for o in orientations})}
    families, keys = {}, {}
    for i, o in enumerate(orientations):
        for j in range(n_s):
            if valid[i, j]:
                key = (o[1], int(starts[i, j]))
                if key not in families:
                    families[key] = [Lane(0, key[1], b_sites[o[1]], needed=singles)]
                keys[i, j] = (key, len(families[key]))
                families[key].append(Lane(1 + a_strands.index(o[0]), key[1], b_sites[o[1]], partner=0))
    order = sorted(families, key=lambda k: ("+-".index(k[0]), k[1]))
    ref_out, outputs, choice = predict_lanes(model, refs, [families[k] for k in order], target=target,
                                             device=device, method=method, batch_size=batch_size, progress=progress,
                                             desc="sweep")
    outputs = dict(zip(order, outputs))
    reference = ref_out[0]
    a_effect = {strand: ref_out[1 + i] - reference for i, strand in enumerate(a_strands)}

    per_ab = torch.full((n, n_o, n_s), math.nan)
    per_b = torch.full((n, n_o, n_s), math.nan)
    per_a = torch.stack([a_effect[o[0]] for o in orientations], 1).float().cpu()
    for (i, j), (key, lane) in keys.items():
        per_ab[:, i, j] = (outputs[key][lane] - reference).float().cpu()
        per_b[:, i, j] = (outputs[key][0] - reference).float().cpu()
    effect, effect_ci = mean_ci(per_ab, ci, n_bootstrap, rng)
    effect_b, effect_b_ci = mean_ci(per_b, ci, n_bootstrap, rng)
    effect_a, effect_a_ci = mean_ci(per_a, ci, n_bootstrap, rng)
    denominator = effect_a[:, None] + effect_b
    cooperativity = torch.where(denominator.abs() >= min_denominator, effect / denominator,
                                torch.full_like(effect, math.nan))
    return SpacingSweepResult(orientations, spacings, position_a, starts, valid, skipped, effect, effect_ci, effect_a,
                              effect_a_ci, effect_b, effect_b_ci, cooperativity, per_ab, per_a, per_b,
                              reference.float().cpu(), (motif_name(motif_a), motif_name(motif_b)), ci,
                              choice.path)
