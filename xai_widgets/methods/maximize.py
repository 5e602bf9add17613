"""Activation maximisation (the review's deep-layer maximisation, Fig. 4): search for the DNA
sequences that drive a model output, or a hidden unit, as high as possible.

Two searches, each from ``n_starts`` random starting points:

- ``search="relaxed"``: optimise free logits ``theta (n_starts, 4, L)`` of a continuous
  relaxation ``p = softmax(theta)`` (each position a distribution over A, C, G, T) by gradient
  ascent with Adam, with a penalty that pushes ``p`` towards one-hot vectors, then read off the
  argmax base at each position. With ``relaxation="softmax"`` the model sees ``p`` itself; with
  ``relaxation="straight_through"`` (default; Bengio et al. 2013, as in SeqProp, Linder & Seelig
  2021) it sees the one-hot argmax of ``p`` in the forward pass while the gradient flows through
  ``p``, so the model is only ever evaluated on real sequences. (On the grammar zoo model the
  straight-through search ends about one unit higher, and on a single first-layer filter the
  plain softmax relaxation often stalls on a wrong base once ``p`` saturates.) The discretised
  sequence of every step is scored as well, and the best one met along the way is kept.
- ``search="greedy"``: repeated best single-base edits: at each step every substitution is
  predicted (:func:`~xai_widgets.methods.saturation_mutagenesis` through the edit engine, with
  ``method`` choosing its path as everywhere) and the best improving one is applied, until none
  improves or the steps run out.

The result carries the discrete sequences, their activations, the objective along the search
and a :class:`~xai_widgets.data.Motif` of the aligned most important windows.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .._core import resolve_batch_size
from ..data.motifs import Motif
from ._common import check_output, check_target, model_method, prepare
from ._engine import check_method
from .ism import saturation_mutagenesis

MAXIMIZE_METHODS = ("relaxed", "greedy")
RELAXATIONS = ("straight_through", "softmax")
PENALTIES = ("entropy", "l2", None)
REDUCTIONS = ("max", "mean")
DEFAULT_STEPS = {"relaxed": 300, "greedy": 100}


@dataclass(frozen=True)
class MaximizationResult:
    """Result of :func:`maximize_activation`, one entry per start.

    Attributes
    ----------
    sequences : torch.Tensor, shape (n_starts, 4, L)
        The discrete (one-hot) sequences found.
    activations : torch.Tensor, shape (n_starts,)
        The objective (output or hidden-unit activation) of each of ``sequences``.
    trajectory : torch.Tensor, shape (S + 1, n_starts)
        Objective of the discretised sequence at the start and after each of the ``S`` steps
        (for ``"greedy"``, ``S`` is the number of steps run; converged starts stay flat).
    relaxed_trajectory : torch.Tensor or None, shape (S, n_starts)
        ``"relaxed"`` only: the objective the optimiser saw at each step (for
        ``relaxation="softmax"`` that of the soft input ``softmax(theta)``; for
        ``"straight_through"`` that of its argmax, before the step).
    motif : Motif
        Base frequencies of the aligned windows (see ``windows``): a PWM of what the searches
        agree on.
    windows : torch.Tensor of int, shape (n_starts, 2)
        ``(start, strand)`` of each sequence's window of ``motif_width`` bases. The best
        sequence's window is the one with the highest summed ISM attribution of the objective;
        every other window is its own most important window, shifted by up to half the width and
        taken on the strand (-1: reverse complement) that agrees best with the best one's.
    objective : str
        What was maximised, e.g. ``"output 0"`` or ``"conv1[7] (max over positions)"``.
    search : str
        ``"relaxed"`` or ``"greedy"``.
    """

    sequences: torch.Tensor
    activations: torch.Tensor
    trajectory: torch.Tensor
    relaxed_trajectory: torch.Tensor | None
    motif: Motif
    windows: torch.Tensor
    objective: str
    search: str

    @property
    def method(self) -> str:
        """Deprecated alias of :attr:`search` (``method`` now names the edit path everywhere)."""
        warnings.warn("MaximizationResult.method is deprecated: use .search", FutureWarning, stacklevel=2)
        return self.search

    @property
    def order(self) -> torch.Tensor:
        """Start indices from the highest activation to the lowest, ``(n_starts,)``."""
        return self.activations.argsort(descending=True)

    @property
    def best(self) -> torch.Tensor:
        """The sequence with the highest activation, ``(1, 4, L)``."""
        i = int(self.activations.argmax())
        return self.sequences[i : i + 1]

    def __repr__(self) -> str:
        n, _, length = self.sequences.shape
        return (f"MaximizationResult({self.objective!r}, search={self.search!r}, n_starts={n}, L={length}, "
                f"best={float(self.activations.max()):.3f}, motif={self.motif.consensus!r})")


class _Stop(Exception):
    """Raised by the hook once the hidden layer's output is captured (skips the rest)."""


