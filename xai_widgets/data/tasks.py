"""Synthetic sequence-to-activity tasks with known ground truth.

Each task plants JASPAR motifs (sampled column by column from their probability matrices,
sharpened by :data:`SITE_TEMPERATURE`) into uniform random DNA and returns the sequences, the
labels, every planted instance and a per-position mask of planted bases whose matrix column
carries more than 0.01 bits. The ground truth is what proves every interpretation method in this
package.

=========================  ===================================================================
task                       labels
=========================  ===================================================================
``motif_presence``         12 binary outputs: which of 12 TFs is present (Koo & Eddy 2019)
``cooperative_grammar``    1 real output: additive motif effects plus a spacing/orientation-
                           dependent cooperative term (see :data:`GRAMMAR_RULE`)
``attribution_benchmark``  1 binary output: positives carry 3-7 motifs of 5 core TFs only
                           (Koo & Ploenzke 2021)
=========================  ===================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .dataset import Dataset, PlantedInstances
from .encoding import indices_to_one_hot
from .motifs import Motif, bundled_motifs, planted_mask_columns

MOTIF_PRESENCE_TFS = ("Arid3a", "CEBPB", "FOSL1", "GABPA", "MAFK", "MAX",
                      "MEF2A", "NFYB", "SP1", "SRF", "STAT1", "Yy1")
ATTRIBUTION_CORE = ("SP1", "GABPA", "CEBPB", "MAX", "Yy1")
N_ATTRIBUTION_OTHERS = 50
SPLIT_FRACTIONS = (0.7, 0.1, 0.2)
SITE_TEMPERATURE = 0.6
"""Planted sites are drawn from each JASPAR matrix sharpened as ``p ** (1 / 0.6)``.

