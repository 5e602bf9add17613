"""DeepLIFT / DeepSHAP (Shrikumar et al. 2017; Lundberg & Lee 2017) with shuffled references.

Each sequence is explained against references (dinucleotide shuffles of itself by default).
The sequence and its references run through the model as one batch; backward hooks replace the
gradient of every nonlinear module by its DeepLIFT multiplier: the *rescale* rule
``(f(x) - f(r)) / (x - r)`` for element-wise activations, and the max-pool rule of DeepSHAP for
max pooling (the change in the pooled output is routed to the winning inputs of the sequence
and of the reference). Linear layers (convolutions, dense layers, batch norm in eval mode) keep
their gradients. The resulting multipliers give *hypothetical contributions*
``m_b - sum_c r_c m_c`` for every base b, averaged over references; at the observed bases they
add up to ``f(x) - mean f(r)`` (the convergence delta measures how exactly).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.shuffle import dinucleotide_shuffle
from ..zoo.architectures import Exp, GlobalMaxPool
from ._common import check_target, prepare

ELEMENTWISE_NONLINEAR = (nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.GELU, nn.SiLU, Exp)
POOLING = (nn.MaxPool1d, GlobalMaxPool)
LINEAR = (nn.Conv1d, nn.Linear, nn.BatchNorm1d, nn.Dropout, nn.Identity, nn.Flatten, nn.AvgPool1d)
EPSILON = 1e-6


@dataclass(frozen=True)
class DeepLiftResult:
    """Result of :func:`deep_lift_shap`.

    Attributes
    ----------
    hypothetical : torch.Tensor, shape (N, 4, L)
        Hypothetical contributions of every base at every position, averaged over references.
    X : torch.Tensor, shape (N, 4, L)
    references : torch.Tensor, shape (N, R, 4, L)
    convergence_delta : torch.Tensor, shape (N, R)
        ``|sum(contributions) - (f(x) - f(r))|`` per sequence and reference; near 0 when every
        nonlinearity had a rule.
    target : int
    """

    hypothetical: torch.Tensor
    X: torch.Tensor
    references: torch.Tensor
    convergence_delta: torch.Tensor
    target: int

    @property
    def values(self) -> torch.Tensor:
        """Contributions at the observed bases, ``hypothetical * X``; ``(N, 4, L)``."""
        return self.hypothetical * self.X

    def per_position(self) -> torch.Tensor:
        """One contribution per position, ``(N, L)``."""
        return self.values.sum(1)


def unsupported_modules(model: nn.Module) -> list[str]:
    """Names of leaf modules that DeepLIFT has no rule for (an LSTM, attention, ...)."""
    bad = []
    for name, module in model.named_modules():
        if list(module.children()):
            continue
        if not isinstance(module, ELEMENTWISE_NONLINEAR + POOLING + LINEAR):
            bad.append(f"{name} ({type(module).__name__})")
    return bad


def supports_deeplift(model: nn.Module) -> bool:
    """Whether every leaf module of ``model`` has a DeepLIFT rule or is linear."""
    return not unsupported_modules(model)


class _Hooks:
    """Forward hooks cache each nonlinear module's input/output; backward hooks swap in multipliers."""

    def __init__(self, model: nn.Module):
        self.cache: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}
        self.handles = []
        for module in model.modules():
            if isinstance(module, ELEMENTWISE_NONLINEAR + POOLING):
                self.handles.append(module.register_forward_hook(self._forward))
                self.handles.append(module.register_full_backward_hook(self._backward))

    def _forward(self, module, inputs, output):
        self.cache[module] = (inputs[0].detach(), output.detach())

    def _backward(self, module, grad_input, grad_output):
        x_in, x_out = self.cache[module]
        if isinstance(module, POOLING):
            return (_maxpool_multiplier(module, x_in, x_out, grad_input[0], grad_output[0]),)
        delta_in = torch.sub(*x_in.chunk(2))
        delta_out = torch.sub(*x_out.chunk(2))
        ratio = torch.where(delta_in.abs() < EPSILON, torch.zeros_like(delta_in), delta_out / delta_in)
        use_gradient = (delta_in.abs() < EPSILON).repeat(2, *[1] * (delta_in.ndim - 1))
        rescaled = grad_output[0] * ratio.repeat(2, *[1] * (ratio.ndim - 1))
        return (torch.where(use_gradient, grad_input[0], rescaled),)

    def remove(self):
        for handle in self.handles:
            handle.remove()


