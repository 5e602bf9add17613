"""Fast in-silico mutagenesis for models made of position-local layers (after fastISM).

A single-base edit changes only a bounded window of every convolution and pooling output
(Nair et al. 2022). For each edit we carry that window through the local layers, computing it
from the cached activations of the unedited sequence, and then either take the global max with
prefix/suffix maxima of the cached final map, or stitch the window into the cached map and run
the head. Windows have one fixed size per layer (clamped at the ends), so all edits of a batch
run as one tensor operation.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..zoo.architectures import Exp, LocalPlan

ELEMENTWISE = (nn.BatchNorm1d, nn.ReLU, nn.ELU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.LeakyReLU,
               nn.Identity, nn.Dropout, Exp)


def local_plan(model: nn.Module) -> LocalPlan | None:
    """The model's :class:`LocalPlan`, or None when fast ISM does not apply.

    Zoo models provide one; an ``nn.Sequential`` gets one when its leading layers are supported
    local layers (the rest becomes the head).
    """
    if hasattr(model, "local_plan"):
        plan = model.local_plan()
    elif isinstance(model, nn.Sequential):
        layers = []
        for module in model:
            if not _is_local(module):
                break
            layers.append(module)
        rest = nn.Sequential(*list(model)[len(layers):])
        plan = LocalPlan(layers, False, rest)
    else:
        return None
    if not plan.layers or not all(_is_local(m) for m in plan.layers):
        return None
    return plan


def _is_local(module: nn.Module) -> bool:
    if isinstance(module, nn.Conv1d):
        return (module.stride == (1,) and module.padding_mode == "zeros" and isinstance(module.padding, tuple))
    if isinstance(module, nn.MaxPool1d):
        k = _single(module.kernel_size)
        return (_single(module.stride) == k and _single(module.padding) == 0 and _single(module.dilation) == 1
                and not module.ceil_mode and not module.return_indices)
    return isinstance(module, ELEMENTWISE)


def _single(value) -> int:
    return value[0] if isinstance(value, tuple) else value


class _Windows(NamedTuple):
    """Edited values ``(E, C, W)`` of one layer output, starting at positions ``start (E,)``."""

    values: torch.Tensor
    start: torch.Tensor


def _gather(reference: torch.Tensor, seq: torch.Tensor, start: torch.Tensor, width: int) -> torch.Tensor:
    """``reference[seq[e], :, start[e] : start[e] + width]`` for every edit e; ``(E, C, width)``.

    Consecutive edits that share a window (the three substitutions of a position) are gathered
    once from the strided view and then copied as whole contiguous rows.
    """
    key = seq * reference.shape[2] + start
    unique, inverse = torch.unique_consecutive(key, return_inverse=True)
    windows = reference.unfold(2, width, 1)  # (N, C, L - width + 1, width), a view
    first = torch.div(unique, reference.shape[2], rounding_mode="floor")
    return windows[first, :, unique - first * reference.shape[2]][inverse]


def _overlay(base: torch.Tensor, base_start: torch.Tensor, win: _Windows) -> torch.Tensor:
    """Write ``win`` into ``base`` (in place) where their spans overlap.

    Edits are grouped by their relative offset (one group for all interior edits, a few small
    ones for windows clamped at the sequence ends), so each group is one slice assignment.
    """
    width, base_width = win.values.shape[2], base.shape[2]
    offset = win.start - base_start
    values, counts = torch.unique(offset, return_counts=True)
    for value, count in zip(values.tolist(), counts.tolist()):
        lo, hi = max(value, 0), min(value + width, base_width)
        if lo >= hi:
            continue
        if count == len(offset):
            base[:, :, lo:hi] = win.values[:, :, lo - value : hi - value]
        else:
            rows = torch.nonzero(offset == value).squeeze(1)
            base[rows, :, lo:hi] = win.values[rows, :, lo - value : hi - value]
    return base


class FastISM:
    """Cached activations of a batch of sequences and the window arithmetic for their edits."""

    def __init__(self, plan: LocalPlan, X: torch.Tensor):
        self.plan = plan
        self.inputs = []  # input of every local layer, (N, C, L_k)
        h = X
        for layer in plan.layers:
            self.inputs.append(h)
            h = layer(h)
        self.final = h
        if plan.global_max:
            n, c, length = h.shape
            neg = torch.full((n, c, 1), -math.inf, device=h.device, dtype=h.dtype)
            self.prefix_max = torch.cat([neg, torch.cummax(h, dim=2).values], dim=2)  # max of [:j]
            suffix = torch.flip(torch.cummax(torch.flip(h, [2]), dim=2).values, [2])
            self.suffix_max = torch.cat([suffix, neg], dim=2)  # max of [j:]
        self.reference_output = self.plan.head(h.amax(-1) if plan.global_max else h)
        self._padded = {}

    def _padded_input(self, k: int, pad: int) -> torch.Tensor:
        if k not in self._padded:
            self._padded[k] = F.pad(self.inputs[k], (pad, pad))
        return self._padded[k]

    def edited_outputs(self, seq: torch.Tensor, pos: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """Model outputs ``(E, T)`` for edits: sequence ``seq[e]``, position ``pos[e]`` set to ``base[e]``."""
        values = F.one_hot(base.long(), 4).to(self.final.dtype)[:, :, None]  # (E, 4, 1)
        win = _Windows(values, pos.clone())
        full = None  # once a window spans a whole layer, continue with full edited maps
        for k, layer in enumerate(self.plan.layers):
            if full is not None:
                full = layer(full)
                continue
            reference = self.inputs[k]
            length_in = reference.shape[2]
            if isinstance(layer, nn.Conv1d):
                w, d, p = layer.kernel_size[0], layer.dilation[0], layer.padding[0]
                length_out = length_in + 2 * p - d * (w - 1)
                width_out = win.values.shape[2] + d * (w - 1)
                if width_out >= length_out:
                    full = layer(self._stitch(reference, seq, win))
                    continue
                start = (win.start + p - d * (w - 1)).clamp(0, length_out - width_out)
                region = _gather(self._padded_input(k, p), seq, start, width_out + d * (w - 1))
                region = _overlay(region, start - p, win)
                win = _Windows(F.conv1d(region, layer.weight, layer.bias, dilation=d, groups=layer.groups), start)
            elif isinstance(layer, nn.MaxPool1d):
                size = _single(layer.kernel_size)
                length_out = length_in // size
                width_out = (win.values.shape[2] - 1) // size + 2
                if width_out >= length_out:
                    full = layer(self._stitch(reference, seq, win))
                    continue
                start = torch.div(win.start, size, rounding_mode="floor").clamp(0, length_out - width_out)
                region = _overlay(_gather(reference, seq, start * size, width_out * size), start * size, win)
                win = _Windows(F.max_pool1d(region, size), start)
            else:
                win = _Windows(layer(win.values), win.start)
        if full is not None:
            return self.plan.head(full.amax(-1) if self.plan.global_max else full)
        if self.plan.global_max:
            width = win.values.shape[2]
            outside = torch.maximum(self.prefix_max[seq, :, win.start],
                                    self.suffix_max[seq, :, win.start + width])
            return self.plan.head(torch.maximum(win.values.amax(-1), outside))
        return self.plan.head(self._stitch(self.final, seq, win))

    @staticmethod
    def _stitch(reference: torch.Tensor, seq: torch.Tensor, win: _Windows) -> torch.Tensor:
        full = reference[seq].clone()
        return _overlay(full, torch.zeros_like(win.start), win)