class _Objective(nn.Module):
    """``X (N, 4, L) -> (N, 1)``: the quantity to maximise, differentiable."""

    def __init__(self, model: nn.Module, target: int | None, layer: nn.Module | None, channel: int | None,
                 reduce: str):
        super().__init__()
        self.model, self.target, self.layer, self.channel, self.reduce = model, target, layer, channel, reduce

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.layer is None:
            return self.model(X)[:, self.target : self.target + 1]
        captured = []

        def hook(module, inputs, output):
            captured.append(output)
            raise _Stop

        handle = self.layer.register_forward_hook(hook)
        try:
            self.model(X)
        except _Stop:
            pass
        finally:
            handle.remove()
        if not captured:
            raise ValueError("the layer given as layer= did not run in the model's forward pass")
        h = captured[0]
        if not isinstance(h, torch.Tensor) or h.ndim < 2:
            raise ValueError(f"layer= must output a tensor (N, C[, L']); got {type(h).__name__}")
        if not 0 <= self.channel < h.shape[1]:
            raise ValueError(f"channel {self.channel} is out of range: the layer has {h.shape[1]} channels")
        h = h[:, self.channel].reshape(X.shape[0], -1)
        return (h.amax(1) if self.reduce == "max" else h.mean(1))[:, None]


def _resolve_layer(model: nn.Module, layer) -> tuple[nn.Module, str]:
    if isinstance(layer, str):
        try:
            return model.get_submodule(layer), layer
        except AttributeError as err:
            names = [n for n, _ in model.named_modules() if n]
            raise ValueError(f"the model has no layer {layer!r}; its layers: {', '.join(names[:20])}") from err
    if not isinstance(layer, nn.Module):
        raise TypeError(f"layer must be a submodule of the model or its name; got {type(layer).__name__}")
    for name, module in model.named_modules():
        if module is layer:
            return layer, name or type(layer).__name__
    raise ValueError(f"layer {type(layer).__name__} is not a submodule of the model (pass e.g. model.conv1)")


def _entropy(p: torch.Tensor) -> torch.Tensor:
    """Mean per-position entropy (nats) of ``p (N, 4, L)``; ``(N,)``."""
    return -(p * torch.log(p.clamp_min(1e-12))).sum(1).mean(1)


def _distance_to_one_hot(p: torch.Tensor) -> torch.Tensor:
    """Mean per-position squared distance of ``p (N, 4, L)`` to its nearest one-hot vector; ``(N,)``."""
    hard = nn.functional.one_hot(p.argmax(1), 4).permute(0, 2, 1).to(p.dtype)
    return ((p - hard) ** 2).sum(1).mean(1)


