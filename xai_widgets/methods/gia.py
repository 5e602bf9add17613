"""Global importance analysis (GIA) and motif-spacing sweeps (the review's Fig. 4a).

GIA (Koo et al. 2021) measures what a motif does to a model *on average*: insert it into many
background sequences that carry no signal of their own (dinucleotide shuffles of real data, or
random DNA of a chosen GC content) and average the prediction change

    effect_n = f(background_n with the insertions) - f(background_n).

:func:`global_importance` does this for one set of insertions, :func:`motif_effects` ranks
several motifs inserted alone, and :func:`spacing_sweep` inserts a pair of motifs A and B at
every spacing and in every orientation pair, the design that reveals a cooperative grammar
(ExplaiNN's DeepSTARR analysis; the ``cooperative_grammar`` task of this package).

Spacing convention (:func:`spacing_sweep`)
------------------------------------------
Motif A stays at one position; ``spacing`` says where B goes, **in A's strand direction**:

* ``spacing = s >= 0``: B lies *downstream* of A with ``s`` bases strictly between them,
  exactly the gap of :class:`~xai_widgets.data.tasks.GrammarRule` (``s = 0``: adjacent);
* ``spacing = s < 0``: B lies *upstream* of A with ``|s|`` bases between them.

Downstream follows A's strand: with A on ``+`` it is to the right in sequence coordinates,
with A on ``-`` to the left. So the planted grammar (Irf1 4-12 bp downstream of Spi1, same
strand) is orientation ``"++"`` or ``"--"`` at spacings 4 to 12, for a sequence and for its
reverse complement alike. As spacings count the bases between the motifs, the two never
overlap; a spacing is skipped (and listed in :attr:`SpacingSweepResult.skipped`) when B
would fall off the sequence.

Speed
-----
For models made of position-local layers (:func:`~xai_widgets.methods.ism.supports_fast_ism`:
the zoo CNNs, DanQ's convolution, ExplaiNN's first layer), an insertion changes only a window
of each layer's output (fastISM, Nair et al. 2022, here for motif-wide edits). The fast path
caches the activations of every background, with and without A, and computes only the windows
around each insertion, for all backgrounds of one geometry at once. In the sweep, ``bg + A + B``
reuses the windows of ``bg + B`` for as long as A and B do not meet (the difference B makes is
the same in both through every affine layer and wherever A left a map unchanged), so it is
computed on its own only from the layer where their windows overlap. Other models get batched
forward passes of the edited sequences. Both paths give the same numbers (to float rounding,
below 1e-5 on the zoo models).

On 2 CPU cores the default sweep (101 spacings x 4 orientations x 100 backgrounds, L = 200,
Basset) takes about half a second; ``benchmarks/interactions.py`` compares it with
tangermeme. Many small tensor operations run multi-threaded, so on a machine whose cores are
busy with other work ``torch.set_num_threads(1)`` can be much faster than the default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..data.encoding import check_one_hot, encode_indices, indices_to_one_hot
from ..data.motifs import Motif
from ..data.shuffle import dinucleotide_shuffle
from .._core import resolve_batch_size
from ._common import check_output, check_target, model_method, prepare
from ._fast_ism import FastISM, _single, checked_plan, fast_ism_support

__all__ = [
    "GIAResult", "MotifEffects", "SpacingSweepResult", "ORIENTATIONS",
    "insert_motif", "insert_motifs", "backgrounds", "b_start", "global_importance", "motif_effects", "spacing_sweep",
]

ORIENTATIONS = ("++", "+-", "-+", "--")
"""Orientation pairs of :func:`spacing_sweep`: A's strand, then B's."""
GIA_METHODS = ("auto", "fast", "naive")
CI_METHODS = ("normal", "bootstrap")
Z_95 = 1.959963984540054


# ---------------------------------------------------------------------------------------------
# motifs as one-hot sites


def _motif_name(motif) -> str:
    if isinstance(motif, str):
        return motif
    if isinstance(motif, Motif):
        return motif.name
    return f"one-hot(width={np.shape(motif)[-1]})"


def _check_strand(strand: str) -> int:
    if strand not in ("+", "-"):
        raise ValueError(f"strand must be '+' or '-'; got {strand!r}")
    return 1 if strand == "+" else -1


def _motif_width(motif) -> int:
    if isinstance(motif, str):
        return len(motif)
    if isinstance(motif, Motif):
        return motif.width
    if isinstance(motif, (torch.Tensor, np.ndarray)):
        return int(motif.shape[-1])
    raise TypeError(f"a motif must be a consensus string, a Motif or a one-hot tensor (4, W) or (N, 4, W); "
                    f"got {type(motif).__name__}")


def _sites(motif, n: int, rng: np.random.Generator, dtype=torch.float32) -> torch.Tensor:
    """One-hot sites ``(n, 4, W)`` of ``motif`` (on the + strand), one per background.

    A string is its exact sequence (A, C, G, T only), a :class:`Motif` is sampled column by
    column from its matrix (one site per background), a one-hot array ``(4, W)`` is used as is
    and an array ``(n, 4, W)`` gives each background its own site.
    """
    if isinstance(motif, str):
        if not motif:
            raise ValueError("the motif string is empty")
        idx = torch.from_numpy(encode_indices(motif).astype(np.int64))  # raises on N and other letters
        return indices_to_one_hot(idx, dtype=dtype).expand(n, 4, len(motif))
    if isinstance(motif, Motif):
        idx = torch.from_numpy(motif.sample(n, rng).astype(np.int64))
        return indices_to_one_hot(idx, dtype=dtype)
    if isinstance(motif, (torch.Tensor, np.ndarray)):
        site = torch.as_tensor(motif).to(dtype)
        if site.ndim == 2:
            site = site[None]
        if site.ndim != 3 or site.shape[1] != 4 or site.shape[0] not in (1, n) or site.shape[2] == 0:
            raise ValueError(f"a one-hot motif must have shape (4, W) or ({n}, 4, W); got {tuple(site.shape)}")
        check_one_hot(site, name="motif")
        return site.expand(n, 4, site.shape[2])
    raise TypeError(f"a motif must be a consensus string, a Motif or a one-hot tensor (4, W) or (N, 4, W); "
                    f"got {type(motif).__name__}")


def _oriented(sites: torch.Tensor, strand: str) -> torch.Tensor:
    """``sites (n, 4, W)`` as written on ``strand`` (the reverse complement for ``"-"``)."""
    return sites if _check_strand(strand) == 1 else sites.flip(1, 2)


def _centre(length: int, width: int) -> int:
    """Start that puts a motif's middle at the sequence's middle (tangermeme's convention)."""
    return length // 2 - width // 2


def _check_position(position, width: int, length: int, what: str = "motif") -> int:
    if position is None:
        position = _centre(length, width)
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)):
        raise TypeError(f"position must be an int (the first base of the {what}) or None; got {position!r}")
    position = int(position)
    if not 0 <= position <= length - width:
        raise ValueError(f"a {what} of width {width} at position {position} does not fit a sequence of length "
                         f"{length}: position must be in 0..{length - width}")
    return position


