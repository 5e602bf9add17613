"""Backpropagation attributions (the review's Fig. 3c): saliency, gradient x input, integrated
gradients, with the gradient correction of Majdandzic, Rajesh & Koo (2023) as an option.

Gradients of a one-hot model have a component orthogonal to the one-hot simplex that carries
no meaning; ``correct=True`` removes it by subtracting, at each position, the mean gradient
over the four bases (so the corrected gradient sums to zero per position).

At an unknown base (an all-zero ``N`` column) gradient x input is 0 and saliency is the
gradient there; with all-0.25 ``N`` columns gradient x input is a quarter of the gradient at
every base. Baseline shuffles keep ``N`` columns in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._core import resolve_batch_size
from ..data.shuffle import dinucleotide_shuffle
from ._common import check_output, check_target, model_method, prepare

BASELINES = ("zeros", "uniform", "shuffle")
IG_RULES = ("gausslegendre", "riemann_trapezoid", "riemann_middle")


@dataclass(frozen=True)
class Attribution:
    """Per-base attributions of a gradient method; an :class:`~.results.AttributionResult`.

    Attributes
    ----------
    values : torch.Tensor, shape (N, 4, L)
        The method's map: the gradient itself (saliency) or a contribution per base.
    X : torch.Tensor, shape (N, 4, L)
        The sequences explained.
    method : str
        ``"saliency"``, ``"gradient_x_input"`` or ``"integrated_gradients"``.
    target : int
        The model output explained.
    completeness_gap : torch.Tensor or None, shape (N,)
        Integrated gradients only: ``|sum(values) - (f(x) - f(baseline))| / |f(x) - f(baseline)|``.
    """

    values: torch.Tensor
    X: torch.Tensor
    method: str
    target: int
    completeness_gap: torch.Tensor | None = None

    def on_observed(self) -> torch.Tensor:
        """``values * X``: the attribution at each observed base, ``(N, 4, L)``."""
        return self.values * self.X

    def per_position(self) -> torch.Tensor:
        """One score per position, ``(N, L)``.

        For saliency the gradient at the observed base (gradient x input); for contribution
        methods (gradient x input, integrated gradients) the sum over the four bases, which for
        a non-zero baseline includes the (negative) contributions of the baseline's bases.
        """
        return (self.on_observed() if self.method == "saliency" else self.values).sum(1)


def correct_gradient(grad: torch.Tensor) -> torch.Tensor:
    """Subtract the per-position mean over the 4 bases (Majdandzic et al. 2023); ``(..., 4, L)``."""
    return grad - grad.mean(dim=-2, keepdim=True)


def _gradients(model: nn.Module, X: torch.Tensor, target, batch_size: int, device) -> tuple[torch.Tensor, int]:
    """d output[:, target] / d X, batched; ``(N, 4, L)`` on the CPU, and the checked target.

    ``target`` is checked against the first batch's output (no separate probe pass).
    """
    grads = []
    for start in range(0, X.shape[0], batch_size):
        x = X[start : start + batch_size].to(device).clone().requires_grad_(True)  # a fresh leaf (a view is slower)
        with torch.enable_grad():
            out = model(x)
            if start == 0:
                target = check_target(target, check_output(out, x.shape[0]), model=model)
            (grad,) = torch.autograd.grad(out[:, target].sum(), x)
        grads.append(grad.detach().cpu())
    return (grads[0] if len(grads) == 1 else torch.cat(grads)), target


@model_method
def saliency(model: nn.Module, X: torch.Tensor, *, target: int | str | None = None, correct: bool = False,
             batch_size: int | None = None, device="auto") -> Attribution:
    """The gradient of the output with respect to the one-hot input (Simonyan et al. 2014).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences.
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model, naming its
        outputs); else an output index or name.
    correct : bool, optional
        Default False. Apply :func:`correct_gradient`.
    batch_size : int or None, optional
        Sequences per backward pass; default None: from the memory rule
        (:func:`xai_widgets._core.resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.

    Returns
    -------
    Attribution
        ``values`` is the (corrected) gradient, signed; take ``abs()`` for the classic map.
    """
    device, _ = prepare(model, X, device, batch_size, probe=False)
    batch_size = resolve_batch_size(batch_size, model, X, device, backward=True)
    grad, target = _gradients(model, X, target, batch_size, device)
    return Attribution(correct_gradient(grad) if correct else grad, X, "saliency", target)


@model_method
def gradient_x_input(model: nn.Module, X: torch.Tensor, *, target: int | str | None = None, correct: bool = False,
                     batch_size: int | None = None, device="auto") -> Attribution:
    """Gradient times input: the gradient at the observed bases, zero elsewhere; ``(N, 4, L)``.

    Parameters
    ----------
    model, X, target, correct, batch_size, device
        As in :func:`saliency`, with the same defaults: ``target`` None (the only output),
        ``correct`` False, ``batch_size`` None (the memory rule), ``device`` ``"auto"``.

    Returns
    -------
    Attribution
    """
    result = saliency(model, X, target=target, correct=correct, batch_size=batch_size, device=device)
    return Attribution(result.values * X, X, "gradient_x_input", result.target)


def _ig_rule(n_steps: int, rule: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Interpolation points in (0, 1] and their weights, matching captum's approximation rules."""
    if rule == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return torch.tensor((nodes + 1) / 2), torch.tensor(weights / 2)
    if rule == "riemann_trapezoid":
        alphas = torch.linspace(0, 1, n_steps, dtype=torch.float64)
        weights = torch.full((n_steps,), 1.0 / (n_steps - 1), dtype=torch.float64)
        weights[0] = weights[-1] = 0.5 / (n_steps - 1)
        return alphas, weights
    if rule == "riemann_middle":
        return (torch.arange(n_steps, dtype=torch.float64) + 0.5) / n_steps, torch.full((n_steps,), 1.0 / n_steps,
                                                                                      dtype=torch.float64)
    raise ValueError(f"rule must be one of {IG_RULES}; got {rule!r}")


def _baselines(X: torch.Tensor, baseline, n_baselines: int, random_state) -> torch.Tensor:
    """Baselines of shape ``(N, B, 4, L)``."""
    if isinstance(baseline, torch.Tensor):
        if baseline.shape == X.shape:
            return baseline[:, None]
        if baseline.ndim == 4 and baseline.shape[0] == X.shape[0] and baseline.shape[2:] == X.shape[1:]:
            return baseline
        raise ValueError(f"a baseline tensor must have shape {tuple(X.shape)} or (N, B, 4, L); "
                         f"got {tuple(baseline.shape)}")
    if baseline == "zeros":
        return torch.zeros_like(X)[:, None]
    if baseline == "uniform":
        return torch.full_like(X, 0.25)[:, None]
    if baseline == "shuffle":
        return dinucleotide_shuffle(X, n_baselines, random_state=random_state)
    raise ValueError(f"baseline must be one of {BASELINES} or a tensor; got {baseline!r}")


@model_method
def integrated_gradients(model: nn.Module, X: torch.Tensor, *, target: int | str | None = None, baseline="zeros",
                         n_steps: int = 50, rule: str = "gausslegendre", n_baselines: int = 20,
                         correct: bool = False, batch_size: int | None = None, device="auto",
                         random_state=None) -> Attribution:
    """Integrated gradients (Sundararajan et al. 2017) along the straight path from a baseline.

    ``values = (x - b) * mean over the path of the gradient``, averaged over baselines.

    Parameters
    ----------
    model, X
        As in :func:`saliency`.
    target : int, str or None, optional
        Default None: the model's only output; as in :func:`saliency`.
    baseline : {"zeros", "uniform", "shuffle"} or torch.Tensor, optional
        Default ``"zeros"``. All-zero, all-0.25, ``n_baselines`` dinucleotide shuffles of each sequence, or given
        baselines ``(N, 4, L)`` / ``(N, B, 4, L)``.
    n_steps : int, optional
        Default 50. Points on the path.
    rule : {"gausslegendre", "riemann_trapezoid", "riemann_middle"}, optional
        Default ``"gausslegendre"``. Quadrature; ``"gausslegendre"`` is captum's default and converges fastest.
    n_baselines : int, optional
        Default 20. Shuffles per sequence for ``baseline="shuffle"``.
    correct : bool, optional
        Default False. Correct the path-averaged gradient (:func:`correct_gradient`) before
        multiplying.
    batch_size : int or None, optional
        Interpolated sequences per backward pass; default None: from the memory rule.
    device : str or torch.device, optional
        Default ``"auto"``.
    random_state : int or None, optional
        Default None. Seed of the shuffles.

    Returns
    -------
    Attribution
        With ``completeness_gap``: how far ``sum(values)`` is from ``f(x) - f(baseline)``
        (mean over baselines), relative; small when ``n_steps`` is large enough.
    """
    if n_steps < 2:
        raise ValueError(f"n_steps must be >= 2; got {n_steps}")
    device, n_outputs = prepare(model, X, device, batch_size)
    target = check_target(target, n_outputs, model=model)
    batch_size = resolve_batch_size(batch_size, model, X, device, backward=True)
    alphas, weights = _ig_rule(n_steps, rule)
    alphas, weights = alphas.to(X.dtype), weights.to(X.dtype)
    refs = _baselines(X, baseline, n_baselines, random_state)  # (N, B, 4, L)
    n, n_refs = refs.shape[:2]
    diff = X[:, None] - refs
    # every (sequence, baseline, step) point of every path, evaluated in flat batches
    avg_grad = torch.zeros(n * n_refs, *X.shape[1:], dtype=X.dtype)
    n_points = n * n_refs * n_steps
    for start in range(0, n_points, batch_size):
        point = torch.arange(start, min(start + batch_size, n_points))
        pair, step = point // n_steps, point % n_steps
        path = refs.flatten(0, 1)[pair] + alphas[step, None, None] * diff.flatten(0, 1)[pair]
        grads, _ = _gradients(model, path, target, len(point), device)
        avg_grad.index_add_(0, pair, grads * weights[step, None, None])
    avg_grad = avg_grad.view(n, n_refs, *X.shape[1:])
    if correct:
        avg_grad = correct_gradient(avg_grad)
    attributions = diff * avg_grad  # (N, B, 4, L)
    values = attributions.mean(1)
    with torch.no_grad():
        ends = torch.cat([model(chunk.to(device))[:, target].double().cpu()
                          for chunk in torch.cat([X, refs.flatten(0, 1)]).split(batch_size)])
    expected = ends[:n, None] - ends[n:].view(n, n_refs)
    total = attributions.sum((2, 3)).double()
    gaps = ((total - expected).abs() / expected.abs().clamp_min(1e-12)).mean(1)
    return Attribution(values, X, "integrated_gradients", target, gaps)
