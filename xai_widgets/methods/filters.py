"""Model-based interpretation (the review's Fig. 2): first-layer filters as motifs, their
annotation against JASPAR with Tomtom, and filter ablation.

- :func:`filters_from_weights`: PPMs from the weights (a softmax per position; scale caveat).
- :func:`filters_from_activations`: PPMs from the aligned subsequences that activate each filter
  above a fraction of its maximum over a data set (Kelley et al. 2016; Koo & Eddy 2019).
- :func:`tomtom_matches`: Tomtom (memelite) p-values, E-values (p x number of targets) and
  q-values (Benjamini-Hochberg per query) against JASPAR 2024 CORE vertebrates or any motifs,
  with Pearson-correlation column similarity; queries that carry too little information to
  match anything (:func:`is_informative`) get no matches.
- :func:`ablate_filters`, :func:`filter_importance`, :func:`redundant_filters`: zero or
  mean-replace filters' activations and measure the change in predictions and AUROC.
- :func:`unit_summaries`: an ExplaiNN-style model's units read directly.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .._core import predict, resolve_batch_size
from ..data.motifs import Motif, jaspar_motifs
from ..metrics import auroc, pearson
from ._common import model_method, prepare

ABLATION_MODES = ("zero", "mean")


def first_layer(model: nn.Module) -> nn.Conv1d:
    """The convolution that reads the one-hot input (``model.first_conv`` or the first
    ``Conv1d`` with 4 input channels)."""
    conv = getattr(model, "first_conv", None)
    if conv is None:
        conv = next((m for m in model.modules() if isinstance(m, nn.Conv1d) and m.in_channels == 4), None)
    if conv is None:
        raise ValueError(f"{type(model).__name__} has no Conv1d reading the 4 input channels: no filters to read")
    if conv.stride[0] != 1 or conv.dilation[0] != 1 or conv.groups != 1:
        raise ValueError("filter motifs need a first convolution with stride 1, dilation 1 and groups 1")
    return conv


def _activation_module(model: nn.Module) -> tuple[nn.Module, bool]:
    """The module whose output is the first layer's activation, and whether ReLU must follow.

    Zoo models name it ``act1`` (after the first convolution and its batch norm); for other
    models the first convolution's output is used, rectified.
    """
    act = getattr(model, "act1", None)
    return (act, False) if isinstance(act, nn.Module) else (first_layer(model), True)


def filters_from_weights(model: nn.Module, *, beta: float = 1.0) -> list[Motif]:
    """Each first-layer filter as a PPM: ``softmax(beta * W)`` over the bases at each position.

    Caveat (Novakovsky et al. 2022, Fig. 2): a filter's weights have no absolute scale (a batch
    norm or the next layer can absorb any factor), so ``beta`` sets the motif's information
    content arbitrarily; compare shapes, not IC. :func:`filters_from_activations` avoids this.

    Parameters
    ----------
    model : torch.nn.Module
        Its first layer is a ``Conv1d`` over the 4 bases (:func:`first_layer`).
    beta : float, optional
        Default 1.0. Inverse temperature of the softmax.

    Returns
    -------
    list of Motif
        ``filter_<i>``, shape (4, W) each, ``n_sites = 0``.
    """
    weights = first_layer(model).weight.detach().cpu().double()
    ppms = torch.softmax(beta * weights, dim=1).numpy()
    return [Motif(f"filter_{i}", ppm) for i, ppm in enumerate(ppms)]


def _activations(model, X, batch_size, device):
    """Yield ``(start, activations (B, F, L'))`` of the first layer for batches of ``X``."""
    batch_size = resolve_batch_size(batch_size, model, X, device)
    module, rectify = _activation_module(model)
    captured = {}
    handle = module.register_forward_hook(lambda _m, _i, out: captured.__setitem__("out", out))
    try:
        with torch.no_grad():
            for start in range(0, X.shape[0], batch_size):
                model(X[start : start + batch_size].to(device))
                out = captured["out"]
                yield start, (out.clamp_min(0) if rectify else out).float()
    finally:
        handle.remove()


@model_method
def filters_from_activations(model: nn.Module, X: torch.Tensor, *, threshold: float = 0.5, top_k: int = 10,
                             pseudocount: float = 0.1, batch_size: int | None = None, device="auto",
                             progress: bool = False) -> list[Motif]:
    """PPMs from the subsequences that activate each first-layer filter.

    A window counts when the filter's activation there exceeds ``threshold`` times the
    filter's maximum over ``X``; the windows (one filter width, aligned by the convolution)
    are counted base by base.

    Parameters
    ----------
    model : torch.nn.Module
    X : torch.Tensor, shape (N, 4, L)
        The sequences to scan (e.g. a held-out split).
    threshold : float, optional
        Default 0.5 (the usual choice). Fraction of the maximum activation, in (0, 1].
    top_k : int, optional
        Default 10. How many of the most activating sites to keep in ``meta["top_sites"]``.
    pseudocount : float, optional
        Default 0.1. Added to every count before normalising.
    batch_size : int or None, optional
        Default None: from the memory rule (:func:`xai_widgets._core.resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.
    progress : bool, optional
        Default False. Show a progress bar.

    Returns
    -------
    list of Motif
        ``filter_<i>`` with ``n_sites`` windows; ``meta`` holds ``max_activation`` and
        ``top_sites``: ``[(sequence, start, activation), ...]`` with ``start`` the window's
        first input position (may be negative or run past the end where the convolution pads).
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1]; got {threshold}")
    device, _ = prepare(model, X, device, batch_size, probe=False)
    conv = first_layer(model)
    if isinstance(conv.padding, str):
        raise ValueError("filters_from_activations needs integer padding on the first convolution")
    width, pad = conv.kernel_size[0], conv.padding[0]
    n_filters = conv.out_channels
    maximum = torch.full((n_filters,), -torch.inf)
    top_value = torch.full((n_filters, top_k), -torch.inf)
    top_index = torch.zeros((n_filters, top_k), dtype=torch.long)
    bar = tqdm(total=2 * X.shape[0], desc="filter activations", unit="seq", disable=not progress)
    n_out = None
    for start, act in _activations(model, X, batch_size, device):
        act = act.cpu()
        n_out = act.shape[2]
        maximum = torch.maximum(maximum, act.amax(dim=(0, 2)))
        flat = act.permute(1, 0, 2).reshape(n_filters, -1)  # (F, B * L')
        k = min(top_k, flat.shape[1])
        values, index = flat.topk(k, dim=1)
        merged_v = torch.cat([top_value, values], 1)
        merged_i = torch.cat([top_index, index + start * n_out], 1)
        top_value, order = merged_v.topk(top_k, dim=1)
        top_index = merged_i.gather(1, order)
        bar.update(act.shape[0])
    counts = torch.zeros(n_filters, 4, width, dtype=torch.float64)
    n_sites = torch.zeros(n_filters, dtype=torch.long)
    cutoff = threshold * maximum.clamp_min(1e-12)
    for start, act in _activations(model, X, batch_size, device):
        x = X[start : start + act.shape[0]]
        windows = nn.functional.pad(x, (pad, pad)).unfold(2, width, 1)  # (B, 4, L', W), aligned with act
        hits = (act.cpu() > cutoff[None, :, None]).to(windows.dtype)  # (B, F, L')
        counts += torch.einsum("bfj,bcjw->fcw", hits, windows).double()
        n_sites += hits.sum(dim=(0, 2)).long()
        bar.update(act.shape[0])
    bar.close()
    motifs = []
    for f in range(n_filters):
        sites = [(int(i) // n_out, int(i) % n_out - pad, float(v)) for v, i in zip(top_value[f], top_index[f])
                 if torch.isfinite(v)]
        motif = Motif.from_counts(f"filter_{f}", counts[f].numpy() + pseudocount)
        motifs.append(Motif(motif.name, motif.probabilities, n_sites=int(n_sites[f]),
                            meta={"max_activation": float(maximum[f]), "top_sites": sites}))
    return motifs


MIN_QUERY_BITS = 4.0
"""A query motif is informative only with at least this total information content (bits).

A site of 4 bits occurs by chance once every 16 bp; every JASPAR 2024 CORE vertebrate matrix
carries at least 6.0 bits (the median 12.4)."""
INFORMATIVE_COLUMN_BITS = 1.0
MIN_INFORMATIVE_COLUMNS = 2
"""... and at least this many columns of at least ``INFORMATIVE_COLUMN_BITS`` bits each (every
JASPAR 2024 CORE vertebrate matrix has at least 3): one strong column is not a motif."""
SIGNIFICANT_E_VALUE = 0.1
"""A match is reported as significant (a tile label, planted-motif recovery) below this E-value."""


def is_informative(motif) -> bool:
    """Whether a motif carries enough information to be compared with a database.

    Informative: total information content >= :data:`MIN_QUERY_BITS` (4 bits) and at least
    :data:`MIN_INFORMATIVE_COLUMNS` (2) columns of >= :data:`INFORMATIVE_COLUMN_BITS` (1 bit)
    each, against a uniform background. A dead filter (all-zero weights: a uniform PPM), a
    single strong column in uniform flanks, or a flat random matrix is not.

    Parameters
    ----------
    motif : Motif or array, shape (4, W)
    """
    motif = motif if isinstance(motif, Motif) else Motif("query", np.asarray(motif))
    bits = motif.information_content()
    return bool(bits.sum() >= MIN_QUERY_BITS and (bits >= INFORMATIVE_COLUMN_BITS).sum() >= MIN_INFORMATIVE_COLUMNS)


@dataclass(frozen=True)
class MotifMatch:
    """One Tomtom match of a query motif against a target.

    Attributes
    ----------
    query : str
    target : str
        Target name (e.g. ``"CEBPB"``).
    target_id : str
        Target matrix id (e.g. ``"MA0466.4"``).
    p_value, e_value, q_value : float
        Tomtom p-value; E = p x number of targets; q = Benjamini-Hochberg over this query's
        p-values against all targets.
    offset : int
        memelite's offset of the alignment.
    strand : {"+", "-"}
        ``"-"``: the query matches the target's reverse complement.
    """

    query: str
    target: str
    target_id: str
    p_value: float
    e_value: float
    q_value: float
    offset: int
    strand: str


class QueryMatches(list):
    """One query's :class:`MotifMatch` rows, best first (a list), and whether the query could match.

    Attributes
    ----------
    query : str
    information_content : float
        The query's total information content, bits.
    informative : bool
        :func:`is_informative`; ``False`` means the query was not compared and the list is empty.
    """

    def __init__(self, matches=(), *, query: str, information_content: float, informative: bool):
        super().__init__(matches)
        self.query, self.information_content, self.informative = query, information_content, informative

    def __repr__(self) -> str:
        return (f"QueryMatches({list.__repr__(self)}, query={self.query!r}, "
                f"information_content={self.information_content:.2f}, informative={self.informative})")


def _benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """q-values of the p-values along the last axis."""
    n = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, -1) * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1].clip(max=1.0)
    out = np.empty_like(q)
    np.put_along_axis(out, order, q, -1)
    return out


def _as_motifs(motifs, kind: str) -> list[Motif]:
    motifs = list(motifs.values()) if isinstance(motifs, dict) else list(motifs)
    if not motifs:
        raise ValueError(f"no {kind} motifs given")
    return [m if isinstance(m, Motif) else Motif(f"{kind}_{i}", np.asarray(m)) for i, m in enumerate(motifs)]


def _pearson_columns(ppm: np.ndarray) -> np.ndarray:
    """Each column centred and scaled to unit length; a constant column becomes zeros.

    For two such columns the squared Euclidean distance is ``2 - 2 r``, r their Pearson
    correlation, so memelite's Euclidean Tomtom ranks column pairs by r (MEME Tomtom's default
    column similarity). A constant column (r undefined) is at distance 1 from every other
    column: after Tomtom's per-column median shift it scores 0, evidence neither way.
    """
    centred = ppm - ppm.mean(0, keepdims=True)
    norm = np.linalg.norm(centred, axis=0, keepdims=True)
    return np.where(norm > 1e-9, centred / np.where(norm > 1e-9, norm, 1.0), 0.0)


def _tomtom(queries: list[Motif], targets: list[Motif]):
    """memelite's Tomtom on Pearson columns: ``(p_values (Q, T), offsets, strands, informative (Q,))``.

    Uninformative queries (:func:`is_informative`) are not compared: p = 1, offset 0, "+".
    """
    from memelite import tomtom

    informative = np.array([is_informative(q) for q in queries])
    p_values = np.ones((len(queries), len(targets)))
    offsets = np.zeros((len(queries), len(targets)), dtype=int)
    strands = np.zeros((len(queries), len(targets)), dtype=bool)
    rows = np.flatnonzero(informative)
    if len(rows):
        p, _scores, off, _overlaps, strand = tomtom([_pearson_columns(queries[i].probabilities) for i in rows],
                                                    [_pearson_columns(t.probabilities) for t in targets])
        p_values[rows], offsets[rows], strands[rows] = p, off, strand.astype(bool)
    return p_values, offsets, strands, informative


def tomtom_matches(queries, database=None, *, n_best: int = 3, max_e_value: float | None = None) -> list[QueryMatches]:
    """Compare motifs with Tomtom (memelite's implementation) and keep each query's best matches.

    Parameters
    ----------
    queries : list of Motif or array (4, W), or dict of Motif
        E.g. the output of :func:`filters_from_activations`.
    database : list or dict of Motif, optional
        The motif database searched; default None: all JASPAR 2024 CORE vertebrate matrices
        (879, shipped with pyjaspar: offline).
    n_best : int, optional
        Default 3. Matches kept per query, best p-value first.
    max_e_value : float or None, optional
        Default None: keep every match; else drop matches with a larger E-value.

    Returns
    -------
    list of QueryMatches
        One list of :class:`MotifMatch` per query, with the query's ``informative`` flag. An
        uninformative query (:func:`is_informative`: under 4 bits in all, or under 2 columns of
        1 bit) is not compared and gets an empty list.

    Notes
    -----
    Column similarity is the Pearson correlation of the two columns (MEME Tomtom's default),
    computed by memelite's Euclidean kernels on centred unit-length columns
    (``||a - b||^2 = 2 - 2 r``; the column score is ``-sqrt(2 - 2 r)``, a monotone function of
    r, where MEME sums r itself). memelite's plain Euclidean distance on probabilities ranks a
    flat query column closest to the flattest target columns, and Tomtom's null treats target
    columns as independent draws, while JASPAR's long matrices hold runs of near-uniform columns
    (CTCF MA1930.2: ten columns of 0.01 to 0.2 bits between its two halves). A uniform query
    therefore matched CTCF with E = 2e-12, and 83 % of random matrices of 0.45 bits per column
    had a match at E < 0.1. Correlation ignores a column's scale, so flat query columns no longer
    prefer flat target columns (a constant one scores 0 against all), and the rate of random
    matrices with any match at E < 0.1 stays below the nominal 0.1
    (``tests/methods/test_tomtom_calibration.py``).

    The first call compiles memelite's numba code (about a minute on 2 cores; cached on disk
    afterwards): :func:`warm_up` does it ahead of time, as ``make`` and ``binder/postBuild`` do.
    """
    queries = _as_motifs(queries, "query")
    targets = _as_motifs(jaspar_motifs() if database is None else database, "database")
    p_values, offsets, strands, informative = _tomtom(queries, targets)
    q_values = _benjamini_hochberg(p_values)
    results = []
    for i, query in enumerate(queries):
        best = np.argsort(p_values[i], kind="stable")[:n_best] if informative[i] else []
        matches = [MotifMatch(query.name, targets[j].name, targets[j].matrix_id, float(p_values[i, j]),
                              float(p_values[i, j] * len(targets)), float(q_values[i, j]), int(offsets[i, j]),
                              "-" if strands[i, j] else "+") for j in best]
        results.append(QueryMatches([m for m in matches if max_e_value is None or m.e_value <= max_e_value],
                                    query=query.name, information_content=float(query.information_content().sum()),
                                    informative=bool(informative[i])))
    return results


def warm_up() -> None:
    """Compile memelite's Tomtom (numba, cached on disk) so that the first real call is fast."""
    rng = np.random.default_rng(0)
    motifs = [Motif(f"m{i}", rng.dirichlet(np.ones(4), size=8).T) for i in range(30)]
    _tomtom([Motif.from_consensus("q0", "ACGTTGCA"), Motif.from_consensus("q1", "GGGACTTT")], motifs)


@contextmanager
def _ablated(model: nn.Module, filters, replacement: torch.Tensor | None):
    """Within the block, the first layer's activations of ``filters`` are zero (or replaced)."""
    module, _ = _activation_module(model)
    index = torch.as_tensor(list(filters), dtype=torch.long)

    def hook(_module, _inputs, out):
        out = out.clone()
        out[:, index] = 0.0 if replacement is None else replacement[index].to(out)[None, :, None]
        return out

    handle = module.register_forward_hook(hook) if len(index) else None
    try:
        yield
    finally:
        if handle is not None:
            handle.remove()


@model_method
def mean_activations(model: nn.Module, X: torch.Tensor, *, batch_size: int | None = None,
                     device="auto") -> torch.Tensor:
    """Each first-layer filter's mean activation over ``X`` (sequences and positions), ``(F,)``.

    Parameters
    ----------
    model, X, batch_size, device
        As in :func:`predict_ablated`, with the same defaults: ``batch_size`` None (the memory
        rule), ``device`` ``"auto"``.
    """
    device, _ = prepare(model, X, device, batch_size, probe=False)
    total, count = 0.0, 0
    for _, act in _activations(model, X, batch_size, device):
        total = total + act.sum(dim=(0, 2)).cpu()
        count += act.shape[0] * act.shape[2]
    return total / count


@model_method
def predict_ablated(model: nn.Module, X: torch.Tensor, *, filters, means: torch.Tensor | None = None,
                    batch_size: int | None = None, device="auto") -> torch.Tensor:
    """Predictions ``(N, T)`` with first-layer ``filters`` silenced: activations set to 0, or to
    ``means[f]`` when ``means (F,)`` is given (see :func:`mean_activations`).

    Parameters
    ----------
    model, X, filters
        As in :func:`ablate_filters`.
    means : torch.Tensor, shape (F,), optional
        Default None: set the activations to 0.
    batch_size, device : optional
        Defaults None (the memory rule) and ``"auto"``.
    """

    with _ablated(model, _check_filters(model, filters), means):
        return predict(model, X, batch_size=batch_size, device=device)


@dataclass(frozen=True)
class AblationResult:
    """Predictions with some first-layer filters ablated.

    Attributes
    ----------
    filters : tuple of int
    mode : {"zero", "mean"}
    predictions : torch.Tensor, shape (N, T)
        With the filters ablated.
    intact : torch.Tensor, shape (N, T)
        Predictions of the intact model.
    """

    filters: tuple
    mode: str
    predictions: torch.Tensor
    intact: torch.Tensor

    @property
    def delta(self) -> torch.Tensor:
        """``predictions - intact``, ``(N, T)``."""
        return self.predictions - self.intact


def _check_filters(model: nn.Module, filters) -> tuple:
    n = first_layer(model).out_channels
    filters = tuple(int(f) for f in ([filters] if isinstance(filters, (int, np.integer)) else filters))
    bad = [f for f in filters if not 0 <= f < n]
    if bad:
        raise ValueError(f"filter indices {bad} are out of range: the first layer has {n} filters")
    return filters


@model_method
def ablate_filters(model: nn.Module, X: torch.Tensor, *, filters, mode: str = "zero", means=None,
                   batch_size: int | None = None, device="auto") -> AblationResult:
    """Predict with first-layer filters silenced: their activations set to 0 or to their mean.

    Parameters
    ----------
    model : torch.nn.Module
    X : torch.Tensor, shape (N, 4, L)
    filters : int or iterable of int
        First-layer filters to silence (required).
    mode : {"zero", "mean"}, optional
        Default ``"zero"``. ``"mean"`` replaces by the filter's mean activation (``means``, or
        computed over ``X``), which removes the filter's information but not its average input
        to the next layer.
    means : torch.Tensor, shape (F,), optional
        Default None: computed over ``X`` when ``mode="mean"``.
    batch_size : int or None, optional
        Default None: from the memory rule (:func:`xai_widgets._core.resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.

    Returns
    -------
    AblationResult
    """
    if mode not in ABLATION_MODES:
        raise ValueError(f"mode must be one of {ABLATION_MODES}; got {mode!r}")
    filters = _check_filters(model, filters)
    device, _ = prepare(model, X, device, batch_size, probe=False)

    if mode == "mean" and means is None:
        means = mean_activations(model, X, batch_size=batch_size, device=device)
    reference = predict(model, X, batch_size=batch_size, device=device)
    predictions = predict_ablated(model, X, filters=filters, means=means if mode == "mean" else None,
                                  batch_size=batch_size, device=device)
    return AblationResult(filters, mode, predictions, reference)


def mean_metric(predictions: torch.Tensor, y: torch.Tensor, *, metric: str = "auroc") -> float:
    """Mean over outputs of AUROC (classification) or Pearson r (regression).

    Parameters
    ----------
    predictions, y : torch.Tensor, shape (N, T)
        Predictions and labels.
    metric : {"auroc", "pearson"}, optional
        Default ``"auroc"``.
    """
    function = auroc if metric == "auroc" else pearson
    values = [function(predictions[:, t], y[:, t]) for t in range(y.shape[1])]
    return float(np.nanmean(values))


@dataclass(frozen=True)
class FilterImportance:
    """The effect of ablating each first-layer filter alone.

    Attributes
    ----------
    reference_score : float
        Metric of the intact model (mean over outputs).
    scores : numpy.ndarray, shape (F,)
        Metric with filter ``f`` ablated.
    prediction_change : numpy.ndarray, shape (F,)
        Mean absolute change of the predictions.
    metric : {"auroc", "pearson"}
    mode : {"zero", "mean"}
    """

    reference_score: float
    scores: np.ndarray
    prediction_change: np.ndarray
    metric: str
    mode: str

    @property
    def drop(self) -> np.ndarray:
        """``reference_score - scores``: how much each filter is needed, ``(F,)``."""
        return self.reference_score - self.scores

    @property
    def order(self) -> np.ndarray:
        """Filter indices from the most to the least important (by ``drop``, then prediction change)."""
        return np.lexsort((-self.prediction_change, -self.drop))


@model_method
def filter_importance(model: nn.Module, X: torch.Tensor, *, y: torch.Tensor, metric: str | None = None,
                      mode: str = "zero", batch_size: int | None = None, device="auto",
                      progress: bool = False) -> FilterImportance:
    """Ablate every first-layer filter in turn and measure the metric on ``(X, y)``.

    Parameters
    ----------
    model : torch.nn.Module
    X : torch.Tensor, shape (N, 4, L)
        Held-out sequences.
    y : torch.Tensor, shape (N, T)
        Their labels (binary for ``"auroc"``, values for ``"pearson"``).
    metric : {"auroc", "pearson"} or None, optional
        Default None: ``"auroc"`` when every label is 0 or 1 (classification), else
        ``"pearson"`` (regression, e.g. DeepSTARR's activities).
    mode : {"zero", "mean"}, optional
        Default ``"zero"``; as in :func:`ablate_filters`.
    batch_size, device, progress : optional
        Defaults None (the memory rule), ``"auto"`` and False (no progress bar over filters).

    Returns
    -------
    FilterImportance
    """
    y = torch.as_tensor(y).reshape(len(X), -1)
    if metric is None:
        metric = "auroc" if bool(((y == 0) | (y == 1)).all()) else "pearson"
    if metric not in ("auroc", "pearson"):
        raise ValueError(f"metric must be 'auroc' or 'pearson'; got {metric!r}")
    if mode not in ABLATION_MODES:
        raise ValueError(f"mode must be one of {ABLATION_MODES}; got {mode!r}")
    device, _ = prepare(model, X, device, batch_size, probe=False)
    means = mean_activations(model, X, batch_size=batch_size, device=device) if mode == "mean" else None
    reference = predict(model, X, batch_size=batch_size, device=device)
    n_filters = first_layer(model).out_channels
    scores, change = np.zeros(n_filters), np.zeros(n_filters)
    for f in tqdm(range(n_filters), desc="ablating filters", disable=not progress):
        predictions = predict_ablated(model, X, filters=[f], means=means, batch_size=batch_size, device=device)
        scores[f] = mean_metric(predictions, y, metric=metric)
        change[f] = float((predictions - reference).abs().mean())
    return FilterImportance(mean_metric(reference, y, metric=metric), scores, change, metric, mode)


@dataclass(frozen=True)
class RedundantPair:
    """Two filters with similar motifs that can stand in for each other.

    Attributes
    ----------
    filters : tuple of int
    similarity_p : float
        Tomtom p-value of one filter's motif against the other's.
    single_drops : tuple of float
        Metric drop when each is ablated alone.
    joint_drop : float
        Metric drop when both are ablated.
    """

    filters: tuple
    similarity_p: float
    single_drops: tuple
    joint_drop: float


@model_method
def redundant_filters(model: nn.Module, X: torch.Tensor, *, y: torch.Tensor, motifs, importance: FilterImportance,
                      max_p: float = 1e-3, min_joint_drop: float = 0.005, factor: float = 2.0,
                      batch_size: int | None = None, device="auto") -> list[RedundantPair]:
    """Pairs of filters whose motifs match each other (Tomtom ``p < max_p``) and whose joint
    ablation costs more than ``factor`` times either single ablation (and at least
    ``min_joint_drop``): each covers for the other.

    Parameters
    ----------
    model, X, y
        As in :func:`filter_importance`.
    motifs : list of Motif
        The filters' motifs (e.g. from :func:`filters_from_activations`), one per filter.
    importance : FilterImportance
        Single-filter results on the same data.
    max_p : float, optional
        Default 1e-3. Tomtom p-value below which two filters' motifs match.
    min_joint_drop : float, optional
        Default 0.005. Smallest drop of the metric when both are ablated.
    factor : float, optional
        Default 2.0. The joint drop must exceed ``factor`` times either single drop.
    batch_size : int or None, optional
        Default None: from the memory rule (:func:`xai_widgets._core.resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.

    Returns
    -------
    list of RedundantPair
        Sorted by joint drop, largest first.
    """
    motifs = _as_motifs(motifs, "filter")
    # filters against filters, with JASPAR's columns added to Tomtom's background; an
    # uninformative filter (p = 1) is redundant with nothing
    p_values = _tomtom(motifs, motifs + jaspar_motifs())[0][:, : len(motifs)]
    y = torch.as_tensor(y).reshape(len(X), -1)
    means = None if importance.mode == "zero" else mean_activations(model, X, batch_size=batch_size, device=device)
    pairs = []
    for i, j in zip(*np.nonzero(np.triu(p_values < max_p, k=1))):
        predictions = predict_ablated(model, X, filters=[i, j], means=means, batch_size=batch_size, device=device)
        joint = importance.reference_score - mean_metric(predictions, y, metric=importance.metric)
        singles = (float(importance.drop[i]), float(importance.drop[j]))
        if joint >= min_joint_drop and joint > factor * max(max(singles), 0.0):
            pairs.append(RedundantPair((int(i), int(j)), float(p_values[i, j]), singles, float(joint)))
    return sorted(pairs, key=lambda pair: -pair.joint_drop)


@dataclass(frozen=True)
class UnitSummary:
    """One unit of an ExplaiNN-style model, read directly.

    Attributes
    ----------
    unit : int
    motif : Motif
        The unit's filter as a motif (from activations when data were given, else weights).
    matches : list of MotifMatch
        Best JASPAR matches.
    output_weights : numpy.ndarray, shape (T,)
        The unit's weight in each output (the model is linear in the unit outputs).
    contribution_auroc : numpy.ndarray or None, shape (T,)
        With labels: AUROC of the unit's contribution (unit output x weight) to each output
        against that output's labels; 0.5 means the unit says nothing about it.
    """

    unit: int
    motif: Motif
    matches: list
    output_weights: np.ndarray
    contribution_auroc: np.ndarray | None = None


@model_method
def unit_summaries(model: nn.Module, X: torch.Tensor | None = None, *, y: torch.Tensor | None = None, database=None,
                   n_best: int = 1, batch_size: int | None = None, device="auto",
                   progress: bool = False) -> list[UnitSummary]:
    """Each unit of a transparent (ExplaiNN-style) model: its motif, JASPAR match and output weights.

    Parameters
    ----------
    model : torch.nn.Module
        Needs ``unit_outputs`` and a final ``output`` Linear (zoo ``explainn``).
    X : torch.Tensor, shape (N, 4, L), optional
        Default None: motifs from the weights. Sequences for activation-based motifs.
    y : torch.Tensor, shape (N, T), optional
        Default None. Binary labels of ``X``: adds each unit's ``contribution_auroc``.
    database : list of Motif, optional
        Default None: JASPAR 2024 CORE vertebrates. The Tomtom database (:func:`tomtom_matches`).
    n_best : int, optional
        Default 1. Matches kept per unit.
    batch_size : int or None, optional
        Default None: from the memory rule.
    device : str or torch.device, optional
        Default ``"auto"``.
    progress : bool, optional
        Default False. Show a progress bar.

    Returns
    -------
    list of UnitSummary
        One per unit.
    """
    if not hasattr(model, "unit_outputs") or not isinstance(getattr(model, "output", None), nn.Linear):
        raise ValueError(f"{type(model).__name__} is not an ExplaiNN-style model (needs unit_outputs and a "
                         "linear output layer)")
    motifs = (filters_from_weights(model) if X is None else
              filters_from_activations(model, X, batch_size=batch_size, device=device, progress=progress))
    matches = tomtom_matches(motifs, database, n_best=n_best)
    weights = model.output.weight.detach().cpu().numpy().T  # (units, T)
    aurocs = [None] * len(motifs)
    if X is not None and y is not None:
        device, _ = prepare(model, X, device, batch_size, probe=False)
        with torch.no_grad():
            batch_size = resolve_batch_size(batch_size, model, X, device)
            outputs = torch.cat([model.unit_outputs(X[i : i + batch_size].to(device)).cpu()
                                 for i in range(0, len(X), batch_size)]).numpy()  # (N, units)
        y = torch.as_tensor(y).reshape(len(X), -1)
        aurocs = [np.array([auroc(outputs[:, u] * weights[u, t], y[:, t]) for t in range(y.shape[1])])
                  for u in range(len(motifs))]
    return [UnitSummary(u, motifs[u], matches[u], weights[u], aurocs[u]) for u in range(len(motifs))]


def planted_e_values(motifs, planted, *, database=None) -> dict:
    """Tomtom E-value of every filter motif against each planted motif's own matrix.

    Parameters
    ----------
    motifs : list of Motif
        Filter motifs (e.g. :func:`filters_from_activations`).
    planted : dict of str to Motif
        The planted motifs (``task.motifs``), each with a ``matrix_id`` present in ``database``.
    database : list of Motif, optional
        The database searched; default None: JASPAR 2024 CORE vertebrates. E = p x its size.

    Returns
    -------
    dict
        ``{name: numpy.ndarray (F,)}``; ``inf`` for an uninformative filter motif
        (:func:`is_informative`). Column similarity as in :func:`tomtom_matches`.
    """
    targets = _as_motifs(jaspar_motifs() if database is None else database, "database")
    ids = [t.matrix_id for t in targets]
    missing = [name for name, m in planted.items() if m.matrix_id not in ids]
    if missing:
        raise ValueError(f"planted motifs {missing} are not in the database (matched by matrix_id)")
    p_values, _offsets, _strands, informative = _tomtom(_as_motifs(motifs, "query"), targets)
    e_values = np.where(informative[:, None], p_values * len(targets), np.inf)
    return {name: e_values[:, ids.index(m.matrix_id)] for name, m in planted.items()}


def planted_motif_recovery(motifs, planted, *, database=None, max_e_value: float = SIGNIFICANT_E_VALUE) -> dict:
    """Which planted motifs some filter recovers: Tomtom E < ``max_e_value`` against the planted
    motif's own matrix in the whole database (the criterion of Koo & Eddy 2019).

    Parameters
    ----------
    motifs, planted, database
        As in :func:`planted_e_values` (``database`` default None: JASPAR 2024 CORE vertebrates).
    max_e_value : float, optional
        Default 0.1 (:data:`SIGNIFICANT_E_VALUE`).

    Returns
    -------
    dict
        ``{name: (filter index, E-value)}`` for the best filter of each planted motif, or
        ``{name: None}`` when no filter reaches ``max_e_value``. Arguments as in
        :func:`planted_e_values`.
    """
    result = {}
    for name, e_values in planted_e_values(motifs, planted, database=database).items():
        best = int(e_values.argmin())
        result[name] = (best, float(e_values[best])) if e_values[best] < max_e_value else None
    return result
