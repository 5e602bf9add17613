"""The engine behind global importance analysis: predictions of window edits ("lanes") of
groups of reference sequences, from cached activations (fastISM for motif-wide edits) or from
plain forward passes.

:func:`run_families` is the entry point of :mod:`.gia`; :func:`choose_path` picks the
computation (see the "Speed" section of :mod:`.gia`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ._common import check_output
from ._fast_ism import FastISM, _single, checked_plan, fast_ism_support

GIA_METHODS = ("auto", "fast", "naive")
"""The computations of :func:`choose_path`."""


@dataclass(frozen=True)
class Lane:
    """One insertion geometry applied to the ``n`` sequences of a reference group.

    ``values (n, 4, W)`` is written at ``[start, start + W)`` of the sequences of reference
    group ``group``. A lane with a ``partner`` (the index of another lane of the same family)
    writes the same values at the same place as its partner, into another group: the sweep's
    ``bg + A + B`` lanes are partners of the ``bg + B`` lanes. A lane that is not ``needed`` is
    computed only as far as its partners need it; its outputs are NaN.
    """

    group: int
    start: int
    values: torch.Tensor
    partner: int | None = None
    needed: bool = True


class _Op(NamedTuple):
    """One step of the lane engine on channels-last windows ``(M, W, C)``.

    ``kind`` is ``"conv"`` (a Conv1d, with a directly following eval-mode BatchNorm1d folded
    in), ``"pool"``, ``"affine"`` (a lone BatchNorm1d), ``"pointwise"`` (an activation) or
    ``"identity"`` (Dropout, Identity). ``index`` is the plan layer whose cached input feeds
    the op; ``end`` the plan layer after it.
    """

    kind: str
    index: int
    end: int
    module: nn.Module
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None


def _bn_affine(bn: nn.BatchNorm1d):
    """``(scale, shift)`` with ``bn(x) = x * scale + shift`` per channel (eval mode)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else 1 / torch.sqrt(bn.running_var + bn.eps)
    shift = (bn.bias if bn.affine else 0) - bn.running_mean * scale
    return scale, shift


def _lane_ops(plan) -> list[_Op]:
    ops, layers, k = [], plan.layers, 0
    while k < len(layers):
        layer = layers[k]
        if isinstance(layer, nn.Conv1d):
            weight = layer.weight
            bias = layer.bias if layer.bias is not None else torch.zeros(layer.out_channels, device=weight.device,
                                                                         dtype=weight.dtype)
            end = k + 1
            if end < len(layers) and isinstance(layers[end], nn.BatchNorm1d) and layers[end].track_running_stats:
                scale, shift = _bn_affine(layers[end])
                weight, bias = weight * scale[:, None, None], bias * scale + shift
                end += 1
            ops.append(_Op("conv", k, end, layer, weight[:, :, None, :].contiguous(), bias.contiguous()))
        elif isinstance(layer, nn.MaxPool1d):
            ops.append(_Op("pool", k, k + 1, layer))
        elif isinstance(layer, nn.BatchNorm1d) and layer.track_running_stats:
            scale, shift = _bn_affine(layer)
            ops.append(_Op("affine", k, k + 1, layer, scale, shift))
        elif isinstance(layer, (nn.Dropout, nn.Identity)):
            ops.append(_Op("identity", k, k + 1, layer))
        else:
            ops.append(_Op("pointwise", k, k + 1, layer))
        k = ops[-1].end
    return ops