def insert_motif(X: torch.Tensor, motif, position: int | None = None, strand: str = "+", *,
                 random_state=None) -> torch.Tensor:
    """Write a motif into one-hot sequences (a substitution: the length stays ``L``).

    Parameters
    ----------
    X : torch.Tensor, shape (N, 4, L)
        One-hot backgrounds; not modified.
    motif : str, Motif, or array of shape (4, W) or (N, 4, W)
        A consensus string (A, C, G, T), a :class:`~xai_widgets.data.motifs.Motif` (one site is
        sampled per background from its matrix, with ``random_state``), or one-hot site(s).
    position : int or None
        First base of the motif in sequence coordinates (on either strand the motif occupies
        ``[position, position + W)``); None centres it (``L // 2 - W // 2``).
    strand : {"+", "-"}
        ``"-"`` writes the reverse complement.
    random_state : int, numpy.random.Generator or None
        Seed for sampling a :class:`Motif`.

    Returns
    -------
    torch.Tensor, shape (N, 4, L)
        A copy of ``X`` with the motif written in.
    """
    return insert_motifs(X, [(motif, position, strand)], random_state=random_state)


def _normalise_insertions(insertions, length: int) -> list[tuple]:
    """``[(motif, start, strand, width)]`` from user insertions; checks fit and overlaps."""
    if isinstance(insertions, tuple) and len(insertions) in (2, 3) and not isinstance(insertions[0], tuple):
        insertions = [insertions]  # a single (motif, position[, strand])
    insertions = list(insertions)
    if not insertions:
        raise ValueError("insertions is empty: give a list of (motif, position, strand) tuples")
    out = []
    for item in insertions:
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise ValueError(f"each insertion must be a (motif, position, strand) tuple; got {item!r}")
        motif, position = item[0], item[1]
        strand = item[2] if len(item) == 3 else "+"
        _check_strand(strand)
        width = _motif_width(motif)
        start = _check_position(position, width, length)
        out.append((motif, start, strand, width))
    spans = sorted((start, start + width) for _, start, _, width in out)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        if b0 < a1:
            raise ValueError(f"insertions at [{a0}, {a1}) and [{b0}, {b1}) overlap; place them apart")
    return out