Drawn from the raw matrices, short low-information motifs (Arid3a, 6 bp, 9.8 bits) occur by
chance in a third of all 200-nt backgrounds, so even the true PWM scan tells present from
absent only with AUROC 0.95 averaged over the 12 TFs; at 0.6 the true scan reaches 0.99 and a
trained model can learn every motif. Positions, strands and the mask are unaffected."""


@dataclass(frozen=True)
class GrammarRule:
    """The generative rule of ``cooperative_grammar``.

    ``activity = sum(effects[m] for each motif m present)
    + cooperativity * [anchor and partner form the grammar] + Normal(0, noise)``.

    The pair forms the grammar when an ``anchor`` and a ``partner`` instance lie on the same
    strand, the partner *downstream* of the anchor in that strand's 5'->3' direction, separated
    by a gap (bases strictly between them) within ``spacing`` (inclusive). On the reverse strand
    this means the partner sits to the left of the anchor in sequence coordinates, so the rule
    is the same for a sequence and its reverse complement.
    """

    anchor: str = "Spi1"
    partner: str = "Irf1"
    spacing: tuple[int, int] = (4, 12)
    effects: dict = field(default_factory=lambda: {"Spi1": 1.0, "Irf1": 0.5, "CTCF": 0.0, "REST": -0.5})
    cooperativity: float = 2.0
    noise: float = 0.1

    def forms_grammar(self, a_start, a_end, a_strand, p_start, p_end, p_strand) -> bool:
        """Whether one anchor instance and one partner instance satisfy the rule."""
        if a_strand != p_strand:
            return False
        gap = p_start - a_end if a_strand == 1 else a_start - p_end
        return self.spacing[0] <= gap <= self.spacing[1]

    def activity(self, instances: list[tuple[str, int, int, int]]) -> float:
        """Noise-free activity of one sequence from its ``(motif, start, end, strand)`` list."""
        present = {m for m, *_ in instances}
        value = sum(self.effects.get(m, 0.0) for m in present)
        anchors = [i for i in instances if i[0] == self.anchor]
        partners = [i for i in instances if i[0] == self.partner]
        if any(self.forms_grammar(*a[1:], *p[1:]) for a in anchors for p in partners):
            value += self.cooperativity
        return value


GRAMMAR_RULE = GrammarRule()
GRAMMAR_MOTIFS = tuple(GRAMMAR_RULE.effects)


@dataclass(frozen=True, repr=False, kw_only=True)
class SyntheticTask(Dataset):
    """A synthetic data set with its ground truth: a :class:`~xai_widgets.data.Dataset` whose
    ``instances``, ``mask`` and ``motifs`` are always set.

    Attributes
    ----------
    name : str
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences (float32, A, C, G, T).
    y : torch.Tensor, shape (N, T)
        Labels (0/1 for classification, real for regression).
    target_names : tuple of str, length T
    kind : {"multilabel", "binary", "regression"}
    instances : PlantedInstances
    mask : torch.Tensor of bool, shape (N, L)
        Planted positions whose matrix column carries more than 0.01 bits.
    motifs : dict of str to Motif
        The motifs this task plants.
    random_state : int
        Seed that regenerates exactly this data.
    splits : dict of str to numpy.ndarray
        Row indices of ``"train"``, ``"valid"`` and ``"test"`` (70/10/20 by default).
    description : str
        The generative rule in words.

    ``subset(rows)`` (or ``split(name)``) keeps the ground truth, renumbering the instances.
    """

    random_state: int

    def __post_init__(self):
        missing = [a for a in ("y", "kind", "instances", "mask", "motifs") if getattr(self, a) is None]
        if missing:
            raise ValueError(f"a SyntheticTask needs {', '.join(missing)}; use Dataset for data without ground truth")
        super().__post_init__()

    def __repr__(self) -> str:
        n, _, length = self.X.shape
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.splits.items())
        return (f"SyntheticTask({self.name!r}, N={n}, L={length}, targets={len(self.target_names)}, "
                f"kind={self.kind!r}, instances={len(self.instances)}, {sizes}, random_state={self.random_state})")


# ---------------------------------------------------------------------------------------------
# generation engine

Plan = list[tuple[str, int, int]]  # (motif name, strand, start) per planted instance


def _free_starts(rng: np.random.Generator, length: int, widths: list[int], max_tries: int = 200) -> list[int]:
    """Random non-overlapping starts for motifs of ``widths`` in a sequence of ``length``."""
    for _ in range(max_tries):
        occupied = np.zeros(length, dtype=bool)
        starts = []
        for w in widths:
            for _ in range(50):
                s = int(rng.integers(0, length - w + 1))
                if not occupied[s : s + w].any():
                    occupied[s : s + w] = True
                    starts.append(s)
                    break
            else:
                break
        if len(starts) == len(widths):
            return starts
    raise ValueError(f"cannot fit motifs of widths {widths} into length {length}")


def _realise(rng: np.random.Generator, length: int, plans: list[Plan], motifs: dict[str, Motif]):
    """Turn placement plans into one-hot sequences, instances and the ground-truth mask."""
    n = len(plans)
    idx = rng.integers(0, 4, size=(n, length), dtype=np.int8)
    mask = np.zeros((n, length), dtype=bool)
    flat = [(i, name, strand, start) for i, plan in enumerate(plans) for name, strand, start in plan]
    seq_col = np.array([f[0] for f in flat], dtype=np.int64)
    motif_col = np.array([f[1] for f in flat], dtype=object)
    strand_col = np.array([f[2] for f in flat], dtype=np.int64)
    start_col = np.array([f[3] for f in flat], dtype=np.int64)
    end_col = start_col + np.array([motifs[m].width for m in motif_col], dtype=np.int64)
    for name, motif in motifs.items():
        rows = np.flatnonzero(motif_col == name)
        if not len(rows):
            continue
        sites = motif.sample(len(rows), rng, temperature=SITE_TEMPERATURE)
        informative = planted_mask_columns(motif)
        for r, site in zip(rows, sites):
            cols = np.arange(start_col[r], end_col[r])
            if strand_col[r] == 1:
                idx[seq_col[r], cols] = site
                mask[seq_col[r], cols] = informative
            else:
                idx[seq_col[r], cols] = 3 - site[::-1]
                mask[seq_col[r], cols] = informative[::-1]
    instances = PlantedInstances(seq_col, motif_col.astype(str), start_col, end_col, strand_col)
    X = indices_to_one_hot(torch.from_numpy(idx.astype(np.int64)))
    return X, instances, torch.from_numpy(mask)


def _splits(n: int, fractions=SPLIT_FRACTIONS) -> dict[str, np.ndarray]:
    n_train = int(round(fractions[0] * n))
    n_valid = int(round(fractions[1] * n))
    return {"train": np.arange(0, n_train), "valid": np.arange(n_train, n_train + n_valid),
            "test": np.arange(n_train + n_valid, n)}


def _check_sizes(n: int, length: int, min_length: int) -> None:
    if n < 10:
        raise ValueError(f"n must be at least 10 so every split is non-empty; got {n}")
    if length < min_length:
        raise ValueError(f"length must be at least {min_length} to fit the planted motifs; got {length}")


def _pick(names) -> dict[str, Motif]:
    bundled = bundled_motifs()
    return {name: bundled[name] for name in names}


# ---------------------------------------------------------------------------------------------
# tasks


def motif_presence(n: int = 25_000, length: int = 200, *, random_state: int = 0) -> SyntheticTask:
    """Multi-label motif presence, after Koo & Eddy (2019).

    Each sequence gets 1 to 5 distinct TFs (probabilities 50/25/17/5/3 %) out of
    :data:`MOTIF_PRESENCE_TFS`, each sampled from its JASPAR matrix on a random strand at a
    random non-overlapping position; label ``t`` is 1 when TF ``t`` was planted.

    Parameters
    ----------
    n : int, optional
        Default 25,000. Number of sequences (split 70/10/20 into train/valid/test).
    length : int, optional
        Default 200. Sequence length in bases.
    random_state : int, optional
        Default 0. Seed; the same seed gives the same data (the zoo's models are trained on it).

    Returns
    -------
    SyntheticTask
        ``y`` has shape (n, 12).
    """
    _check_sizes(n, length, 80)
    rng = np.random.default_rng(random_state)
    motifs = _pick(MOTIF_PRESENCE_TFS)
    names = list(motifs)
    counts = rng.choice([1, 2, 3, 4, 5], p=[0.50, 0.25, 0.17, 0.05, 0.03], size=n)
    plans, y = [], np.zeros((n, len(names)), dtype=np.float32)
    for i, k in enumerate(counts):
        chosen = rng.choice(len(names), size=k, replace=False)
        y[i, chosen] = 1
        starts = _free_starts(rng, length, [motifs[names[c]].width for c in chosen])
        strands = rng.choice([1, -1], size=k)
        plans.append([(names[c], int(s), st) for c, s, st in zip(chosen, strands, starts)])
    X, instances, mask = _realise(rng, length, plans, motifs)
    return SyntheticTask(name="motif_presence", X=X, y=torch.from_numpy(y), target_names=tuple(names),
                         kind="multilabel", instances=instances, mask=mask, motifs=motifs,
                         random_state=random_state, splits=_splits(n), description=
                         "Label t is 1 when TF t was planted (1-5 TFs per sequence, either strand).")


def _grammar_pair(rng, length, rule: GrammarRule, wa: int, wp: int, arrangement: str):
    """Anchor/partner starts and strands for one arrangement of the pair."""
    lo, hi = rule.spacing
    strand = int(rng.choice([1, -1]))
    if arrangement == "grammar":
        gap, p_strand, downstream = int(rng.integers(lo, hi + 1)), strand, True
    elif arrangement == "wrong_spacing":
        options = np.r_[0:lo, hi + 1 : hi + 21]
        gap, p_strand, downstream = int(rng.choice(options)), strand, True
    else:  # wrong orientation: in-window gap, but opposite strand or partner upstream
        gap = int(rng.integers(lo, hi + 1))
        if rng.random() < 0.5:
            p_strand, downstream = -strand, True
        else:
            p_strand, downstream = strand, False
    span = wa + gap + wp
    left = int(rng.integers(0, length - span + 1))
    partner_right = downstream == (strand == 1)
    if partner_right:
        return (left, strand), (left + wa + gap, p_strand)
    return (left + wp + gap, strand), (left, p_strand)


def cooperative_grammar(n: int = 20_000, length: int = 200, *, random_state: int = 0,
                        rule: GrammarRule = GRAMMAR_RULE) -> SyntheticTask:
    """Regression on a planted cooperative grammar (see :class:`GrammarRule`).

    The anchor (Spi1, PU.1) and the partner (Irf1) are each planted with probability 1/2; the
    distractors CTCF (no effect) and REST (a repressor) with probability 0.3 each. When both
    anchor and partner are present they are arranged in the grammar (40 %), at a spacing just
    outside the window (20 %), in the wrong orientation (20 %) or at random (20 %), so that
    spacing and orientation must be learned; the label always follows the rule on the actual
    placement. The activity's default settings: Spi1 +1.0, Irf1 +0.5, REST -0.5, CTCF 0,
    +2.0 when the pair forms the grammar (same strand, Irf1 downstream, 4 to 12 bp gap),
    Gaussian noise with sd 0.1.

    Parameters
    ----------
    n, length, random_state : int, optional
        Defaults 20,000, 200 and 0; as in :func:`motif_presence`.
    rule : GrammarRule, optional
        Default ``GRAMMAR_RULE`` (the settings above).

    Returns
    -------
    SyntheticTask
        ``y`` has shape (n, 1).
    """
    _check_sizes(n, length, 100)
    rng = np.random.default_rng(random_state)
    motifs = _pick(rule.effects)
    wa, wp = motifs[rule.anchor].width, motifs[rule.partner].width
    distractors = [m for m in rule.effects if m not in (rule.anchor, rule.partner)]
    plans, y = [], np.zeros((n, 1), dtype=np.float32)
    for i in range(n):
        has_a, has_p = rng.random(2) < 0.5
        placed: Plan = []
        if has_a and has_p:
            arrangement = rng.choice(["grammar", "wrong_spacing", "wrong_orientation", "random"],
                                     p=[0.4, 0.2, 0.2, 0.2])
            if arrangement != "random":
                (sa, sta), (sp, stp) = _grammar_pair(rng, length, rule, wa, wp, arrangement)
                placed = [(rule.anchor, sta, sa), (rule.partner, stp, sp)]
        todo = [m for m, present in ((rule.anchor, has_a), (rule.partner, has_p)) if present and not placed]
        todo += [m for m in distractors if rng.random() < 0.3]
        occupied = np.zeros(length, dtype=bool)
        for name, _, start in placed:
            occupied[start : start + motifs[name].width] = True
        for name in todo:
            width = motifs[name].width
            free = np.flatnonzero(np.convolve(~occupied, np.ones(width), "valid") == width)
            start = int(rng.choice(free))
            occupied[start : start + width] = True
            placed.append((name, int(rng.choice([1, -1])), start))
        plans.append(placed)
        y[i, 0] = rule.activity([(m, s, s + motifs[m].width, st) for m, st, s in placed])
    y += rng.normal(0.0, rule.noise, size=y.shape).astype(np.float32)
    X, instances, mask = _realise(rng, length, plans, motifs)
    return SyntheticTask(name="cooperative_grammar", X=X, y=torch.from_numpy(y), target_names=("activity",),
                         kind="regression", instances=instances, mask=mask, motifs=motifs,
                         random_state=random_state, splits=_splits(n), description=GrammarRule.__doc__)


def attribution_benchmark(n: int = 20_000, length: int = 200, *, random_state: int = 0) -> SyntheticTask:
    """Binary attribution benchmark, after Koo & Ploenzke (2021).

    Positives (half of the sequences) carry 3 to 7 motifs drawn with replacement from the
    five core TFs (SP1, GABPA, CEBPB, MAX, YY1); negatives carry 3 to 7 motifs drawn from
    those plus 50 other JASPAR motifs of other families. The planted mask of the positives is
    the ground truth for attribution AUROC.

    Parameters
    ----------
    n, length, random_state : int, optional
        Defaults 20,000, 200 and 0; as in :func:`motif_presence`.

    Returns
    -------
    SyntheticTask
        ``y`` has shape (n, 1).
    """
    _check_sizes(n, length, 120)
    rng = np.random.default_rng(random_state)
    bundled = bundled_motifs()
    named = set(MOTIF_PRESENCE_TFS) | set(GRAMMAR_MOTIFS)
    others = [name for name in bundled if name not in named][:N_ATTRIBUTION_OTHERS]
    core = list(ATTRIBUTION_CORE)
    motifs = _pick(core + others)
    pool = core + others
    plans, y = [], np.zeros((n, 1), dtype=np.float32)
    for i in range(n):
        positive = rng.random() < 0.5
        k = int(rng.integers(3, 8))
        names = [core[j] for j in rng.integers(0, len(core), k)] if positive else \
            [pool[j] for j in rng.integers(0, len(pool), k)]
        starts = _free_starts(rng, length, [motifs[m].width for m in names])
        strands = rng.choice([1, -1], size=k)
        plans.append([(m, int(st), s) for m, st, s in zip(names, strands, starts)])
        y[i, 0] = float(positive)
    X, instances, mask = _realise(rng, length, plans, motifs)
    return SyntheticTask(name="attribution_benchmark", X=X, y=torch.from_numpy(y), target_names=("positive",),
                         kind="binary", instances=instances, mask=mask, motifs=motifs,
                         random_state=random_state, splits=_splits(n), description=
                         "Positives hold 3-7 core motifs (SP1, GABPA, CEBPB, MAX, YY1); negatives 3-7 "
                         "from the core plus 50 other JASPAR motifs.")


TASKS: dict[str, Callable[..., SyntheticTask]] = {
    "motif_presence": motif_presence,
    "cooperative_grammar": cooperative_grammar,
    "attribution_benchmark": attribution_benchmark,
}


def make_task(name: str, **kwargs) -> SyntheticTask:
    """Generate a task by name (see :data:`TASKS`); ``kwargs`` go to its function."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; choose one of {sorted(TASKS)}")
    return TASKS[name](**kwargs)