def _maxpool_multiplier(module, x_in, x_out, grad_input, grad_output):
    """DeepSHAP's max-pool rule: route the output change to the winners, divide by the input change."""
    if isinstance(module, GlobalMaxPool):
        kernel, stride = x_in.shape[-1], x_in.shape[-1]
        grad_output = grad_output[..., None]
        x_out = x_out[..., None]
    else:
        kernel, stride = module.kernel_size, module.stride
    out_x, out_r = x_out.chunk(2)
    top = torch.maximum(out_x, out_r)
    routed_change = grad_output * torch.cat([top - out_r, out_x - top])
    _, indices = F.max_pool1d(x_in, kernel, stride, return_indices=True)
    spread = torch.zeros_like(x_in).flatten(2).scatter_add_(2, indices.flatten(2), routed_change.flatten(2))
    spread_x, spread_r = spread.view_as(x_in).chunk(2)
    delta_in = torch.sub(*x_in.chunk(2))
    zero = delta_in == 0
    half = torch.where(zero, grad_input.chunk(2)[0], (spread_x + spread_r) / delta_in.masked_fill(zero, 1.0))
    return torch.cat([half, half])


def deep_lift_shap(model: nn.Module, X: torch.Tensor, target: int | None = 0, *, references=None,
                   n_shuffles: int = 20, batch_size: int = 64, device="auto", random_state=None,
                   warning_threshold: float = 1e-3) -> DeepLiftResult:
    """DeepLIFT against shuffled references, averaged over them (DeepSHAP).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``; every nonlinearity must be a module with a rule
        (see :func:`supports_deeplift`): ReLU-like activations, Exp, max pooling.
    X : torch.Tensor, shape (N, 4, L)
    target : int or None
    references : torch.Tensor, shape (N, R, 4, L), optional
        Defaults to ``n_shuffles`` dinucleotide shuffles of each sequence.
    n_shuffles : int
    batch_size : int
        Sequence-reference pairs per pass.
    device : str or torch.device
    random_state : int or None
        Seed of the shuffles.
    warning_threshold : float
        Warn when a convergence delta exceeds this.

    Returns
    -------
    DeepLiftResult

    Raises
    ------
    ValueError
        If the model has modules without a DeepLIFT rule (the numbers would be wrong).
    """
    bad = unsupported_modules(model)
    if bad:
        raise ValueError("DeepLIFT has no rule for " + ", ".join(bad[:5]) +
                         "; use integrated_gradients or ISM for this model")
    device, n_outputs = prepare(model, X, device, batch_size)
    target = check_target(target, n_outputs)
    if references is None:
        references = dinucleotide_shuffle(X, n_shuffles, random_state=random_state)
    if references.ndim != 4 or references.shape[0] != X.shape[0] or references.shape[2:] != X.shape[1:]:
        raise ValueError(f"references must have shape (N, R, 4, L) = ({X.shape[0]}, R, 4, {X.shape[2]}); "
                         f"got {tuple(references.shape)}")
    n, n_refs = references.shape[:2]
    pairs_x = X.repeat_interleave(n_refs, dim=0)
    pairs_r = references.reshape(-1, *X.shape[1:])
    hypothetical = torch.zeros(n * n_refs, *X.shape[1:])
    deltas = torch.zeros(n * n_refs)
    hooks = _Hooks(model)
    try:
        for start in range(0, len(pairs_x), batch_size):
            x = pairs_x[start : start + batch_size].to(device)
            r = pairs_r[start : start + batch_size].to(device)
            batch = torch.cat([x, r]).requires_grad_(True)
            with torch.enable_grad():
                out = model(batch)[:, target]
                (grad,) = torch.autograd.grad(out.sum(), batch)
            multipliers = grad[: len(x)].detach()
            hypo = multipliers - (r * multipliers).sum(1, keepdim=True)
            hypothetical[start : start + len(x)] = hypo.cpu()
            total = (hypo * x).sum((1, 2))
            expected = (out[: len(x)] - out[len(x):]).detach()
            deltas[start : start + len(x)] = (total - expected).abs().cpu()
    finally:
        hooks.remove()
    if float(deltas.max()) > warning_threshold:
        warnings.warn(f"DeepLIFT convergence delta up to {float(deltas.max()):.2e} (> {warning_threshold}): "
                      "some nonlinearity may lack an exact rule", RuntimeWarning, stacklevel=2)
    hypothetical = hypothetical.reshape(n, n_refs, *X.shape[1:]).mean(1)
    return DeepLiftResult(hypothetical, X, references, deltas.reshape(n, n_refs), target)
