"""Filter ablation (the review's Fig. 2): silence first-layer filters and measure the change.

- :func:`ablate_filters`, :func:`predict_ablated`, :func:`mean_activations`: zero or
  mean-replace filters' activations (a forward hook on the activation module, so any model with
  such a layer works) and predict.
- :func:`filter_importance`: every filter in turn, scored by the drop of AUROC or Pearson r.
- :func:`redundant_filters`: pairs with matching motifs whose joint ablation costs more than
  either alone.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .._core import predict
from ..data.motifs import jaspar_motifs
from ..metrics import mean_metric
from ._common import model_method, prepare
from .filters import _activation_module, _activations, _filter_conv
from .tomtom import _as_motifs, _tomtom

ABLATION_MODES = ("zero", "mean")


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
    n = _filter_conv(model).out_channels
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
    intact = predict(model, X, batch_size=batch_size, device=device)
    predictions = predict_ablated(model, X, filters=filters, means=means if mode == "mean" else None,
                                  batch_size=batch_size, device=device)
    return AblationResult(filters, mode, predictions, intact)


@dataclass(frozen=True)
class FilterImportance:
    """The effect of ablating each first-layer filter alone.

    Attributes
    ----------
    intact_score : float
        Metric of the intact model (mean over outputs). ``reference_score``, its former name,
        still reads it (deprecated).
    scores : numpy.ndarray, shape (F,)
        Metric with filter ``f`` ablated.
    prediction_change : numpy.ndarray, shape (F,)
        Mean absolute change of the predictions.
    metric : {"auroc", "pearson"}
    mode : {"zero", "mean"}
    """

    intact_score: float
    scores: np.ndarray
    prediction_change: np.ndarray
    metric: str
    mode: str

    @property
    def drop(self) -> np.ndarray:
        """``intact_score - scores``: how much each filter is needed, ``(F,)``."""
        return self.intact_score - self.scores

    @property
    def reference_score(self) -> float:
        """Deprecated name of :attr:`intact_score` (``reference`` means DeepLIFT's reference sequences)."""
        warnings.warn("FilterImportance.reference_score is deprecated; use intact_score", FutureWarning, stacklevel=2)
        return self.intact_score

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
    intact = predict(model, X, batch_size=batch_size, device=device)
    n_filters = _filter_conv(model).out_channels
    scores, change = np.zeros(n_filters), np.zeros(n_filters)
    for f in tqdm(range(n_filters), desc="ablating filters", disable=not progress):
        predictions = predict_ablated(model, X, filters=[f], means=means, batch_size=batch_size, device=device)
        scores[f] = mean_metric(predictions, y, metric=metric)
        change[f] = float((predictions - intact).abs().mean())
    return FilterImportance(mean_metric(intact, y, metric=metric), scores, change, metric, mode)


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
        joint = importance.intact_score - mean_metric(predictions, y, metric=importance.metric)
        singles = (float(importance.drop[i]), float(importance.drop[j]))
        if joint >= min_joint_drop and joint > factor * max(max(singles), 0.0):
            pairs.append(RedundantPair((int(i), int(j)), float(p_values[i, j]), singles, float(joint)))
    return sorted(pairs, key=lambda pair: -pair.joint_drop)