def _one_hot(indices: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    return nn.functional.one_hot(indices, 4).permute(0, 2, 1).to(dtype)


def _evaluate(objective: nn.Module, X: torch.Tensor, batch_size: int, device) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([objective(X[i : i + batch_size].to(device))[:, 0].float().cpu()
                          for i in range(0, X.shape[0], batch_size)])


def _relaxed(objective, n_starts, length, steps, lr, penalty, penalty_weight, straight_through, generator,
             batch_size, device, progress):
    theta = torch.randn(n_starts, 4, length, generator=generator).to(device).requires_grad_(True)
    optimiser = torch.optim.Adam([theta], lr=lr)
    best_x = _one_hot(theta.detach().argmax(1).cpu())
    best_value = _evaluate(objective, best_x, batch_size, device)
    trajectory, soft = [best_value.clone()], []
    for step in tqdm(range(steps), desc="maximize (relaxed)", disable=not progress, unit="step"):
        p = torch.softmax(theta, dim=1)
        if straight_through:  # forward: the argmax one-hot; backward: the gradient of the softmax
            hard = nn.functional.one_hot(p.detach().argmax(1), 4).permute(0, 2, 1).to(p.dtype)
            value = objective(hard + p - p.detach())[:, 0]
        else:
            value = objective(p)[:, 0]
        loss = -value
        if penalty is not None:
            # the penalty is ramped up linearly, so the search first finds a good region, then commits
            weight = penalty_weight * (step + 1) / steps
            loss = loss + weight * (_entropy(p) if penalty == "entropy" else _distance_to_one_hot(p))
        optimiser.zero_grad()
        loss.sum().backward()
        optimiser.step()
        soft.append(value.detach().float().cpu())
        hard = _one_hot(theta.detach().argmax(1).cpu())
        hard_value = _evaluate(objective, hard, batch_size, device)
        better = hard_value > best_value
        best_x[better], best_value[better] = hard[better], hard_value[better]
        trajectory.append(hard_value)
    return best_x, best_value, torch.stack(trajectory), torch.stack(soft)


def _greedy(objective, model, target, n_starts, length, steps, generator, batch_size, device, progress, method):
    X = _one_hot(torch.randint(0, 4, (n_starts, length), generator=generator))
    ism_model = model if objective.layer is None else objective
    ism_target = target if objective.layer is None else 0
    value = _evaluate(objective, X, batch_size, device)
    trajectory = [value.clone()]
    active = torch.ones(n_starts, dtype=torch.bool)
    for _ in tqdm(range(steps), desc="maximize (greedy)", disable=not progress, unit="step"):
        rows = torch.nonzero(active).flatten()
        delta = saturation_mutagenesis(ism_model, X[rows], target=ism_target, batch_size=batch_size,
                                       device=device, method=method).delta
        gain, flat = delta.flatten(1).max(1)
        improves = gain > 1e-6 * torch.clamp(value[rows].abs(), min=1.0)
        for r, g, f, ok in zip(rows.tolist(), gain.tolist(), flat.tolist(), improves.tolist()):
            if not ok:
                active[r] = False
                continue
            base, pos = divmod(f, length)
            X[r, :, pos] = 0
            X[r, base, pos] = 1
            value[r] = value[r] + g
        if not active.any():
            break
        trajectory.append(value.clone())
    value = _evaluate(objective, X, batch_size, device)  # exact values (no accumulated rounding)
    return X, value, torch.stack(trajectory)


def _aligned_motif(objective, model, target, X, activations, width, batch_size, device,
                   method) -> tuple[Motif, torch.Tensor]:
    """Windows of highest summed ISM attribution, aligned to the best sequence's; their PFM.

    The best sequence's window is the reference. Every other sequence's window may shift by up
    to ``width // 2`` around its own most important window, on either strand, to agree with the
    reference at the most positions.
    """
    layer_free = objective.layer is None
    ism = saturation_mutagenesis(model if layer_free else objective, X, target=target if layer_free else 0,
                                 batch_size=batch_size, device=device, method=method)
    importance = ism.values.sum(1)  # (n, L)
    length = X.shape[2]
    starts = importance.unfold(1, width, 1).sum(-1).argmax(1)  # (n,)
    idx = X.argmax(1)  # (n, L)
    best = int(activations.argmax())
    reference = idx[best, int(starts[best]) : int(starts[best]) + width]
    rows, strands = [], []
    for i in range(len(X)):
        if i == best:
            rows.append(reference), strands.append(1)
            continue
        centre, shift = int(starts[i]), width // 2
        candidates = []
        for s in range(max(0, centre - shift), min(length - width, centre + shift) + 1):
            window = idx[i, s : s + width]
            for strand, w in ((1, window), (-1, (3 - window).flip(0))):
                # most agreement first; ties go to the smaller shift, then to the forward strand
                candidates.append((-int((w == reference).sum()), abs(s - centre), -strand, s, w))
        _, _, neg_strand, s, w = min(candidates, key=lambda c: c[:3])
        starts[i] = s
        rows.append(w), strands.append(-neg_strand)
    counts = nn.functional.one_hot(torch.stack(rows), 4).sum(0).T.numpy().astype(np.float64)  # (4, w)
    return Motif.from_counts("maximized", counts), torch.stack([starts, torch.tensor(strands)], 1)


@model_method
def maximize_activation(model: nn.Module, *, length: int, target: int | str | None = None, layer=None,
                        channel: int | None = None, reduce: str = "max", n_starts: int = 8,
                        search: str = "relaxed", steps: int | None = None, lr: float = 0.1,
                        relaxation: str = "straight_through", penalty: str | None = "entropy",
                        penalty_weight: float = 0.1, motif_width: int = 30,
                        batch_size: int | None = None, device="auto", method: str = "auto", random_state=None,
                        progress: bool = False) -> MaximizationResult:
    """Search for sequences that maximise a model output or a hidden unit.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``; it must accept sequences of ``length``.
    length : int
        Length of the sequences to design.
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model); else the
        output (index or name) to maximise. Ignored when ``layer`` is given.
    layer : torch.nn.Module or str, optional
        Default None: maximise a model output. A submodule of ``model`` (e.g. ``model.conv2``) or its name
        (``"conv2"``): maximise the activation of its output channel ``channel`` instead of a model output.
    channel : int, optional
        Default None. Channel of ``layer``'s output ``(N, C[, L'])``; required with ``layer``.
    reduce : {"max", "mean"}, optional
        Default ``"max"``. How a hidden channel's positions are combined: the strongest position (the channel's
        best site, the default) or the mean over positions.
    n_starts : int, optional
        Default 8. Independent searches from random starting points.
    search : {"relaxed", "greedy"}, optional
        Default ``"relaxed"``. See the module docstring. (Before 0.2 this was ``method``; a
        ``method="relaxed"`` or ``"greedy"`` still works, with a FutureWarning.)
    steps : int or None, optional
        Default None: per search. Optimiser steps (``"relaxed"``, default 300) or edit rounds (``"greedy"``, default
        100; each round predicts all ``3 L`` substitutions of every unconverged start).
    lr : float, optional
        Default 0.1. Adam learning rate on the logits (``"relaxed"``).
    relaxation : {"straight_through", "softmax"}, optional
        Default ``"straight_through"``. What the model sees during a relaxed search (see the module docstring).
    penalty : {"entropy", "l2"} or None, optional
        Default ``"entropy"``. Pushes the relaxed input towards one-hot: the mean per-position entropy of
        ``softmax(theta)`` (nats), or its mean squared distance to the nearest one-hot vector.
        Its weight rises linearly from 0 to ``penalty_weight`` over the steps.
    penalty_weight : float, optional
        Default 0.1. Final weight of the penalty (in objective units per nat / per unit distance).
    motif_width : int, optional
        Default 30. Width of the aligned windows that make ``motif`` (clipped to ``length``).
    batch_size : int or None, optional
        Sequences (or ISM edits) evaluated at once; default None: from the memory rule
        (:func:`xai_widgets._core.resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.
    method : {"auto", "fast", "naive"}, optional
        Default ``"auto"``. The edit engine's path for the ISM steps of ``search="greedy"`` and of
        the motif alignment (as in :func:`~xai_widgets.methods.saturation_mutagenesis`):
        ``"fast"`` raises where the fast path does not apply (a hidden-layer objective has none).
    random_state : int or None, optional
        Default None. Seed of the starting points.
    progress : bool, optional
        Default False. Show a progress bar over steps.

    Returns
    -------
    MaximizationResult

    Notes
    -----
    On ``zoo.load("basset_relu_cooperative_grammar")`` with ``length=200`` and the defaults
    (seeds 0-2), the 8 starts reach a median activation of 5.9-6.4 and a best of 6.5-6.8, where
    the best of 2000 data sequences is predicted 3.84 and the best of 1000 random ones 1.38;
    every result holds a Spi1 and an Irf1 site (:func:`~xai_widgets.data.scan` at 0.6), in the
    grammar's arrangement in 22 of 24. ``"greedy"`` (100 rounds) reaches a best of 5.6-6.6.
    """
    if method in MAXIMIZE_METHODS:  # the 0.1 spelling of search=
        warnings.warn(f"maximize_activation(method={method!r}) is deprecated: use search={method!r} (method= now "
                      "chooses the edit path: 'auto', 'fast' or 'naive')", FutureWarning, stacklevel=3)
        search, method = method, "auto"
    check_method(method)
    if search not in MAXIMIZE_METHODS:
        raise ValueError(f"search must be one of {MAXIMIZE_METHODS}; got {search!r}")
    if relaxation not in RELAXATIONS:
        raise ValueError(f"relaxation must be one of {RELAXATIONS}; got {relaxation!r}")
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {PENALTIES}; got {penalty!r}")
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}; got {reduce!r}")
    for name, value in (("length", length), ("n_starts", n_starts), ("motif_width", motif_width)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    steps = DEFAULT_STEPS[search] if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number; got {lr!r}")
    if not (isinstance(penalty_weight, (int, float)) and penalty_weight >= 0):
        raise ValueError(f"penalty_weight must be >= 0; got {penalty_weight!r}")
    if (layer is None) != (channel is None):
        raise ValueError("give layer= and channel= together to maximise a hidden unit (or neither, for an output)")
    probe = torch.zeros(1, 4, length)
    probe[:, 0] = 1
    device, _ = prepare(model, probe, device, batch_size, probe=False)
    with torch.no_grad():
        try:
            out = model(probe.to(device))
        except RuntimeError as err:
            raise ValueError(f"the model cannot run on sequences of length {length}: {err}") from err
    batch_size = resolve_batch_size(batch_size, model, probe, device, backward=True)
    if layer is None:
        target = check_target(target, check_output(out, 1), model=model)
        description = f"output {target}"
        objective = _Objective(model, target, None, None, reduce)
    else:
        if isinstance(channel, bool) or not isinstance(channel, int):
            raise TypeError(f"channel must be an int; got {channel!r}")
        module, name = _resolve_layer(model, layer)
        objective = _Objective(model, None, module, channel, reduce)
        description = f"{name}[{channel}]" + (" (max over positions)" if reduce == "max" else " (mean over positions)")
        _evaluate(objective, probe, 1, device)  # checks the channel and the layer's output
    flags = [(parameter, parameter.requires_grad) for parameter in model.parameters()]
    for parameter, _ in flags:
        parameter.requires_grad_(False)
    generator = torch.Generator().manual_seed(int(np.random.default_rng(random_state).integers(2**62)))
    try:
        if search == "relaxed":
            X, values, trajectory, soft = _relaxed(objective, n_starts, length, steps, float(lr), penalty,
                                                   float(penalty_weight), relaxation == "straight_through",
                                                   generator, batch_size, device, progress)
        else:
            X, values, trajectory = _greedy(objective, model, target, n_starts, length, steps, generator,
                                            max(batch_size, 3 * length), device, progress, method)
            soft = None
        motif, windows = _aligned_motif(objective, model, target, X, values, min(motif_width, length),
                                        max(batch_size, 3 * length), device, method)
    finally:
        for parameter, flag in flags:
            parameter.requires_grad_(flag)
    return MaximizationResult(X, values, trajectory, soft, motif, windows, description, search)