def insert_motifs(X: torch.Tensor, insertions, *, random_state=None) -> torch.Tensor:
    """Write several non-overlapping motifs into one-hot sequences.

    Parameters
    ----------
    X : torch.Tensor, shape (N, 4, L)
    insertions : list of (motif, position, strand)
        As in :func:`insert_motif`; ``strand`` may be left out (``"+"``).
    random_state : int, numpy.random.Generator or None
        Seed for sampling :class:`Motif` insertions (drawn in the order given).

    Returns
    -------
    torch.Tensor, shape (N, 4, L)
    """
    check_one_hot(X)
    rng = np.random.default_rng(random_state)
    out = X.clone()
    for motif, start, strand, width in _normalise_insertions(insertions, X.shape[2]):
        out[:, :, start : start + width] = _oriented(_sites(motif, X.shape[0], rng, X.dtype), strand).to(X.device)
    return out


def backgrounds(n: int | None = None, length: int | None = None, *, from_sequences: torch.Tensor | None = None,
                gc: float = 0.5, random_state=None) -> torch.Tensor:
    """Background sequences to insert motifs into.

    Parameters
    ----------
    n : int or None
        Number of backgrounds. With ``from_sequences`` it defaults to one per sequence.
    length : int or None
        Length of random backgrounds (not used with ``from_sequences``).
    from_sequences : torch.Tensor, shape (M, 4, L), optional
        Data sequences to dinucleotide-shuffle (:func:`~xai_widgets.data.shuffle.dinucleotide_shuffle`):
        each background keeps one sequence's dinucleotide counts but loses its motifs. For
        ``n <= M`` a random subset of ``n`` sequences is shuffled once each; for ``n > M`` every
        sequence is shuffled ``ceil(n / M)`` times and the first ``n`` shuffles are kept.
    gc : float
        GC content of random backgrounds: each base is drawn independently with
        P(C) = P(G) = gc / 2 and P(A) = P(T) = (1 - gc) / 2.
    random_state : int, numpy.random.Generator or None

    Returns
    -------
    torch.Tensor, shape (n, 4, L)
        One-hot float32 backgrounds.
    """
    rng = np.random.default_rng(random_state)
    if from_sequences is not None:
        check_one_hot(from_sequences, name="from_sequences")
        m = from_sequences.shape[0]
        n = m if n is None else n
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}")
        if n <= m:
            rows = torch.from_numpy(np.sort(rng.permutation(m)[:n]))
            return dinucleotide_shuffle(from_sequences[rows], 1, random_state=rng)[:, 0]
        k = math.ceil(n / m)
        shuffled = dinucleotide_shuffle(from_sequences, k, random_state=rng)  # (M, k, 4, L)
        return shuffled.transpose(0, 1).reshape(m * k, 4, from_sequences.shape[2])[:n].contiguous()
    if n is None or length is None:
        raise ValueError("give n and length for random backgrounds, or from_sequences=X to shuffle data")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be a positive integer; got {length!r}")
    if not 0.0 <= gc <= 1.0:
        raise ValueError(f"gc must be a fraction in [0, 1]; got {gc}")
    p = np.array([1 - gc, gc, gc, 1 - gc]) / 2
    idx = rng.choice(4, size=(n, length), p=p)
    return indices_to_one_hot(torch.from_numpy(idx.astype(np.int64)))


# ---------------------------------------------------------------------------------------------
# statistics


def _mean_ci(values: torch.Tensor, ci: str, n_bootstrap: int, rng: np.random.Generator):
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


def _check_ci(ci: str, n_bootstrap: int) -> None:
    if ci not in CI_METHODS:
        raise ValueError(f"ci must be one of {CI_METHODS}; got {ci!r}")
    if not isinstance(n_bootstrap, int) or n_bootstrap < 10:
        raise ValueError(f"n_bootstrap must be an integer >= 10; got {n_bootstrap!r}")


# ---------------------------------------------------------------------------------------------
# evaluating window edits: fast (cached local layers) or plain forward passes


@dataclass(frozen=True)
class _Lane:
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


class _LaneEngine(FastISM):
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

    def run(self, lanes: list[_Lane]) -> torch.Tensor:
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


class _Evaluator:
    """Predictions for ``G`` reference groups of ``n`` sequences and for lanes of edits of them.

    With a (checked) local ``plan``: a :class:`_LaneEngine`; with None the edited sequences are built and run through
    the model in batches (partners are ignored there: every lane is computed in full).
    """

    def __init__(self, model: nn.Module, references: torch.Tensor, n: int, plan, batch_size: int):
        self.model = model
        self.references = references
        self.n = n
        self.batch_size = batch_size
        self.fast = plan is not None
        if self.fast:
            self.engine = _LaneEngine(plan, references, n)
            self.reference_output = self.engine.reference_output
        else:
            step = min(batch_size, NAIVE_BATCH)
            self.reference_output = torch.cat([model(references[i : i + step])
                                               for i in range(0, len(references), step)])
        check_output(self.reference_output, len(references))

    def families(self, families: list[list[_Lane]], target: int, bar=None) -> list[torch.Tensor]:
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
                lanes += [_Lane(l.group, l.start, l.values, None if l.partner is None else l.partner + offset,
                                l.needed) for l in families[f]]
                bounds.append((f, offset, len(lanes)))
            out = self._run(lanes)[:, :, target]
            for f, lo, hi in bounds:
                results[f] = out[lo:hi]
            if bar is not None:
                bar.update(len(batch))
        return results

    def _run(self, lanes: list[_Lane]) -> torch.Tensor:
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


