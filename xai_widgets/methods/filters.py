"""Model-based interpretation (the review's Fig. 2): first-layer filters read as motifs.

- :func:`filters_from_weights`: PPMs from the weights (a softmax per position; scale caveat).
- :func:`filters_from_activations`: PPMs from the aligned subsequences that activate each filter
  above a fraction of its maximum over a data set (Kelley et al. 2016; Koo & Eddy 2019).
- :func:`unit_summaries`: an ExplaiNN-style model's units read directly.

The first layer is :func:`xai_widgets.contract.first_conv` (``model.first_conv``, else the first
``Conv1d`` on 4 channels). Annotating the motifs against JASPAR is :mod:`.tomtom`; silencing
filters and measuring what they are worth is :mod:`.ablation`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .._core import resolve_batch_size
from ..contract import first_conv
from ..data.motifs import Motif
from ..metrics import auroc
from ._common import model_method, prepare
from .tomtom import tomtom_matches


def _filter_conv(model: nn.Module) -> nn.Conv1d:
    """The first convolution (:func:`xai_widgets.contract.first_conv`), checked for filter motifs:
    stride 1, dilation 1, groups 1.

    Raises
    ------
    ValueError
        No first convolution, or one whose windows are not contiguous single-base steps.
    """
    conv = first_conv(model)
    if conv.stride[0] != 1 or conv.dilation[0] != 1 or conv.groups != 1:
        raise ValueError("filter motifs need a first convolution with stride 1, dilation 1 and groups 1")
    return conv


def first_layer(model: nn.Module) -> nn.Conv1d:
    """Deprecated: use :func:`xai_widgets.contract.first_conv` (the one reader of a model's first layer).

    Returns the first convolution, checked for filter motifs (stride 1, dilation 1, groups 1).
    Warns ``FutureWarning``.
    """
    warnings.warn("methods.first_layer is deprecated; use xai_widgets.contract.first_conv", FutureWarning,
                  stacklevel=2)
    return _filter_conv(model)


def _activation_module(model: nn.Module) -> tuple[nn.Module, bool]:
    """The module whose output is the first layer's activation, and whether ReLU must follow.

    Zoo models name it ``act1`` (after the first convolution and its batch norm); for other
    models the first convolution's output is used, rectified.
    """
    act = getattr(model, "act1", None)
    return (act, False) if isinstance(act, nn.Module) else (_filter_conv(model), True)


def filters_from_weights(model: nn.Module, *, beta: float = 1.0) -> list[Motif]:
    """Each first-layer filter as a PPM: ``softmax(beta * W)`` over the bases at each position.

    Caveat (Novakovsky et al. 2022, Fig. 2): a filter's weights have no absolute scale (a batch
    norm or the next layer can absorb any factor), so ``beta`` sets the motif's information
    content arbitrarily; compare shapes, not IC. :func:`filters_from_activations` avoids this.

    Parameters
    ----------
    model : torch.nn.Module
        Its first layer (:func:`xai_widgets.contract.first_conv`) is a ``Conv1d`` over the 4 bases
        with stride 1, dilation 1 and groups 1.
    beta : float, optional
        Default 1.0. Inverse temperature of the softmax.

    Returns
    -------
    list of Motif
        ``filter_<i>``, shape (4, W) each, ``n_sites = 0``.
    """
    weights = _filter_conv(model).weight.detach().cpu().double()
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
    conv = _filter_conv(model)
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
