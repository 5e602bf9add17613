"""The one window engine: predictions of edited sequences from cached activations.

An edit writes new one-hot values into ``[start, start + W)`` of a sequence (``W = 1``: a
single-base substitution, as in ISM; a motif-wide ``W``: an insertion, a knock-out, a
variant's window). Through position-local layers it changes only a bounded window of each
layer's output (fastISM, Nair et al. 2022, Bioinformatics 38:2397): a convolution widens the
window by ``dilation * (width - 1)``, a non-overlapping max pool shrinks it by its stride,
element-wise layers keep it, and a :class:`~xai_widgets.contract.Residual` block adds the
edited input back onto its body's window. For every edit only that window is computed, from
the cached activations of the unedited sequence, and then either the global max is finished
with prefix/suffix maxima of the cached final map or the window is stitched into the cached
final map for the head. Windows have one size per layer (clamped at the sequence ends), so a
batch of edits is a handful of tensor operations whatever its size.

Sequences come in *groups*: the references ``X`` are ``G`` groups of ``n`` sequences, and an
edit ("lane") writes the same place of every sequence of its group (ISM and variant scoring
use ``n = 1``; global importance analysis edits ``n`` backgrounds at once). Windows are kept
channels-last ``(M, W, C)``; convolutions (with a directly following eval-mode BatchNorm1d
folded in) run as channels-last ``conv2d``; the input region of a convolution or pool is one
``index_select`` of contiguous blocks of the cached map plus one slice assignment per distinct
offset of the windows in it.

Partner lanes (the spacing sweep's ``bg + A + B``, partner of ``bg + B``) reuse their
partner's work: the difference an edit makes to a map is the same in two groups through every
affine layer, and through a non-linear one as long as the two groups' cached maps agree under
the window (whole pooling groups for a max pool). Until the first layer where that fails a
partner lane is not computed; there it is materialised as ``ref_group + (partner window -
ref_partner_group)`` and goes on by itself. Partners are materialised before a residual block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...contract import LocalPlan, Residual


def _single(value) -> int:
    """The int of a torch 1-d layer setting (``kernel_size`` may be an int or a 1-tuple)."""
    return value[0] if isinstance(value, tuple) else value


class LengthMajorPlan(LocalPlan):
    """A :class:`~xai_widgets.contract.LocalPlan` whose engine hands the head the stitched final
    map length-major in memory, ``(L', M, C)`` seen as ``(M, C, L')``: a head that reads the
    map along its length (an LSTM, which wants ``(L', M, C)``) then needs no transposing copy.
    The path decision returns one when timing shows it faster (same numbers either way)."""

    __slots__ = ()


@dataclass(frozen=True)
class Lane:
    """One edit applied to the ``n`` sequences of a reference group.

    ``values (n, 4, W)`` is written at ``[start, start + W)`` of the sequences of group
    ``group``. A lane with a ``partner`` (the index of another lane of the same batch) writes the
    same values at the same place as its partner, into another group. A lane that is not
    ``needed`` is computed only as far as its partners need it; its outputs are NaN.
    """

    group: int
    start: int
    values: torch.Tensor
    partner: int | None = None
    needed: bool = True


class _Op(NamedTuple):
    """One step of the engine on channels-last windows ``(M, W, C)``.

    ``kind``: ``"conv"`` (a Conv1d, with a directly following eval-mode BatchNorm1d folded in),
    ``"pool"``, ``"affine"`` (a lone BatchNorm1d), ``"pointwise"`` (an activation),
    ``"identity"`` (Dropout, Identity) or ``"residual"`` (``body`` holds its ops). ``ref`` is the
    cached input of the op on the unedited sequences, channels-first ``(G n, C, L_k)``;
    ``modules`` the plan layers it stands for (applied as they are once a window spans a map).
    """

    kind: str
    ref: torch.Tensor
    modules: tuple
    module: nn.Module | None = None
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    body: tuple = ()


def _bn_affine(bn: nn.BatchNorm1d):
    """``(scale, shift)`` with ``bn(x) = x * scale + shift`` per channel (eval mode)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else 1 / torch.sqrt(bn.running_var + bn.eps)
    shift = (bn.bias if bn.affine else 0) - bn.running_mean * scale
    return scale, shift


def _build(layers, h: torch.Tensor):
    """The ops of ``layers`` with their cached inputs on ``h``, and the final map."""
    ops, k = [], 0
    while k < len(layers):
        layer = layers[k]
        if isinstance(layer, Residual):
            body, body_out = _build(list(layer.body), h)
            ops.append(_Op("residual", h, (layer,), layer, body=tuple(body)))
            h = h + body_out
            k += 1
            continue
        if isinstance(layer, nn.Conv1d):
            weight = layer.weight
            bias = layer.bias if layer.bias is not None else torch.zeros(layer.out_channels, device=weight.device,
                                                                         dtype=weight.dtype)
            end = k + 1
            if end < len(layers) and isinstance(layers[end], nn.BatchNorm1d) and layers[end].track_running_stats:
                scale, shift = _bn_affine(layers[end])
                weight, bias = weight * scale[:, None, None], bias * scale + shift
                end += 1
            op = _Op("conv", h, tuple(layers[k:end]), layer, weight[:, :, None, :].contiguous(), bias.contiguous())
        elif isinstance(layer, nn.MaxPool1d):
            op = _Op("pool", h, (layer,), layer)
        elif isinstance(layer, nn.BatchNorm1d) and layer.track_running_stats:
            scale, shift = _bn_affine(layer)
            op = _Op("affine", h, (layer,), layer, scale, shift)
        elif isinstance(layer, (nn.Dropout, nn.Identity)):
            op = _Op("identity", h, (layer,), layer)
        else:
            op = _Op("pointwise", h, (layer,), layer)
        ops.append(op)
        for module in op.modules:  # keep the cached input: copy before an in-place layer
            h = module(h.clone() if getattr(module, "inplace", False) else h)
        k += len(op.modules)
    return ops, h


def _full(ops, full: torch.Tensor) -> torch.Tensor:
    """Apply the plan layers of ``ops`` to whole maps (channels-first)."""
    for op in ops:
        for module in op.modules:
            full = module(full)
    return full


class _Lanes:
    """The lanes in flight: their windows ``vals (A n, W, C)``, groups, starts and bookkeeping."""

    def __init__(self, vals, groups, starts, slot, pending, lanes):
        self.vals, self.groups, self.starts, self.slot, self.pending, self.lanes = \
            vals, groups, starts, slot, pending, lanes
        self.dropped = set()


class WindowEngine:
    """Cached activations of reference sequences and the window arithmetic for their edits.

    Parameters
    ----------
    plan : LocalPlan
        A checked plan (see :func:`.path.decide`); its layers are computed here from their
        weights, its head as it is.
    X : torch.Tensor, shape (G * n, 4, L)
        The reference sequences, on the device to compute on, in the model's dtype.
    n : int
        Sequences per group (default 1: every sequence is its own group).
    """

    def __init__(self, plan: LocalPlan, X: torch.Tensor, n: int = 1):
        self.plan, self.n = plan, n
        with torch.no_grad():
            self.ops, self.final = _build(list(plan.layers), X)
            self.reference_output = plan.head(self.final.amax(-1) if plan.global_max else self.final)
        self._cl, self._differs = {}, {}
        if plan.global_max:
            h = self.final
            neg = torch.full((h.shape[0], h.shape[1], 1), -math.inf, device=h.device, dtype=h.dtype)
            prefix = torch.cat([neg, torch.cummax(h, dim=2).values], dim=2)  # max of [:j]
            suffix = torch.cat([torch.flip(torch.cummax(torch.flip(h, [2]), dim=2).values, [2]), neg], dim=2)
            self._prefix = prefix.transpose(1, 2).contiguous()  # channels-last (G n, L' + 1, C)
            self._suffix = suffix.transpose(1, 2).contiguous()

    # -- cached maps, channels-last -----------------------------------------------------------

    def _map(self, ref: torch.Tensor, pad: int = 0) -> torch.Tensor:
        """``ref`` channels-last ``(G n, L_k + 2 pad, C)``, zero-padded by ``pad`` on both ends."""
        key = (id(ref), pad)  # refs live as long as the engine
        if key not in self._cl:
            out = ref.new_zeros(ref.shape[0], ref.shape[2] + 2 * pad, ref.shape[1])
            out[:, pad : pad + ref.shape[2]] = ref.transpose(1, 2)
            self._cl[key] = out
        return self._cl[key]

    def _diff_map(self, ref: torch.Tensor, h: int) -> torch.Tensor:
        """Map ``ref`` of every group minus that of group ``h``: ``(G n, L_k, C)``."""
        key = ("diff", id(ref), h)
        if key not in self._cl:
            cl = self._map(ref)
            other = cl[h * self.n : (h + 1) * self.n]
            self._cl[key] = (cl.view(-1, self.n, *cl.shape[1:]) - other).view(cl.shape)
        return self._cl[key]

    def _rows(self, groups: np.ndarray) -> np.ndarray:
        """Row of every (lane, sequence) in the reference maps: ``(A, n)``."""
        return groups[:, None] * self.n + np.arange(self.n)

    def _windows(self, cl: torch.Tensor, groups: np.ndarray, starts: np.ndarray, width: int) -> torch.Tensor:
        """``cl[g n + i, s : s + width]`` for every lane ``(g, s)`` and row ``i``: ``(A n, width, C)``,
        contiguous (one advanced-indexing gather; much faster on CPU than ``index_select`` over an
        overlapping strided view when windows are wide)."""
        rows = torch.from_numpy(self._rows(groups).reshape(-1)).to(cl.device)
        first = torch.from_numpy(np.repeat(np.asarray(starts, dtype=np.int64), self.n)).to(cl.device)
        return cl[rows[:, None], first[:, None] + torch.arange(width, device=cl.device)]

    def _region(self, ref, pad: int, groups: np.ndarray, region_starts: np.ndarray, width: int,
                offsets: np.ndarray, vals: torch.Tensor) -> torch.Tensor:
        """Columns ``[region_start, region_start + width)`` of map ``ref`` (padded by ``pad``)
        with the lane windows ``vals (A n, W, C)`` written in at ``offsets`` (clipped). Each run of
        equal consecutive offsets is one slice assignment."""
        region = self._windows(self._map(ref, pad), groups, region_starts, width)
        a, w = len(groups), vals.shape[1]
        region4, vals4 = region.view(a, self.n, width, -1), vals.view(a, self.n, w, -1)
        if a == 0:
            return region
        bounds = np.flatnonzero(np.diff(offsets)) + 1
        for first, last in zip(np.concatenate([[0], bounds]).tolist(), np.concatenate([bounds, [a]]).tolist()):
            o = int(offsets[first])
            lo, hi = max(o, 0), min(o + w, width)
            if lo < hi:
                region4[first:last, :, lo:hi] = vals4[first:last, :, lo - o : hi - o]
        return region

    def _groups_differ(self, ref: torch.Tensor, g: int, h: int, lo: int, hi: int) -> bool:
        """Whether the cached map ``ref`` of groups ``g`` and ``h`` differ in ``[lo, hi)``."""
        key = (id(ref), g, h)
        if key not in self._differs:
            n = self.n
            self._differs[key] = (ref[g * n : (g + 1) * n] != ref[h * n : (h + 1) * n]).any(0).any(0).cpu()
        return bool(self._differs[key][max(lo, 0) : hi].any())

    def _stitch(self, ref: torch.Tensor, groups: np.ndarray, starts: np.ndarray, vals: torch.Tensor,
                length_major: bool = False) -> torch.Tensor:
        """Whole maps with each lane's window written in: channels-last ``(A n, L_k, C)``, or with
        ``length_major`` ``(L_k, A n, C)`` in memory."""
        cl = self._map(ref)
        rows = torch.from_numpy(self._rows(groups).reshape(-1)).to(cl.device)
        width = vals.shape[1]
        index = (torch.from_numpy(np.repeat(starts, self.n)).to(cl.device)[:, None]
                 + torch.arange(width, device=cl.device))  # (A n, W)
        if length_major:
            key = ("lm", id(ref))
            if key not in self._cl:
                self._cl[key] = cl.transpose(0, 1).contiguous()  # (L_k, G n, C)
            full = self._cl[key].index_select(1, rows)
            return full.scatter_(0, index.T[:, :, None].expand(-1, -1, full.shape[2]), vals.transpose(0, 1))
        full = cl.index_select(0, rows)
        return full.scatter_(1, index[:, :, None].expand(-1, -1, full.shape[2]), vals)

    # -- edits ----------------------------------------------------------------------------------

    def edit(self, groups, starts, values: torch.Tensor) -> torch.Tensor:
        """Model outputs ``(A n, T)`` for edits without partners: ``values (A n, 4, W)`` written at
        ``[starts[a], starts[a] + W)`` of every sequence of group ``groups[a]`` (rows in lane
        order, then sequence order)."""
        groups = np.asarray(groups, dtype=np.int64)
        starts = np.asarray(starts, dtype=np.int64)
        vals = values.to(self.final.device, self.final.dtype).transpose(1, 2).contiguous()
        state = _Lanes(vals, list(groups.tolist()), list(starts.tolist()),
                       {i: i for i in range(len(groups))}, [], None)
        return self._finish(state, self._walk(self.ops, state)).flatten(0, 1)

    def edit_substitutions(self, seq: torch.Tensor, pos: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """Outputs ``(E, T)`` of single-base edits (``n = 1``): sequence ``seq[e]`` with base
        ``base[e]`` at position ``pos[e]``."""
        values = F.one_hot(base.long(), 4).to(self.final.dtype)[:, :, None]
        return self.edit(seq.cpu().numpy(), pos.cpu().numpy(), values)

    def run(self, lanes: list[Lane]) -> torch.Tensor:
        """Model outputs ``(M, n, T)`` of the ``M`` lanes (partners index into ``lanes``); a lane
        that is not needed gets NaN."""
        explicit = [i for i, lane in enumerate(lanes) if lane.partner is None]
        pending = [i for i, lane in enumerate(lanes) if lane.partner is not None]
        slot = {i: m for m, i in enumerate(explicit)}  # lane -> lane block of `vals`
        vals = torch.cat([lanes[i].values for i in explicit]).to(self.final.device, self.final.dtype)
        state = _Lanes(vals.transpose(1, 2).contiguous(), [lanes[i].group for i in explicit],
                       [lanes[i].start for i in explicit], slot, pending, lanes)
        self._retire(state)
        return self._finish(state, self._walk(self.ops, state))

    def _walk(self, ops, st: _Lanes, reorder: bool = True) -> torch.Tensor | None:
        """Carry the lane windows through ``ops``; returns None (windows in ``st``) or, once a
        window spans a whole map, the full edited maps (channels-first) after ``ops``. Lanes are
        regrouped by offset only when ``reorder`` (not inside a residual body, whose input
        windows are added back in their order)."""
        full = None
        for op in ops:
            if full is not None:
                full = _full([op], full)
                continue
            if op.kind == "residual":
                self._switch(st, list(st.pending), op.ref)
                in_vals, in_starts = st.vals, np.array(st.starts)
                body = self._walk(op.body, st, reorder=False)
                groups = np.array(st.groups)
                if body is not None:
                    full = body + self._stitch(op.ref, groups, in_starts, in_vals).transpose(1, 2)
                    continue
                out_starts = np.array(st.starts)
                skip = self._region(op.ref, 0, groups, out_starts, st.vals.shape[1], in_starts - out_starts, in_vals)
                st.vals = st.vals + skip
                continue
            w_in = st.vals.shape[1]
            length_in = op.ref.shape[2]
            if st.pending and op.kind in ("pool", "pointwise"):
                span = _single(op.module.kernel_size) if op.kind == "pool" else 1
                near = []
                for q in st.pending:
                    s = st.starts[st.slot[st.lanes[q].partner]]
                    lo, hi = s // span * span, -(-(s + w_in) // span) * span  # whole pooling groups
                    if self._groups_differ(op.ref, st.lanes[q].group, st.lanes[st.lanes[q].partner].group, lo, hi):
                        near.append(q)
                self._switch(st, near, op.ref)
            vals = st.vals
            if op.kind in ("conv", "pool"):
                first = np.array(st.starts)
                if op.kind == "conv":
                    kw, d, pad = op.module.kernel_size[0], op.module.dilation[0], op.module.padding[0]
                    length_out = length_in + 2 * pad - d * (kw - 1)
                    w_out = w_in + d * (kw - 1)
                    out_starts = np.clip(first + pad - d * (kw - 1), 0, max(length_out - w_out, 0))
                    region_starts, region_width = out_starts, w_out + d * (kw - 1)
                    offsets = first + pad - region_starts  # window start within the region (padded map)
                else:
                    size, pad = _single(op.module.kernel_size), 0
                    length_out = length_in // size
                    w_out = (w_in - 1) // size + 2
                    out_starts = np.minimum(first // size, max(length_out - w_out, 0))
                    region_starts, region_width = out_starts * size, w_out * size
                    offsets = first - region_starts
                if w_out >= length_out:
                    self._switch(st, list(st.pending), op.ref)
                    stitched = self._stitch(op.ref, np.array(st.groups), np.array(st.starts), st.vals)
                    full = _full([op], stitched.transpose(1, 2).contiguous())
                    continue
                order = np.argsort(offsets, kind="stable")
                if reorder and (np.diff(offsets[order]) != 0).sum() < (np.diff(offsets) != 0).sum():
                    # group lanes with equal offsets (one slice assignment each in _region)
                    vals = self._reorder(st, vals, order)
                    out_starts, region_starts, offsets = out_starts[order], region_starts[order], offsets[order]
                region = self._region(op.ref, pad, np.array(st.groups), region_starts, region_width, offsets, vals)
                if op.kind == "conv":
                    x = region.unsqueeze(1).permute(0, 3, 1, 2)  # (M, C, 1, R), channels-last memory
                    out = F.conv2d(x, op.weight, op.bias, dilation=(1, d), groups=op.module.groups)
                    vals = out.permute(0, 2, 3, 1).reshape(len(region), w_out, -1)
                else:
                    vals = region.view(len(region), w_out, size, -1).amax(2)
                st.starts[:] = out_starts.tolist()
            elif op.kind == "affine":
                vals = torch.addcmul(op.bias, vals, op.weight)
            elif op.kind == "pointwise":
                vals = torch.relu(vals) if type(op.module) is nn.ReLU else op.module(vals)
            st.vals = vals
        return full

    def _finish(self, st: _Lanes, full: torch.Tensor | None) -> torch.Tensor:
        """Head outputs ``(M, n, T)`` of the lanes (NaN for dropped ones)."""
        plan = self.plan
        if full is not None:
            out = plan.head(full.amax(-1) if plan.global_max else full)
        else:
            self._switch(st, list(st.pending), self.final)
            groups, starts = np.array(st.groups), np.array(st.starts)
            if plan.global_max:
                outside = torch.maximum(self._windows(self._prefix, groups, starts, 1),
                                        self._windows(self._suffix, groups, starts + st.vals.shape[1], 1))
                out = plan.head(torch.maximum(st.vals.amax(1), outside[:, 0]))
            elif isinstance(plan, LengthMajorPlan):
                out = plan.head(self._stitch(self.final, groups, starts, st.vals, length_major=True).permute(1, 2, 0))
            else:
                out = plan.head(self._stitch(self.final, groups, starts, st.vals).transpose(1, 2))
        out = out.unflatten(0, (len(st.groups), self.n))
        if st.lanes is None and len(st.slot) == len(st.groups) and \
                all(m == i for i, m in st.slot.items()):  # no partners, no reordering
            return out
        total = len(st.lanes) if st.lanes is not None else len(st.slot)
        out = torch.cat([out, torch.full_like(out[:1], math.nan)])  # row -1: dropped lanes
        return out[torch.tensor([st.slot.get(i, -1) for i in range(total)], device=out.device)]

    def _switch(self, st: _Lanes, qs: list[int], ref: torch.Tensor) -> None:
        """Materialise pending lanes ``qs`` at map ``ref`` as ``ref_group + (partner - ref_partner_group)``."""
        if not qs:
            return
        lanes, n, vals, w = st.lanes, self.n, st.vals, st.vals.shape[1]
        extra = []
        for h in sorted({st.groups[st.slot[lanes[q].partner]] for q in qs}):
            batch = [q for q in qs if st.groups[st.slot[lanes[q].partner]] == h]
            partners = np.array([st.slot[lanes[q].partner] for q in batch])
            diff = self._windows(self._diff_map(ref, h), np.array([lanes[q].group for q in batch]),
                                 np.array([st.starts[p] for p in partners]), w)
            rows = torch.from_numpy((partners[:, None] * n + np.arange(n)).reshape(-1)).to(vals.device)
            extra.append(diff.add_(vals.index_select(0, rows)))
            for q, p in zip(batch, partners.tolist()):
                st.slot[q] = len(st.groups)
                st.groups.append(lanes[q].group)
                st.starts.append(st.starts[p])
                st.pending.remove(q)
        st.vals = torch.cat([vals, *extra])
        self._retire(st)

    def _retire(self, st: _Lanes) -> None:
        """Drop lanes that are not needed once no pending lane depends on them."""
        if st.lanes is None:
            return
        waiting = {st.lanes[q].partner for q in st.pending}
        gone = [i for i in list(st.slot) if not st.lanes[i].needed and i not in waiting]
        if not gone:
            return
        removed = {st.slot[i] for i in gone}
        keep = [m for m in range(len(st.groups)) if m not in removed]
        for i in gone:
            del st.slot[i]
            st.dropped.add(i)
        st.vals = self._reorder(st, st.vals, np.array(keep, dtype=np.int64))

    def _reorder(self, st: _Lanes, vals: torch.Tensor, order: np.ndarray) -> torch.Tensor:
        """Keep the lanes (blocks of ``n`` rows of ``vals``) listed in ``order``, in that order;
        updates the slots, groups and starts of ``st`` and returns the new ``vals``."""
        new_position = np.full(len(st.groups), -1, dtype=np.int64)
        new_position[order] = np.arange(len(order))
        for lane, old in st.slot.items():
            st.slot[lane] = int(new_position[old])
        st.groups[:] = [st.groups[i] for i in order]
        st.starts[:] = [st.starts[i] for i in order]
        index = torch.from_numpy(order).to(vals.device)
        blocks = vals.view(-1, self.n, *vals.shape[1:])
        return blocks.index_select(0, index).view(len(order) * self.n, *vals.shape[1:])
