"""Motif discovery from attributions: TF-MoDISco (Shrikumar et al. 2018) through modisco-lite.

:func:`discover_motifs` runs modisco-lite's ``TFMoDISco`` on the hypothetical contributions of
many sequences (an :class:`~xai_widgets.methods.atscale.AttributionStore`, a result with
``.hypothetical`` and ``.X`` such as :class:`~xai_widgets.methods.DeepLiftResult`, or arrays)
and returns typed patterns:

- per pattern the contribution weight matrix (CWM: mean contribution of each base at each
  position over its seqlets), the hypothetical CWM, and the PWM (base frequencies of its
  seqlets), on either strand (:meth:`MotifPattern.matrix`), recomputed from the listed seqlets'
  coordinates, so the drawn matrix is exactly the mean over the seqlets the table lists;
- the *drawn window*: the columns whose summed absolute CWM reaches ``trim_threshold`` times
  its maximum (first to last such column), as modisco's reports trim;
- its seqlets as a DataFrame: sequence index, name and genomic coordinates (when the input
  has them), start, end (the drawn window, in sequence coordinates) and strand;
- Tomtom matches (:func:`xai_widgets.methods.tomtom_matches`, Pearson column scores) computed on
  exactly the drawn matrices: the PWM of the drawn window, and the CWM of the drawn window
  turned into probabilities (each column's positive part for a positive pattern, negative part
  for a negative one, plus a pseudocount of 1e-3 of the column's total, normalised). A widget
  that shows the PWM shows ``matches["pwm"]``, one that shows the CWM ``matches["cwm"]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MATRICES = ("cwm", "pwm")
_COMPLEMENT = [3, 2, 1, 0]  # rows A, C, G, T -> T, G, C, A


@dataclass(frozen=True)
class MotifPattern:
    """One pattern found by TF-MoDISco.

    Attributes
    ----------
    name : str
        ``"pos_<i>"`` or ``"neg_<i>"`` (modisco's order within its metacluster, largest first).
    sign : int
        +1 for a pattern of positive contributions, -1 for negative ones.
    cwm, hypothetical_cwm, pwm : numpy.ndarray, shape (4, W)
        Full-width matrices on the pattern's own (forward) strand, rows A, C, G, T.
    window : tuple of int
        ``(start, end)``: the drawn columns ``[start, end)`` of the full matrices.
    seqlets : pandas.DataFrame
        One row per seqlet: ``pattern, sequence, name, chrom, genomic_start, genomic_end,
        genomic_strand, start, end, strand, contribution`` (``start``/``end`` delimit the drawn
        window in the sequence as given; ``strand`` ``"-"`` means the pattern reads on the
        sequence's reverse complement; the genomic columns are set when coordinates are known,
        ``genomic_strand`` relative to the genome); ``contribution`` sums the window's contributions.
    matches : dict
        ``{"cwm": [MotifMatch, ...], "pwm": [...]}``: Tomtom matches of the drawn CWM and PWM.
    informative : dict
        ``{"cwm": bool, "pwm": bool}``: whether Tomtom compared that matrix (uninformative
        matrices get no matches, see :func:`xai_widgets.methods.tomtom_matches`).
    """

    name: str
    sign: int
    cwm: np.ndarray
    hypothetical_cwm: np.ndarray
    pwm: np.ndarray
    window: tuple
    seqlets: object
    matches: dict = field(default_factory=dict)
    informative: dict = field(default_factory=dict)

    @property
    def n_seqlets(self) -> int:
        return len(self.seqlets)

    def matrix(self, kind: str = "cwm", strand: str = "+", trimmed: bool = True) -> np.ndarray:
        """The ``"cwm"``, ``"hcwm"`` (hypothetical) or ``"pwm"`` matrix ``(4, W)``, drawn window only
        (``trimmed``) or full, on strand ``"+"`` or ``"-"`` (reverse complement)."""
        matrices = {"cwm": self.cwm, "hcwm": self.hypothetical_cwm, "pwm": self.pwm}
        if kind not in matrices:
            raise ValueError(f"kind must be one of {tuple(matrices)}; got {kind!r}")
        if strand not in ("+", "-"):
            raise ValueError(f"strand must be '+' or '-'; got {strand!r}")
        m = matrices[kind]
        if trimmed:
            m = m[:, self.window[0]:self.window[1]]
        return m[_COMPLEMENT, ::-1].copy() if strand == "-" else m.copy()

    def motif(self, kind: str = "pwm"):
        """The drawn ``kind`` matrix as the :class:`~xai_widgets.data.Motif` that Tomtom compares
        (``matches[kind]``): the PWM, or the CWM turned into probabilities (:func:`cwm_probabilities`)."""
        from ..data.motifs import Motif

        if kind not in MATRICES:
            raise ValueError(f"kind must be one of {MATRICES}; got {kind!r}")
        matrix = cwm_probabilities(self.matrix("cwm"), self.sign) if kind == "cwm" else self.matrix("pwm")
        return Motif(self.name, matrix)

    def best_match(self, kind: str = "pwm"):
        """The best Tomtom match of the drawn ``kind`` matrix, or None."""
        found = self.matches.get(kind, [])
        return found[0] if found else None


@dataclass(frozen=True)
class DiscoveryResult:
    """Result of :func:`discover_motifs`.

    Attributes
    ----------
    patterns : list of MotifPattern
        Positive patterns first, then negative ones.
    n_sequences, length : int
    names : tuple of str or None
    coordinates : tuple or None
    matched_against : str
        Which Tomtom database was searched (e.g. ``"JASPAR 2024 CORE insects (123 matrices)"``).
    options : dict
        The modisco-lite options used.
    """

    patterns: list
    n_sequences: int
    length: int
    names: tuple | None
    coordinates: tuple | None
    matched_against: str
    options: dict

    def pattern(self, name: str) -> MotifPattern:
        for p in self.patterns:
            if p.name == name:
                return p
        raise KeyError(f"no pattern {name!r}; patterns are {[p.name for p in self.patterns]}")

    def table(self):
        """One row per pattern: name, sign, seqlets, width, best CWM and PWM match with E-values."""
        import pandas as pd

        rows = []
        for p in self.patterns:
            row = {"pattern": p.name, "sign": p.sign, "n_seqlets": p.n_seqlets, "width": p.window[1] - p.window[0]}
            for kind in MATRICES:
                best = p.best_match(kind)
                row[f"{kind}_match"] = best.target if best else ""
                row[f"{kind}_match_id"] = best.target_id if best else ""
                row[f"{kind}_e_value"] = best.e_value if best else np.nan
            rows.append(row)
        return pd.DataFrame(rows)

    def seqlets(self, pattern: str | None = None):
        """Seqlets of one pattern, or of all (concatenated), as a DataFrame."""
        import pandas as pd

        if pattern is not None:
            return self.pattern(pattern).seqlets
        return pd.concat([p.seqlets for p in self.patterns], ignore_index=True) if self.patterns else \
            _seqlet_frame([], "", None, None)


def _trim_window(cwm: np.ndarray, threshold: float) -> tuple[int, int]:
    score = np.abs(cwm).sum(0)
    keep = np.flatnonzero(score >= threshold * score.max()) if score.max() > 0 else np.arange(cwm.shape[1])
    return int(keep[0]), int(keep[-1]) + 1


def cwm_probabilities(cwm: np.ndarray, sign: int) -> np.ndarray:
    """The CWM as a probability matrix for Tomtom: each column's part of the pattern's sign, plus
    a pseudocount of 1e-3 of the column's absolute total (and 1e-9), normalised. ``(4, W)``."""
    oriented = np.clip(sign * np.asarray(cwm, dtype=float), 0, None)
    total = np.abs(cwm).sum(0, keepdims=True)
    p = oriented + 1e-3 * total + 1e-9
    return p / p.sum(0, keepdims=True)


def _seqlet_frame(rows, name, names, coordinates):
    import pandas as pd

    columns = ["pattern", "sequence", "name", "chrom", "genomic_start", "genomic_end", "genomic_strand", "start", "end",
               "strand", "contribution"]
    return pd.DataFrame(rows, columns=columns)


def _database(database):
    from ..data.motifs import JASPAR_RELEASE, Motif, jaspar_motifs

    if database is None:
        return None, "nothing (database=None)"
    if isinstance(database, str):
        found = jaspar_motifs(tax_group=database)
        if not found:
            raise ValueError(f"no JASPAR {JASPAR_RELEASE} CORE matrices for tax_group {database!r}; use e.g. "
                             "'vertebrates', 'insects', 'plants', 'fungi', 'nematodes', 'urochordates'")
        return found, f"JASPAR {JASPAR_RELEASE} CORE {database} ({len(found)} matrices)"
    motifs = list(database.values()) if isinstance(database, dict) else list(database)
    if not motifs or not all(isinstance(m, Motif) for m in motifs):
        raise TypeError("database must be a JASPAR tax_group name, None, or a list or dict of data.Motif")
    return motifs, f"{len(motifs)} given matrices"


def _inputs(attributions, X, hypothetical, names, coordinates):
    from .atscale import AttributionStore

    if isinstance(attributions, (str, Path)):
        attributions = AttributionStore.open(attributions)
    if isinstance(attributions, AttributionStore):
        store = attributions
        return (store.X(), store.hypothetical(), store.names if names is None else names,
                store.coordinates if coordinates is None else coordinates)
    if attributions is not None:
        if not (hasattr(attributions, "hypothetical") and hasattr(attributions, "X")):
            raise TypeError("attributions must be an AttributionStore (or its path) or a result with .hypothetical "
                            f"and .X (deep_lift_shap); got {type(attributions).__name__}. Or pass X= and hypothetical=")
        X, hypothetical = attributions.X, attributions.hypothetical
    if X is None or hypothetical is None:
        raise ValueError("pass attributions (a store or a DeepLiftResult), or both X= and hypothetical=")
    X = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X, dtype=np.float32)
    hypothetical = np.asarray(hypothetical.detach().cpu() if hasattr(hypothetical, "detach") else hypothetical,
                              dtype=np.float32)
    if X.ndim != 3 or X.shape[1] != 4 or hypothetical.shape != X.shape:
        raise ValueError(f"X and hypothetical must both have shape (N, 4, L); got {X.shape} and {hypothetical.shape}")
    return X, hypothetical, names, coordinates