class LaneEngine(FastISM):
    """Fast insertion predictions from cached activations (fastISM for motif-wide edits).

    The references are ``G`` groups of ``n`` sequences (``X`` is ``(G * n, 4, L)``). A lane
    edits every sequence of a group at the same place, so at every layer its window starts at
    one position for all ``n`` sequences. Windows are kept channels-last ``(M, W, C)``;
    convolutions (with eval-mode batch norms folded in) run as channels-last ``conv2d``; and
    the input region of a convolution or pooling (the window in its context) is one
    ``index_select`` of contiguous blocks of the cached map plus one slice assignment of the
    windows per distinct offset (lanes are kept sorted by offset), so that each layer is a
    handful of tensor operations whatever the number of lanes.

    Partner lanes reuse the work of their partner: the difference an edit makes to a map is the
    same in two reference groups through every affine layer (convolutions, batch norm), and
    through a non-linear layer as long as the two groups' cached maps agree under the edit's
    window (whole pooling groups for a max pool). Until the first layer where that fails (in
    the sweep: where B's window meets A's), a partner lane is not computed at all; there it is
    materialised as ``ref_group + (partner_window - ref_partner_group)`` and goes on by itself.
    """

    def __init__(self, plan, X: torch.Tensor, n: int):
        super().__init__(plan, X)
        self.n = n
        self.ops = _lane_ops(plan)
        self._cl, self._differs = {}, {}
        if plan.global_max:
            self._cl["prefix"] = self.prefix_max.transpose(1, 2).contiguous()
            self._cl["suffix"] = self.suffix_max.transpose(1, 2).contiguous()

    # -- cached maps, channels-last -----------------------------------------------------------

    def _map(self, k: int, pad: int = 0) -> torch.Tensor:
        """Cached input of plan layer ``k`` (``len(layers)``: the final map), channels-last
        ``(G * n, L_k + 2 pad, C)``, zero-padded by ``pad`` on both ends."""
        if (k, pad) not in self._cl:
            ref = self.inputs[k] if k < len(self.inputs) else self.final
            out = ref.new_zeros(ref.shape[0], ref.shape[2] + 2 * pad, ref.shape[1])
            out[:, pad : pad + ref.shape[2]] = ref.transpose(1, 2)
            self._cl[k, pad] = out
        return self._cl[k, pad]

    def _diff_map(self, k: int, h: int) -> torch.Tensor:
        """Map ``k`` of every group minus that of group ``h``: ``(G * n, L_k, C)``."""
        if ("diff", k, h) not in self._cl:
            ref = self._map(k)
            other = ref[h * self.n : (h + 1) * self.n]
            self._cl["diff", k, h] = (ref.view(-1, self.n, *ref.shape[1:]) - other).view(ref.shape)
        return self._cl["diff", k, h]

    def _rows(self, groups: np.ndarray) -> np.ndarray:
        """Row of every (lane, sequence) in the reference maps: ``(A, n)``."""
        return groups[:, None] * self.n + np.arange(self.n)

    def _windows(self, ref: torch.Tensor, groups: np.ndarray, starts: np.ndarray, width: int) -> torch.Tensor:
        """``ref[g * n + i, s : s + width]`` for every lane ``(g, s)`` and row ``i``: ``(A * n, width, C)``.

        One ``index_select`` of contiguous ``width * C`` blocks from an overlapping strided view.
        """
        rows, length, channels = ref.shape
        blocks = ref.as_strided((rows * length - width + 1, width * channels), (channels, 1))
        index = torch.from_numpy((self._rows(groups) * length + starts[:, None]).reshape(-1)).to(ref.device)
        return blocks.index_select(0, index).view(-1, width, channels)

    def _region(self, k: int, pad: int, groups: np.ndarray, region_starts: np.ndarray, width: int,
                offsets: list[int], vals: torch.Tensor) -> torch.Tensor:
        """Columns ``[region_start, region_start + width)`` of map ``(k, pad)`` with the lane windows
        ``vals (A * n, W, C)`` written in at ``offsets`` (clipped); lanes with equal offsets must be
        consecutive (see :meth:`run`), so each offset is one slice assignment."""
        region = self._windows(self._map(k, pad), groups, region_starts, width)
        a, w = len(groups), vals.shape[1]
        region4, vals4 = region.view(a, self.n, width, -1), vals.view(a, self.n, w, -1)
        first = 0
        for last in range(1, a + 1):
            if last == a or offsets[last] != offsets[first]:
                o = offsets[first]
                lo, hi = max(o, 0), min(o + w, width)
                if lo < hi:
                    region4[first:last, :, lo:hi] = vals4[first:last, :, lo - o : hi - o]
                first = last
        return region

    def _groups_differ(self, k: int, g: int, h: int, lo: int, hi: int) -> bool:
        """Whether the cached inputs of plan layer ``k`` of groups ``g`` and ``h`` differ in ``[lo, hi)``."""
        if (k, g, h) not in self._differs:
            ref = self.inputs[k]
            self._differs[k, g, h] = (ref[g * self.n : (g + 1) * self.n] != ref[h * self.n : (h + 1) * self.n]) \
                .any(0).any(0).cpu()
        return bool(self._differs[k, g, h][max(lo, 0) : hi].any())

    # -- lanes ----------------------------------------------------------------------------------

    def run(self, lanes: list[Lane]) -> torch.Tensor:
        """Model outputs ``(M, n, T)`` of the ``M`` lanes (partners index into ``lanes``)."""
        n, device = self.n, self.final.device
        explicit = [i for i, lane in enumerate(lanes) if lane.partner is None]
        pending = [i for i, lane in enumerate(lanes) if lane.partner is not None]
        slot = {i: m for m, i in enumerate(explicit)}  # lane -> lane block of `vals`
        groups = [lanes[i].group for i in explicit]
        starts = [lanes[i].start for i in explicit]
        vals = torch.cat([lanes[i].values for i in explicit]).to(device, self.final.dtype).transpose(1, 2)
        state = {"vals": vals.contiguous()}  # (A * n, W, C)

        def switch(qs: list[int], k: int):
            """Materialise pending lanes ``qs`` at the input of plan layer ``k`` (``len(layers)``:
            the final map) as ``ref_group + (partner - ref_partner_group)``."""
            if not qs:
                return
            vals, w = state["vals"], state["vals"].shape[1]
            extra = []
            for h in sorted({groups[slot[lanes[q].partner]] for q in qs}):
                batch = [q for q in qs if groups[slot[lanes[q].partner]] == h]
                partners = np.array([slot[lanes[q].partner] for q in batch])
                diff = self._windows(self._diff_map(k, h), np.array([lanes[q].group for q in batch]),
                                     np.array([starts[p] for p in partners]), w)
                rows = torch.from_numpy((partners[:, None] * n + np.arange(n)).reshape(-1)).to(device)
                extra.append(diff.add_(vals.index_select(0, rows)))
                for q, p in zip(batch, partners.tolist()):
                    slot[q] = len(groups)
                    groups.append(lanes[q].group)
                    starts.append(starts[p])
                    pending.remove(q)
            state["vals"] = torch.cat([vals, *extra])
            retire()

        def retire():
            """Drop lanes that are not needed once no pending lane depends on them."""
            waiting = {lanes[q].partner for q in pending}
            gone = [i for i in list(slot) if not lanes[i].needed and i not in waiting]
            if not gone:
                return
            removed = {slot[i] for i in gone}
            keep = [m for m in range(len(groups)) if m not in removed]
            for i in gone:
                del slot[i]
                dropped.add(i)
            state["vals"] = self._reorder(state["vals"], np.array(keep), slot, groups, starts)

        dropped = set()
        retire()
        full = None  # once a window spans a whole layer, continue with full maps (channels-first)
        for op in self.ops:
            if full is not None:
                for layer in self.plan.layers[op.index : op.end]:
                    full = layer(full)
                continue
            w_in = state["vals"].shape[1]
            length_in = self.inputs[op.index].shape[2]
            if pending and op.kind in ("pool", "pointwise"):
                span = _single(op.module.kernel_size) if op.kind == "pool" else 1
                near = []
                for q in pending:
                    s = starts[slot[lanes[q].partner]]
                    lo, hi = s // span * span, -(-(s + w_in) // span) * span  # whole pooling groups
                    if self._groups_differ(op.index, lanes[q].group, lanes[lanes[q].partner].group, lo, hi):
                        near.append(q)
                switch(near, op.index)
            vals = state["vals"]
            if op.kind in ("conv", "pool"):
                first = np.array(starts)
                if op.kind == "conv":
                    kw, d, pad = op.module.kernel_size[0], op.module.dilation[0], op.module.padding[0]
                    length_out = length_in + 2 * pad - d * (kw - 1)
                    w_out = w_in + d * (kw - 1)
                    out_starts = np.clip(first + pad - d * (kw - 1), 0, length_out - w_out)
                    region_starts, region_width = out_starts, w_out + d * (kw - 1)
                    offsets = first + pad - region_starts  # window start within the region (padded map)
                else:
                    size, pad = _single(op.module.kernel_size), 0
                    length_out = length_in // size
                    w_out = (w_in - 1) // size + 2
                    out_starts = np.minimum(first // size, length_out - w_out)
                    region_starts, region_width = out_starts * size, w_out * size
                    offsets = first - region_starts
                if w_out >= length_out:
                    switch(list(pending), op.index)
                    full = self._stitch_lanes(op.index, groups, starts, state["vals"]).transpose(1, 2).contiguous()
                    for layer in self.plan.layers[op.index : op.end]:
                        full = layer(full)
                    continue
                order = np.argsort(offsets, kind="stable")
                if (np.diff(offsets[order]) != 0).sum() < (np.diff(offsets) != 0).sum():
                    # group lanes with equal offsets (one slice assignment each in _region)
                    vals = self._reorder(vals, order, slot, groups, starts)
                    out_starts, region_starts, offsets = out_starts[order], region_starts[order], offsets[order]
                region = self._region(op.index, pad, np.array(groups), region_starts, region_width, offsets.tolist(),
                                      vals)
                if op.kind == "conv":
                    x = region.unsqueeze(1).permute(0, 3, 1, 2)  # (M, C, 1, R), channels-last memory
                    out = F.conv2d(x, op.weight, op.bias, dilation=(1, d), groups=op.module.groups)
                    vals = out.permute(0, 2, 3, 1).reshape(len(region), w_out, -1)
                else:
                    vals = region.view(len(region), w_out, size, -1).amax(2)
                starts[:] = out_starts.tolist()
            elif op.kind == "affine":
                vals = torch.addcmul(op.bias, vals, op.weight)
            elif op.kind == "pointwise":
                vals = torch.relu_(vals) if type(op.module) is nn.ReLU else op.module(vals)  # vals is fresh
            state["vals"] = vals
        if full is not None:
            out = self.plan.head(full.amax(-1) if self.plan.global_max else full)
        else:
            switch(list(pending), len(self.plan.layers))
            vals = state["vals"]
            if self.plan.global_max:
                g, s = np.array(groups), np.array(starts)
                outside = torch.maximum(self._windows(self._cl["prefix"], g, s, 1),
                                        self._windows(self._cl["suffix"], g, s + vals.shape[1], 1))
                out = self.plan.head(torch.maximum(vals.amax(1), outside[:, 0]))
            else:
                out = self.plan.head(self._stitch_lanes(len(self.plan.layers), groups, starts, vals).transpose(1, 2))
        out = out.unflatten(0, (len(groups), n))
        out = torch.cat([out, torch.full_like(out[:1], math.nan)])  # row -1: dropped lanes
        return out[torch.tensor([slot.get(i, -1) for i in range(len(lanes))], device=out.device)]

    def _stitch_lanes(self, k: int, groups, starts, vals) -> torch.Tensor:
        """Full channels-last maps ``(A * n, L_k, C)``: each lane's window written into its group's map
        (lane order kept)."""
        length, n = self._map(k).shape[1], self.n
        full = self._windows(self._map(k), np.array(groups), np.zeros(len(groups), dtype=np.int64), length)
        full4, vals4 = full.view(len(groups), n, length, -1), vals.view(len(groups), n, vals.shape[1], -1)
        for lane, s in enumerate(starts):
            hi = min(s + vals.shape[1], length)
            full4[lane, :, s:hi] = vals4[lane, :, : hi - s]
        return full

    def _reorder(self, vals: torch.Tensor, order: np.ndarray, slot: dict, groups: list, starts: list) -> torch.Tensor:
        """Keep the lanes (blocks of ``n`` rows of ``vals``) listed in ``order``, in that order;
        updates ``slot``, ``groups`` and ``starts`` in place and returns the new ``vals``."""
        new_position = np.full(len(groups), -1, dtype=np.int64)
        new_position[order] = np.arange(len(order))
        for lane, old in slot.items():
            slot[lane] = int(new_position[old])
        groups[:] = [groups[i] for i in order]
        starts[:] = [starts[i] for i in order]
        index = torch.from_numpy(order).to(vals.device)
        lanes = vals.view(-1, self.n, *vals.shape[1:])
        return lanes.index_select(0, index).view(len(order) * self.n, *vals.shape[1:])


class Evaluator:
    """Predictions for ``G`` reference groups of ``n`` sequences and for lanes of edits of them.

    With a (checked) local ``plan``: a :class:`LaneEngine`; with None the edited sequences are built and run through
    the model in batches (partners are ignored there: every lane is computed in full).
    """

    def __init__(self, model: nn.Module, references: torch.Tensor, n: int, plan, batch_size: int):
        self.model = model
        self.references = references
        self.n = n
        self.batch_size = batch_size
        self.fast = plan is not None
        if self.fast:
            self.engine = LaneEngine(plan, references, n)
            self.reference_output = self.engine.reference_output
        else:
            step = min(batch_size, NAIVE_BATCH)
            self.reference_output = torch.cat([model(references[i : i + step])
                                               for i in range(0, len(references), step)])
        check_output(self.reference_output, len(references))

    def families(self, families: list[list[Lane]], target: int, bar=None) -> list[torch.Tensor]:
        """Target outputs ``(len(family), n)`` per family; a lane's partner indexes its own family.

        Families are batched whole (about ``batch_size`` edited sequences per batch) so partners
        run together; lanes of one batch must share the edit width. ``bar`` (tqdm) is advanced
        by the number of families done.
        """
        results = [None] * len(families)
        batches, current, size = [], [], 0
        for f, family in enumerate(families):
            if current and (size + len(family) * self.n > self.batch_size
                            or family[0].values.shape[2] != families[current[0]][0].values.shape[2]):
                batches.append(current)
                current, size = [], 0
            current.append(f)
            size += len(family) * self.n
        if current:
            batches.append(current)
        for batch in batches:
            lanes, bounds = [], []
            for f in batch:
                offset = len(lanes)
                lanes += [Lane(lane.group, lane.start, lane.values,
                               None if lane.partner is None else lane.partner + offset, lane.needed)
                          for lane in families[f]]
                bounds.append((f, offset, len(lanes)))
            out = self._run(lanes)[:, :, target]
            for f, lo, hi in bounds:
                results[f] = out[lo:hi]
            if bar is not None:
                bar.update(len(batch))
        return results

    def _run(self, lanes: list[Lane]) -> torch.Tensor:
        if self.fast:
            return self.engine.run(lanes)
        n = self.n
        needed = [m for m, lane in enumerate(lanes) if lane.needed]
        if not needed:
            return torch.full((len(lanes), n, self.reference_output.shape[1]), math.nan,
                              dtype=self.reference_output.dtype, device=self.reference_output.device)
        edited = torch.stack([self.references[lanes[m].group * n : (lanes[m].group + 1) * n] for m in needed])
        for e, m in enumerate(needed):  # edited: (M', n, 4, L)
            edited[e, :, :, lanes[m].start : lanes[m].start + lanes[m].values.shape[2]] = lanes[m].values
        edited = edited.flatten(0, 1)
        step = min(self.batch_size, NAIVE_BATCH)
        computed = torch.cat([self.model(edited[i : i + step]) for i in range(0, len(edited), step)])
        out = torch.full((len(lanes), n, computed.shape[1]), math.nan, dtype=computed.dtype, device=computed.device)
        out[needed] = computed.unflatten(0, (len(needed), n))
        return out


BACKGROUND_CHUNK = 128
"""Backgrounds whose activations are cached at once (bounds the fast path's memory)."""
NAIVE_BATCH = 256
"""Largest forward pass of the plain path (bigger ones are slower on CPU: fresh allocations)."""


def run_families(model: nn.Module, references: list[torch.Tensor], families: list[list[Lane]], target: int,
                  plan, batch_size: int, device, progress: bool, desc: str):
    """Predictions of reference groups and of families of lanes, chunked over backgrounds.

    Parameters
    ----------
    references : list of G tensors, shape (n, 4, L)
        Reference group ``g`` (e.g. the backgrounds, then the backgrounds with A).
    families : list of list of Lane
        Lanes with values ``(n, 4, W)`` (one site per background); partners index the family.
    plan : LocalPlan or None
        From :func:`choose_path`: the fast path's checked plan, or None for forward passes.

    Returns
    -------
    (torch.Tensor, list of torch.Tensor)
        Target outputs of the references ``(G, n)`` and of each family ``(len(family), n)``, on
        ``device``.
    """
    n = references[0].shape[0]
    starts = range(0, n, BACKGROUND_CHUNK)
    reference = torch.empty(len(references), n, device=device)
    outputs = [torch.empty(len(family), n, device=device) for family in families]
    with tqdm(total=len(families) * len(starts), desc=desc, disable=not progress, unit="insertion") as bar:
        for lo in starts:
            hi = min(lo + BACKGROUND_CHUNK, n)
            evaluator = Evaluator(model, torch.cat([r[lo:hi] for r in references]).to(device), hi - lo, plan,
                                   batch_size)
            reference[:, lo:hi] = evaluator.reference_output[:, target].view(len(references), hi - lo)
            chunk = [[Lane(lane.group, lane.start, lane.values[lo:hi].to(device), lane.partner, lane.needed)
                      for lane in family] for family in families]
            for f, out in enumerate(evaluator.families(chunk, target, bar)):
                outputs[f][:, lo:hi] = out
    return reference, outputs


def check_method(method: str) -> None:
    if method not in GIA_METHODS:
        raise ValueError(f"method must be one of {GIA_METHODS}; got {method!r}")


def choose_path(model: nn.Module, method: str, backgrounds: torch.Tensor, device):
    """The checked local plan of the fast path (:func:`._fast_ism.checked_plan`), or None for
    plain forward passes; raises for ``method="fast"`` when the fast path does not apply."""
    plan = checked_plan(model, backgrounds, device, strict=method == "fast",
                        n_edits=len(backgrounds)) if method != "naive" else None
    if method == "fast" and plan is None:
        raise ValueError(f"the fast path does not apply to {type(model).__name__} ({fast_ism_support(model)}); "
                         "use method='naive' or 'auto'")
    return plan
