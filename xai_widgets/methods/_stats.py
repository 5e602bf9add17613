"""Confidence intervals of means over backgrounds (global importance analysis, spacing sweeps)."""

from __future__ import annotations

import math

import numpy as np
import torch

CI_METHODS = ("normal", "bootstrap")
"""How :func:`mean_ci` computes a 95% interval."""
Z_95 = 1.959963984540054
"""The 97.5% quantile of the standard normal distribution."""


def mean_ci(values: torch.Tensor, ci: str, n_bootstrap: int, rng: np.random.Generator):
    """Mean over axis 0 and a 95% confidence interval, NaN-aware per column.

    ``"normal"``: mean +- 1.96 standard errors (sample sd, ddof = 1; NaN for one value).
    ``"bootstrap"``: 2.5 and 97.5 percentiles of the means of ``n_bootstrap`` resamples of the
    rows (percentile bootstrap). Columns whose values are all NaN (skipped spacings) give NaN.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        Mean of shape ``values.shape[1:]`` and CI of shape ``values.shape[1:] + (2,)`` (float32).
    """
    v = values.double().reshape(values.shape[0], -1)
    n = v.shape[0]
    missing = torch.isnan(v).all(0)
    v = torch.nan_to_num(v, nan=0.0)
    mean = v.mean(0)
    if ci == "normal":
        half = Z_95 * v.std(0, unbiased=True) / math.sqrt(n) if n > 1 else torch.full_like(mean, math.nan)
        bounds = torch.stack([mean - half, mean + half], -1)
    else:
        counts = torch.from_numpy(rng.multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap)).double()
        means = counts @ v / n  # (n_bootstrap, columns)
        bounds = torch.quantile(means, torch.tensor([0.025, 0.975], dtype=torch.float64), dim=0).T
    mean[missing] = math.nan
    bounds[missing] = math.nan
    shape = values.shape[1:]
    return mean.float().reshape(shape), bounds.float().reshape(*shape, 2)


def check_ci(ci: str, n_bootstrap: int) -> None:
    """Raise ValueError unless ``ci`` is one of :data:`CI_METHODS` and ``n_bootstrap`` an int >= 10."""
    if ci not in CI_METHODS:
        raise ValueError(f"ci must be one of {CI_METHODS}; got {ci!r}")
    if not isinstance(n_bootstrap, int) or n_bootstrap < 10:
        raise ValueError(f"n_bootstrap must be an integer >= 10; got {n_bootstrap!r}")