def discover_motifs(attributions=None, *, X=None, hypothetical=None, names=None, coordinates=None,
                    database="vertebrates", n_best: int = 3, trim_threshold: float = 0.3, window: int = 21,
                    flank: int = 10, max_seqlets: int = 20000, n_leiden_runs: int = 50,
                    min_metacluster_size: int = 100, final_min_cluster_size: int = 20,
                    verbose: bool = False) -> DiscoveryResult:
    """TF-MoDISco (modisco-lite) on hypothetical contributions, with seqlets traced to sequences.

    Parameters
    ----------
    attributions : AttributionStore, path, or DeepLiftResult, optional
        Default None (give ``X`` and ``hypothetical`` instead). A complete store from
        :func:`~xai_widgets.methods.atscale.attribute_to_store` (its names and coordinates are used), or any result with
        ``.hypothetical`` and ``.X`` ``(N, 4, L)``.
    X, hypothetical : array-like, shape (N, 4, L), optional
        Default None. Instead of ``attributions``: one-hot sequences and hypothetical
        contributions.
    names : sequence of str, optional
        Default None: the store's names, if any. One name per sequence.
    coordinates : sequence of (chrom, start, end, strand), optional
        Default None: the store's coordinates, if any. Genomic window of each sequence; seqlets then get genomic
        coordinates (reverse-strand windows counted from their end).
    database : str, list or dict of Motif, or None, optional
        The motif database Tomtom searches: a JASPAR 2024 CORE tax_group (default
        ``"vertebrates"``; ``"insects"`` for fly models), your own motifs, or None for no
        matching.
    n_best : int, optional
        Default 3. Matches kept per pattern and matrix.
    trim_threshold : float, optional
        Default 0.3. The drawn window keeps columns whose summed absolute CWM is at least this fraction of
        the maximum (modisco's report uses 0.3).
    window : int, optional
        Default 21. modisco-lite's ``sliding_window_size``.
    flank : int, optional
        Default 10. modisco-lite's ``flank_size``.
    max_seqlets : int, optional
        Default 20000 (as modisco-lite's CLI). modisco-lite's ``max_seqlets_per_metacluster``.
    n_leiden_runs : int, optional
        Default 50 (modisco-lite's).
    min_metacluster_size : int, optional
        Default 100 (modisco-lite's).
    final_min_cluster_size : int, optional
        Default 20 (modisco-lite's).
    verbose : bool, optional
        Default False. modisco-lite's progress messages.

    Returns
    -------
    DiscoveryResult

    Raises
    ------
    ValueError
        On missing or mismatched inputs, an incomplete store, or an unknown JASPAR tax_group.

    Notes
    -----
    modisco-lite holds all contributions in memory (``N x L x 4`` float32, three copies); for
    genome-scale stores pass a subset (e.g. the sequences with the highest predictions).
    Shrikumar et al., arXiv:1811.00416 (2018); modisco-lite by J. Schreiber (MIT).
    """
    from modiscolite.tfmodisco import TFMoDISco

    from .tomtom import tomtom_matches

    X, hypothetical, names, coordinates = _inputs(attributions, X, hypothetical, names, coordinates)
    n, _, length = X.shape
    for label, value in (("names", names), ("coordinates", coordinates)):
        if value is not None and len(value) != n:
            raise ValueError(f"{label} holds {len(value)} entries for {n} sequences")
    if not 0 < trim_threshold <= 1:
        raise ValueError(f"trim_threshold must be in (0, 1]; got {trim_threshold!r}")
    target_motifs, matched_against = _database(database)
    options = dict(sliding_window_size=window, flank_size=flank, max_seqlets_per_metacluster=max_seqlets,
                   n_leiden_runs=n_leiden_runs, min_metacluster_size=min_metacluster_size,
                   final_min_cluster_size=final_min_cluster_size)
    pos, neg = TFMoDISco(np.ascontiguousarray(X.transpose(0, 2, 1)),
                         np.ascontiguousarray(hypothetical.transpose(0, 2, 1)), verbose=verbose, **options)
    patterns = []
    for prefix, sign, found in (("pos", 1, pos), ("neg", -1, neg)):
        for i, raw in enumerate(found or []):
            patterns.append(_pattern(f"{prefix}_{i}", sign, raw, trim_threshold, X, hypothetical, names, coordinates))
    if target_motifs is not None and patterns:
        for kind in MATRICES:
            found = tomtom_matches([p.motif(kind) for p in patterns], target_motifs, n_best=n_best)
            for p, qm in zip(patterns, found):
                p.matches[kind] = list(qm)
                p.informative[kind] = qm.informative
    return DiscoveryResult(patterns, n, length, tuple(names) if names is not None else None,
                           tuple(coordinates) if coordinates is not None else None, matched_against, options)


