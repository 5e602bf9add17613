"""Evaluation metrics in plain torch: AUROC (with ties), average precision, Pearson and Spearman r,
and their mean over a model's outputs (:func:`mean_metric`).

Used for model cards, the ground-truth tests and the benchmarks; no scikit-learn needed.
"""

from __future__ import annotations

import torch


def _as_float64(x) -> torch.Tensor:
    return torch.as_tensor(x).detach().cpu().to(torch.float64)


def auroc(scores, labels) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (1-D, same length).

    Ties get their average rank (the Mann-Whitney U statistic), so constant scores give 0.5.
    Returns NaN when only one class is present.
    """
    s, y = _as_float64(scores).flatten(), _as_float64(labels).flatten().bool()
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in size: {s.numel()} vs {y.numel()}")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def rankdata(x) -> torch.Tensor:
    """Ranks 1..n of a 1-D array, ties getting their average rank (as ``scipy.stats.rankdata``)."""
    s = _as_float64(x).flatten()
    order = torch.argsort(s)
    _, inverse, counts = torch.unique_consecutive(s[order], return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).to(torch.float64)
    ranks = torch.empty_like(s)
    ranks[order] = (ends - (counts.to(torch.float64) - 1) / 2)[inverse]
    return ranks


def spearman(x, y) -> float:
    """Spearman rank correlation: Pearson r of the tie-averaged ranks; NaN if either is constant."""
    return pearson(rankdata(x), rankdata(y))


def average_precision(scores, labels) -> float:
    """Average precision (area under the precision-recall curve, step-wise)."""
    s, y = _as_float64(scores).flatten(), _as_float64(labels).flatten()
    if y.sum() == 0:
        return float("nan")
    order = torch.argsort(s, descending=True, stable=True)
    y = y[order]
    hits = torch.cumsum(y, 0)
    precision = hits / torch.arange(1, len(y) + 1, dtype=torch.float64)
    return float((precision * y).sum() / y.sum())


def pearson(x, y) -> float:
    """Pearson correlation of two 1-D arrays."""
    x, y = _as_float64(x).flatten(), _as_float64(y).flatten()
    x, y = x - x.mean(), y - y.mean()
    denom = torch.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else float("nan")


def per_sequence_auroc(scores, mask) -> torch.Tensor:
    """AUROC of each row of ``scores (N, L)`` against the boolean ground truth ``mask (N, L)``.

    Rows whose mask is all true or all false give NaN.
    """
    scores, mask = torch.as_tensor(scores), torch.as_tensor(mask)
    if scores.shape != mask.shape or scores.ndim != 2:
        raise ValueError(f"scores and mask must both be (N, L); got {tuple(scores.shape)} and {tuple(mask.shape)}")
    return torch.tensor([auroc(s, m) for s, m in zip(scores, mask)], dtype=torch.float64)


METRICS = ("auroc", "pearson")


def mean_metric(predictions, y, *, metric: str = "auroc") -> float:
    """Mean over outputs of AUROC (classification) or Pearson r (regression).

    Parameters
    ----------
    predictions, y : torch.Tensor, shape (N, T)
        Predictions and labels.
    metric : {"auroc", "pearson"}, optional
        Default ``"auroc"``.

    Returns
    -------
    float
        The mean over the ``T`` outputs, ignoring NaN (an output with one class only); NaN
        when every output is NaN.

    Raises
    ------
    ValueError
        For another ``metric``.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}; got {metric!r}")
    function = auroc if metric == "auroc" else pearson
    predictions, y = torch.as_tensor(predictions), torch.as_tensor(y)
    values = torch.tensor([function(predictions[:, t], y[:, t]) for t in range(y.shape[1])], dtype=torch.float64)
    return float(values.nanmean())