def _run_families(model: nn.Module, references: list[torch.Tensor], families: list[list[_Lane]], target: int,
                  plan, batch_size: int, device, progress: bool, desc: str):
    """Predictions of reference groups and of families of lanes, chunked over backgrounds.

    Parameters
    ----------
    references : list of G tensors, shape (n, 4, L)
        Reference group ``g`` (e.g. the backgrounds, then the backgrounds with A).
    families : list of list of _Lane
        Lanes with values ``(n, 4, W)`` (one site per background); partners index the family.
    plan : LocalPlan or None
        From :func:`_choose_path`: the fast path's checked plan, or None for forward passes.

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
            evaluator = _Evaluator(model, torch.cat([r[lo:hi] for r in references]).to(device), hi - lo, plan,
                                   batch_size)
            reference[:, lo:hi] = evaluator.reference_output[:, target].view(len(references), hi - lo)
            chunk = [[_Lane(lane.group, lane.start, lane.values[lo:hi].to(device), lane.partner, lane.needed)
                      for lane in family] for family in families]
            for f, out in enumerate(evaluator.families(chunk, target, bar)):
                outputs[f][:, lo:hi] = out
    return reference, outputs


def _check_method(method: str) -> None:
    if method not in GIA_METHODS:
        raise ValueError(f"method must be one of {GIA_METHODS}; got {method!r}")


def _choose_path(model: nn.Module, method: str, backgrounds: torch.Tensor, device):
    """The checked local plan of the fast path (:func:`._fast_ism.checked_plan`), or None for
    plain forward passes; raises for ``method="fast"`` when the fast path does not apply."""
    plan = checked_plan(model, backgrounds, device, strict=method == "fast", n_edits=len(backgrounds)) if method != "naive" else None
    if method == "fast" and plan is None:
        raise ValueError(f"the fast path does not apply to {type(model).__name__} ({fast_ism_support(model)}); "
                         "use method='naive' or 'auto'")
    return plan


# ---------------------------------------------------------------------------------------------
# global importance


@dataclass(frozen=True)
class GIAResult:
    """Result of :func:`global_importance`.

    Attributes
    ----------
    effect : torch.Tensor, shape (N,)
        Per background: prediction with the insertions minus prediction without.
    mean : float
        Mean of ``effect`` over the backgrounds: the global importance.
    ci : tuple of float
        95% confidence interval of ``mean`` (see ``ci_method``).
    with_insertions : torch.Tensor, shape (N,)
        Predictions for the backgrounds with the insertions.
    reference : torch.Tensor, shape (N,)
        Predictions for the backgrounds.
    insertions : tuple of (str, int, str)
        ``(motif name or sequence, start, strand)`` of each insertion.
    ci_method : {"normal", "bootstrap"}
    path : {"fast", "naive"}
        Which computation ran.
    """

    effect: torch.Tensor
    mean: float
    ci: tuple
    with_insertions: torch.Tensor
    reference: torch.Tensor
    insertions: tuple
    ci_method: str
    path: str


@model_method
@torch.no_grad()
def global_importance(model: nn.Module, backgrounds: torch.Tensor, insertions, *, target: int | None = 0,
                      batch_size: int | None = None, device="auto", ci: str = "normal", n_bootstrap: int = 1000,
                      method: str = "auto", random_state=None) -> GIAResult:
    """Global importance of a set of insertions: mean prediction change over backgrounds.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    backgrounds : torch.Tensor, shape (N, 4, L)
        One-hot backgrounds, e.g. from :func:`backgrounds`.
    insertions : list of (motif, position, strand)
        Non-overlapping insertions (see :func:`insert_motif` for the motif forms); a single
        tuple is accepted too. Position None centres a motif.
    target : int or None
        Output index (None only for single-output models).
    batch_size : int, optional
        Default from the memory rule (:func:`xai_widgets._core.resolve_batch_size`).
        Edited sequences evaluated at once: window edits on the fast path; on the plain path the
        edited sequences built at once (run in forward passes of at most 256).
    device : str or torch.device
        ``"auto"`` picks CUDA when available.
    ci : {"normal", "bootstrap"}
        95% interval of the mean: mean +- 1.96 standard errors, or the 2.5/97.5 percentiles of
        ``n_bootstrap`` resampled means (with ``random_state``).
    n_bootstrap : int
    method : {"auto", "fast", "naive"}
        ``"fast"`` recomputes only the windows the insertions reach (position-local models);
        ``"naive"`` runs full forward passes; ``"auto"`` picks fast when possible.
    random_state : int, numpy.random.Generator or None
        Seeds :class:`Motif` sampling and the bootstrap.

    Returns
    -------
    GIAResult
    """
    _check_ci(ci, n_bootstrap)
    _check_method(method)
    device, n_outputs = prepare(model, backgrounds, device, batch_size)
    batch_size = resolve_batch_size(batch_size, model, backgrounds, device)
    plan = _choose_path(model, method, backgrounds, device)
    target = check_target(target, n_outputs)
    rng = np.random.default_rng(random_state)
    n, _, length = backgrounds.shape
    items = _normalise_insertions(insertions, length)
    edited = insert_motifs(backgrounds, [(m, s, st) for m, s, st, _ in items], random_state=rng)
    lo, hi = min(s for _, s, _, _ in items), max(s + w for _, s, _, w in items)
    ref_out, outputs = _run_families(model, [backgrounds], [[_Lane(0, lo, edited[:, :, lo:hi])]], target, plan,
                                     batch_size, device, False, "GIA")
    reference, with_insertions = ref_out[0], outputs[0][0]
    effect = (with_insertions - reference).float().cpu()
    mean, bounds = _mean_ci(effect[:, None], ci, n_bootstrap, rng)
    described = tuple((_motif_name(m), s, st) for m, s, st, _ in items)
    return GIAResult(effect, float(mean[0]), (float(bounds[0, 0]), float(bounds[0, 1])),
                     with_insertions.float().cpu(), reference.float().cpu(), described, ci,
                     "fast" if plan is not None else "naive")


@dataclass(frozen=True)
class MotifEffects:
    """Result of :func:`motif_effects`: each motif inserted alone.

    Attributes
    ----------
    names : tuple of str, length M
    effect : torch.Tensor, shape (M, N)
        Per motif and background: prediction with the motif minus without (the mean of the
        two strands for ``strand="both"``).
    mean : torch.Tensor, shape (M,)
    ci : torch.Tensor, shape (M, 2)
        95% confidence intervals of ``mean``.
    reference : torch.Tensor, shape (N,)
        Predictions for the backgrounds.
    positions : tuple of int, length M
        Start of each motif.
    strand : {"+", "-", "both"}
    path : {"fast", "naive"}
    """

    names: tuple
    effect: torch.Tensor
    mean: torch.Tensor
    ci: torch.Tensor
    reference: torch.Tensor
    positions: tuple
    strand: str
    path: str

    def ranking(self) -> list[str]:
        """Motif names from the largest mean effect to the smallest."""
        order = torch.argsort(self.mean, descending=True, stable=True)
        return [self.names[i] for i in order.tolist()]

    def as_dict(self) -> dict[str, float]:
        """``{name: mean effect}``."""
        return {name: float(v) for name, v in zip(self.names, self.mean)}


@model_method
@torch.no_grad()
def motif_effects(model: nn.Module, backgrounds: torch.Tensor, motifs, position: int | None = None, *,
                  strand: str = "+", target: int | None = 0, batch_size: int | None = None, device="auto",
                  ci: str = "normal", n_bootstrap: int = 1000, method: str = "auto", random_state=None,
                  progress: bool = False) -> MotifEffects:
    """Global importance of several motifs, each inserted alone at the same place.

    Parameters
    ----------
    model, backgrounds, target, batch_size, device, ci, n_bootstrap, method, random_state
        As in :func:`global_importance`.
    motifs : dict of str to motif, or iterable of motifs
        Any form of :func:`insert_motif`; an iterable is keyed by motif name / sequence.
    position : int or None
        Start of every motif; None centres each one (``L // 2 - W // 2``).
    strand : {"+", "-", "both"}
        ``"both"`` averages, per background, the effects of the two strands.
    progress : bool
        Show a progress bar over batches.

    Returns
    -------
    MotifEffects
    """
    if strand not in ("+", "-", "both"):
        raise ValueError(f"strand must be '+', '-' or 'both'; got {strand!r}")
    _check_ci(ci, n_bootstrap)
    if not isinstance(motifs, Mapping):
        motifs = {_motif_name(m): m for m in motifs}
    if not motifs:
        raise ValueError("motifs is empty: give a dict {name: motif}")
    _check_method(method)
    device, n_outputs = prepare(model, backgrounds, device, batch_size)
    batch_size = resolve_batch_size(batch_size, model, backgrounds, device)
    plan = _choose_path(model, method, backgrounds, device)
    target = check_target(target, n_outputs)
    rng = np.random.default_rng(random_state)
    n, _, length = backgrounds.shape
    strands = ("+", "-") if strand == "both" else (strand,)
    widths = {name: _motif_width(motif) for name, motif in motifs.items()}
    positions = [_check_position(position, widths[name], length, f"motif {name!r}") for name in motifs]
    # every edit gets the widest motif's width (padded with the background's own bases), so all
    # motifs go through the model in the same batches
    window = max(widths.values())
    families = []
    for (name, motif), start in zip(motifs.items(), positions):
        sites = _sites(motif, n, rng)
        lo = min(start, length - window)
        for s in strands:
            values = backgrounds[:, :, lo : lo + window].clone()
            values[:, :, start - lo : start - lo + widths[name]] = _oriented(sites, s)
            families.append([_Lane(0, lo, values)])
    ref_out, outputs = _run_families(model, [backgrounds], families, target, plan, batch_size, device, progress,
                                     "motifs")
    reference = ref_out[0]
    per_strand = torch.stack([out[0] for out in outputs]).reshape(len(motifs), len(strands), n) - reference
    effects = per_strand.mean(1)
    effect = effects.float().cpu()
    mean, bounds = _mean_ci(effect.T, ci, n_bootstrap, rng)
    return MotifEffects(tuple(motifs), effect, mean, bounds, reference.float().cpu(), tuple(positions), strand,
                        "fast" if plan is not None else "naive")


# ---------------------------------------------------------------------------------------------
# spacing sweep


@dataclass(frozen=True)
class SpacingSweepResult:
    """Result of :func:`spacing_sweep` (see the module docstring for the spacing convention).

    Effects are background-averaged prediction differences against the bare background
    ``f(bg)``; entries of skipped spacings (B off the sequence) are NaN.

    Attributes
    ----------
    orientations : tuple of str, length O
        ``"++"``, ``"+-"``, ``"-+"``, ``"--"``: A's strand, then B's.
    spacings : torch.Tensor of int64, shape (S,)
    position_a : int
        Start of A (the same in every orientation).
    b_start : torch.Tensor of int64, shape (O, S)
        Start of B in sequence coordinates; -1 where skipped.
    valid : torch.Tensor of bool, shape (O, S)
        False where the spacing was skipped.
    skipped : tuple of (str, int)
        ``(orientation, spacing)`` pairs that were skipped.
    effect : torch.Tensor, shape (O, S)
        Mean of ``f(AB) - f(bg)``.
    effect_ci : torch.Tensor, shape (O, S, 2)
        95% confidence interval of ``effect``.
    effect_a : torch.Tensor, shape (O,)
        Mean of ``f(A) - f(bg)``, A alone on the orientation's strand.
    effect_a_ci : torch.Tensor, shape (O, 2)
    effect_b : torch.Tensor, shape (O, S)
        Mean of ``f(B) - f(bg)``, B alone where it sits at that orientation and spacing (NaN
        with ``singles=False``, and so are ``cooperativity`` and ``interaction``).
    effect_b_ci : torch.Tensor, shape (O, S, 2)
    cooperativity : torch.Tensor, shape (O, S)
        ``effect / (effect_a + effect_b)``: 1 for additive motifs, above 1 for synergy. It is a
        ratio of background means (a mean of per-background ratios explodes wherever one
        background's denominator is near zero) and NaN where ``|effect_a + effect_b|`` is below
        ``min_denominator``.
    per_background : torch.Tensor, shape (N, O, S)
        ``f(AB) - f(bg)`` per background.
    per_background_a : torch.Tensor, shape (N, O)
    per_background_b : torch.Tensor, shape (N, O, S)
    reference : torch.Tensor, shape (N,)
        ``f(bg)``.
    motif_names : tuple of str
        Names (or sequences) of A and B.
    ci_method : {"normal", "bootstrap"}
    path : {"fast", "naive"}
    """

    orientations: tuple
    spacings: torch.Tensor
    position_a: int
    b_start: torch.Tensor
    valid: torch.Tensor
    skipped: tuple
    effect: torch.Tensor
    effect_ci: torch.Tensor
    effect_a: torch.Tensor
    effect_a_ci: torch.Tensor
    effect_b: torch.Tensor
    effect_b_ci: torch.Tensor
    cooperativity: torch.Tensor
    per_background: torch.Tensor
    per_background_a: torch.Tensor
    per_background_b: torch.Tensor
    reference: torch.Tensor
    motif_names: tuple
    ci_method: str
    path: str

    @property
    def interaction(self) -> torch.Tensor:
        """``effect - effect_a - effect_b``, shape (O, S): the non-additive part of the pair."""
        return self.effect - self.effect_a[:, None] - self.effect_b

    def peak(self, by: str = "effect") -> tuple[str, int]:
        """``(orientation, spacing)`` with the largest ``by`` among valid entries.

        Parameters
        ----------
        by : {"effect", "interaction", "cooperativity"}
        """
        options = ("effect", "interaction", "cooperativity")
        if by not in options:
            raise ValueError(f"by must be one of {options}; got {by!r}")
        values = getattr(self, by).clone()
        values[~self.valid | torch.isnan(values)] = -math.inf
        if not torch.isfinite(values).any():
            raise ValueError(f"no valid, finite {by} to take the peak of")
        o, s = divmod(int(torch.argmax(values)), values.shape[1])
        return self.orientations[o], int(self.spacings[s])

    def table(self) -> list[dict]:
        """One row per valid (orientation, spacing): spacing, B's start and the mean effects."""
        rows = []
        for o, orientation in enumerate(self.orientations):
            for s, spacing in enumerate(self.spacings.tolist()):
                if self.valid[o, s]:
                    rows.append({"orientation": orientation, "spacing": spacing, "b_start": int(self.b_start[o, s]),
                                 "effect": float(self.effect[o, s]), "effect_a": float(self.effect_a[o]),
                                 "effect_b": float(self.effect_b[o, s]),
                                 "cooperativity": float(self.cooperativity[o, s])})
        return rows


def b_start(position_a: int, width_a: int, width_b: int, orientation: str, spacing: int) -> int:
    """Start of B in sequence coordinates for one orientation and spacing (may fall off).

    ``spacing >= 0``: B downstream of A in A's strand direction with ``spacing`` bases between
    them; ``spacing < 0``: upstream with ``|spacing|`` bases between them.
    """
    gap = abs(spacing)
    right = (spacing >= 0) == (orientation[0] == "+")
    return position_a + width_a + gap if right else position_a - gap - width_b


def _check_orientations(orientations) -> tuple:
    if isinstance(orientations, str):
        orientations = (orientations,)
    orientations = tuple(orientations)
    bad = [o for o in orientations if o not in ORIENTATIONS]
    if bad or not orientations or len(set(orientations)) != len(orientations):
        raise ValueError(f"orientations must be distinct values of {ORIENTATIONS}; got {orientations!r}")
    return orientations


def _check_spacings(spacings) -> torch.Tensor:
    try:
        values = spacings if isinstance(spacings, torch.Tensor) else torch.as_tensor(np.asarray(list(spacings)))
    except (TypeError, ValueError):
        raise ValueError(f"spacings must be a non-empty 1-D sequence of integers; got {spacings!r}") from None
    if values.ndim != 1 or len(values) == 0 or values.is_floating_point() or values.is_complex() \
            or values.dtype == torch.bool:
        raise ValueError(f"spacings must be a non-empty 1-D sequence of integers; got {spacings!r}")
    values = values.long().cpu()
    if len(torch.unique(values)) != len(values):
        raise ValueError("spacings contains duplicates")
    return values


@model_method
@torch.no_grad()
def spacing_sweep(model: nn.Module, backgrounds: torch.Tensor, motif_a, motif_b, *,
                  spacings: Sequence[int] | torch.Tensor = range(-50, 51), orientations=ORIENTATIONS,
                  position_a: int | None = None, target: int | None = 0, batch_size: int | None = None, device="auto",
                  ci: str = "normal", n_bootstrap: int = 1000, min_denominator: float = 1e-3, singles: bool = True,
                  method: str = "auto", random_state=None, progress: bool = False) -> SpacingSweepResult:
    """Insert motif A at a fixed position and motif B at every spacing and orientation pair.

    For every background ``bg`` this predicts ``bg``, ``bg + A`` (each strand), ``bg + B`` at
    every position B takes, and ``bg + A + B`` at every (orientation, spacing), and averages the
    differences to ``f(bg)`` over the backgrounds.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    backgrounds : torch.Tensor, shape (N, 4, L)
        One-hot backgrounds (:func:`backgrounds`).
    motif_a, motif_b : str, Motif or one-hot array
        As in :func:`insert_motif`. A :class:`Motif` is sampled once per background (with
        ``random_state``) and that site is used at every spacing and, reverse-complemented, on
        the ``-`` strand.
    spacings : sequence of int
        Signed gaps of B relative to A (module docstring): ``s >= 0`` B downstream with ``s``
        bases between, ``s < 0`` upstream with ``|s|`` bases between. Default -50..50.
    orientations : sequence of {"++", "+-", "-+", "--"}
        Strand of A, then of B.
    position_a : int or None
        Start of A; None centres it (``L // 2 - W_A // 2``).
    target : int or None
        Output index (None only for single-output models).
    batch_size : int, optional
        Default from the memory rule (:func:`xai_widgets._core.resolve_batch_size`).
        Edited sequences evaluated at once (see :func:`global_importance`).
    device : str or torch.device
    ci : {"normal", "bootstrap"}
        95% intervals over backgrounds, as in :func:`global_importance`.
    n_bootstrap : int
    min_denominator : float
        ``cooperativity`` is NaN where ``|effect_a + effect_b| < min_denominator``.
    singles : bool
        Also predict B alone at every position it takes (``effect_b``, ``cooperativity``).
        With False those are NaN and the sweep is faster (on the fast path B alone is then
        computed only as far as the ``bg + A + B`` windows reuse it).
    method : {"auto", "fast", "naive"}
        ``"fast"``: cached activations and windows around B (position-local models only);
        ``"naive"``: forward passes of the full edited sequences.
    random_state : int, numpy.random.Generator or None
        Seeds motif sampling and the bootstrap.
    progress : bool
        Show a progress bar over batches.

    Returns
    -------
    SpacingSweepResult
    """
    _check_ci(ci, n_bootstrap)
    orientations = _check_orientations(orientations)
    spacings = _check_spacings(spacings)
    if not min_denominator >= 0:
        raise ValueError(f"min_denominator must be >= 0; got {min_denominator!r}")
    _check_method(method)
    device, n_outputs = prepare(model, backgrounds, device, batch_size)
    batch_size = resolve_batch_size(batch_size, model, backgrounds, device)
    plan = _choose_path(model, method, backgrounds, device)
    target = check_target(target, n_outputs)
    rng = np.random.default_rng(random_state)
    n, _, length = backgrounds.shape
    wa, wb = _motif_width(motif_a), _motif_width(motif_b)
    position_a = _check_position(position_a, wa, length, "motif A")
    sites_a = _sites(motif_a, n, rng)
    sites_b = _sites(motif_b, n, rng)

    # geometry: B's start per (orientation, spacing); skip B off the sequence (or overlapping A)
    n_o, n_s = len(orientations), len(spacings)
    starts = torch.tensor([[b_start(position_a, wa, wb, o, int(s)) for s in spacings] for o in orientations],
                          dtype=torch.long)
    valid = (starts >= 0) & (starts + wb <= length) & ((starts + wb <= position_a) | (starts >= position_a + wa))
    skipped = tuple((orientations[o], int(spacings[s])) for o, s in torch.nonzero(~valid).tolist())
    starts[~valid] = -1

    # references: bg, bg + A(+), bg + A(-); the sweep's edits write B into them
    a_strands = sorted({o[0] for o in orientations}, key="+-".index)
    refs = [backgrounds]
    for strand in a_strands:
        with_a = backgrounds.clone()
        with_a[:, :, position_a : position_a + wa] = _oriented(sites_a, strand)
        refs.append(with_a)

    # one family per (B strand, B start): B alone in bg, then bg + A + B for every orientation
    # and spacing that puts B there (partners of the B-alone lane: see _LaneEngine)
    b_sites = {strand: _oriented(sites_b, strand) for strand in sorted({o[1] for o in orientations})}
    families, keys = {}, {}
    for i, o in enumerate(orientations):
        for j in range(n_s):
            if valid[i, j]:
                key = (o[1], int(starts[i, j]))
                if key not in families:
                    families[key] = [_Lane(0, key[1], b_sites[o[1]], needed=singles)]
                keys[i, j] = (key, len(families[key]))
                families[key].append(_Lane(1 + a_strands.index(o[0]), key[1], b_sites[o[1]], partner=0))
    order = sorted(families, key=lambda k: ("+-".index(k[0]), k[1]))
    ref_out, outputs = _run_families(model, refs, [families[k] for k in order], target, plan, batch_size, device,
                                     progress, "sweep")
    outputs = dict(zip(order, outputs))
    reference = ref_out[0]
    a_effect = {strand: ref_out[1 + i] - reference for i, strand in enumerate(a_strands)}

    per_ab = torch.full((n, n_o, n_s), math.nan)
    per_b = torch.full((n, n_o, n_s), math.nan)
    per_a = torch.stack([a_effect[o[0]] for o in orientations], 1).float().cpu()
    for (i, j), (key, lane) in keys.items():
        per_ab[:, i, j] = (outputs[key][lane] - reference).float().cpu()
        per_b[:, i, j] = (outputs[key][0] - reference).float().cpu()
    effect, effect_ci = _mean_ci(per_ab, ci, n_bootstrap, rng)
    effect_b, effect_b_ci = _mean_ci(per_b, ci, n_bootstrap, rng)
    effect_a, effect_a_ci = _mean_ci(per_a, ci, n_bootstrap, rng)
    denominator = effect_a[:, None] + effect_b
    cooperativity = torch.where(denominator.abs() >= min_denominator, effect / denominator,
                                torch.full_like(effect, math.nan))
    return SpacingSweepResult(orientations, spacings, position_a, starts, valid, skipped, effect, effect_ci, effect_a,
                              effect_a_ci, effect_b, effect_b_ci, cooperativity, per_ab, per_a, per_b,
                              reference.float().cpu(), (_motif_name(motif_a), _motif_name(motif_b)), ci,
                              "fast" if plan is not None else "naive")