def _pattern(name, sign, raw, trim_threshold, X, hypothetical, names, coordinates) -> MotifPattern:
    """A MotifPattern from a modisco-lite SeqletSet. The matrices are recomputed from the listed
    seqlets' coordinates (mean over the seqlets covering each column), so that the drawn matrices
    are exactly the average of the seqlets the result lists."""
    n, _, length = X.shape
    width = int(raw.length)
    sums = np.zeros((3, 4, width))
    counts = np.zeros(width)
    spans = []
    for s in raw.seqlets:
        seq, lo, hi = int(s.example_idx), int(s.start), int(s.end)
        cols = np.arange(width)
        pos = hi - 1 - cols if s.is_revcomp else lo + cols
        inside = (pos >= 0) & (pos < length)
        x = X[seq][:, pos[inside]]
        h = hypothetical[seq][:, pos[inside]]
        if s.is_revcomp:
            x, h = x[::-1], h[::-1]  # complement: rows A, C, G, T -> T, G, C, A
        sums[0][:, inside] += x
        sums[1][:, inside] += x * h
        sums[2][:, inside] += h
        counts[inside] += 1
        spans.append((seq, lo, hi, bool(s.is_revcomp)))
    counts = np.maximum(counts, 1)
    pwm, cwm, hcwm = sums[0] / counts, sums[1] / counts, sums[2] / counts
    pwm = (pwm + 1e-9) / (pwm + 1e-9).sum(0, keepdims=True)
    a, b = _trim_window(cwm, trim_threshold)
    rows = []
    for seq, s_lo, s_hi, revcomp in spans:
        if revcomp:  # pattern column j sits at sequence position end - 1 - j
            lo, hi, strand = s_hi - b, s_hi - a, "-"
        else:
            lo, hi, strand = s_lo + a, s_lo + b, "+"
        lo, hi = max(0, lo), min(length, hi)
        contribution = float((X[seq][:, lo:hi] * hypothetical[seq][:, lo:hi]).sum())
        chrom = gstart = gend = gstrand = None
        if coordinates is not None:
            c_chrom, c_start, c_end, c_strand = coordinates[seq]
            chrom = c_chrom
            if c_strand == "-":  # the sequence reads the genome's reverse strand
                gstart, gend = int(c_end) - hi, int(c_end) - lo
                gstrand = "+" if strand == "-" else "-"
            else:
                gstart, gend, gstrand = int(c_start) + lo, int(c_start) + hi, strand
        rows.append((name, seq, str(names[seq]) if names is not None else None, chrom, gstart, gend, gstrand, lo, hi,
                     strand, contribution))
    return MotifPattern(name, sign, cwm, hcwm, pwm, (a, b), _seqlet_frame(rows, name, names, coordinates))
