"""Tomtom (Gupta et al. 2007) through memelite: motifs compared with a database such as JASPAR.

:func:`tomtom_matches` gives p-values, E-values (p x number of database motifs) and q-values
(Benjamini-Hochberg per query), as MEME's Tomtom reports them, with Pearson-correlation column
similarity; queries that carry too little information to match anything (:func:`is_informative`)
get no matches. :func:`warm_up` compiles memelite's numba code ahead of time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.motifs import Motif, jaspar_motifs

MIN_QUERY_BITS = 4.0
"""A query motif is informative only with at least this total information content (bits).

A site of 4 bits occurs by chance once every 16 bp; every JASPAR 2024 CORE vertebrate matrix
carries at least 6.0 bits (the median 12.4)."""
INFORMATIVE_COLUMN_BITS = 1.0
MIN_INFORMATIVE_COLUMNS = 2
"""... and at least this many columns of at least ``INFORMATIVE_COLUMN_BITS`` bits each (every
JASPAR 2024 CORE vertebrate matrix has at least 3): one strong column is not a motif."""
SIGNIFICANT_E_VALUE = 0.1
"""A match is reported as significant (a tile label, planted-motif recovery) below this E-value."""


def is_informative(motif) -> bool:
    """Whether a motif carries enough information to be compared with a database.

    Informative: total information content >= :data:`MIN_QUERY_BITS` (4 bits) and at least
    :data:`MIN_INFORMATIVE_COLUMNS` (2) columns of >= :data:`INFORMATIVE_COLUMN_BITS` (1 bit)
    each, against a uniform background. A dead filter (all-zero weights: a uniform PPM), a
    single strong column in uniform flanks, or a flat random matrix is not.

    Parameters
    ----------
    motif : Motif or array, shape (4, W)
    """
    motif = motif if isinstance(motif, Motif) else Motif("query", np.asarray(motif))
    bits = motif.information_content()
    return bool(bits.sum() >= MIN_QUERY_BITS and (bits >= INFORMATIVE_COLUMN_BITS).sum() >= MIN_INFORMATIVE_COLUMNS)


@dataclass(frozen=True)
class MotifMatch:
    """One Tomtom match of a query motif against a target.

    Attributes
    ----------
    query : str
    target : str
        Target name (e.g. ``"CEBPB"``).
    target_id : str
        Target matrix id (e.g. ``"MA0466.4"``).
    p_value, e_value, q_value : float
        Tomtom p-value; E = p x number of targets; q = Benjamini-Hochberg over this query's
        p-values against all targets.
    offset : int
        memelite's offset of the alignment.
    strand : {"+", "-"}
        ``"-"``: the query matches the target's reverse complement.
    """

    query: str
    target: str
    target_id: str
    p_value: float
    e_value: float
    q_value: float
    offset: int
    strand: str


class QueryMatches(list):
    """One query's :class:`MotifMatch` rows, best first (a list), and whether the query could match.

    Attributes
    ----------
    query : str
    information_content : float
        The query's total information content, bits.
    informative : bool
        :func:`is_informative`; ``False`` means the query was not compared and the list is empty.
    """

    def __init__(self, matches=(), *, query: str, information_content: float, informative: bool):
        super().__init__(matches)
        self.query, self.information_content, self.informative = query, information_content, informative

    def __repr__(self) -> str:
        return (f"QueryMatches({list.__repr__(self)}, query={self.query!r}, "
                f"information_content={self.information_content:.2f}, informative={self.informative})")


def _benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """q-values of the p-values along the last axis."""
    n = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, -1) * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1].clip(max=1.0)
    out = np.empty_like(q)
    np.put_along_axis(out, order, q, -1)
    return out


def _as_motifs(motifs, kind: str) -> list[Motif]:
    motifs = list(motifs.values()) if isinstance(motifs, dict) else list(motifs)
    if not motifs:
        raise ValueError(f"no {kind} motifs given")
    return [m if isinstance(m, Motif) else Motif(f"{kind}_{i}", np.asarray(m)) for i, m in enumerate(motifs)]


def _pearson_columns(ppm: np.ndarray) -> np.ndarray:
    """Each column centred and scaled to unit length; a constant column becomes zeros.

    For two such columns the squared Euclidean distance is ``2 - 2 r``, r their Pearson
    correlation, so memelite's Euclidean Tomtom ranks column pairs by r (MEME Tomtom's default
    column similarity). A constant column (r undefined) is at distance 1 from every other
    column: after Tomtom's per-column median shift it scores 0, evidence neither way.
    """
    centred = ppm - ppm.mean(0, keepdims=True)
    norm = np.linalg.norm(centred, axis=0, keepdims=True)
    return np.where(norm > 1e-9, centred / np.where(norm > 1e-9, norm, 1.0), 0.0)


def _tomtom(queries: list[Motif], targets: list[Motif]):
    """memelite's Tomtom on Pearson columns: ``(p_values (Q, T), offsets, strands, informative (Q,))``.

    Uninformative queries (:func:`is_informative`) are not compared: p = 1, offset 0, "+".
    """
    from memelite import tomtom

    informative = np.array([is_informative(q) for q in queries])
    p_values = np.ones((len(queries), len(targets)))
    offsets = np.zeros((len(queries), len(targets)), dtype=int)
    strands = np.zeros((len(queries), len(targets)), dtype=bool)
    rows = np.flatnonzero(informative)
    if len(rows):
        p, _scores, off, _overlaps, strand = tomtom([_pearson_columns(queries[i].probabilities) for i in rows],
                                                    [_pearson_columns(t.probabilities) for t in targets])
        p_values[rows], offsets[rows], strands[rows] = p, off, strand.astype(bool)
    return p_values, offsets, strands, informative


def tomtom_matches(queries, database=None, *, n_best: int | None = 3,
                   max_e_value: float | None = None) -> list[QueryMatches]:
    """Compare motifs with Tomtom (memelite's implementation) and keep each query's best matches.

    Parameters
    ----------
    queries : list of Motif or array (4, W), or dict of Motif
        E.g. the output of :func:`filters_from_activations`.
    database : list or dict of Motif, optional
        The motif database searched; default None: all JASPAR 2024 CORE vertebrate matrices
        (879, shipped with pyjaspar: offline).
    n_best : int or None, optional
        Default 3. Matches kept per query, best p-value first; None keeps one per database motif.
    max_e_value : float or None, optional
        Default None: keep every match; else drop matches with a larger E-value.

    Returns
    -------
    list of QueryMatches
        One list of :class:`MotifMatch` per query, with the query's ``informative`` flag. An
        uninformative query (:func:`is_informative`: under 4 bits in all, or under 2 columns of
        1 bit) is not compared and gets an empty list.

    Notes
    -----
    Column similarity is the Pearson correlation of the two columns (MEME Tomtom's default),
    computed by memelite's Euclidean kernels on centred unit-length columns
    (``||a - b||^2 = 2 - 2 r``; the column score is ``-sqrt(2 - 2 r)``, a monotone function of
    r, where MEME sums r itself). memelite's plain Euclidean distance on probabilities ranks a
    flat query column closest to the flattest target columns, and Tomtom's null treats target
    columns as independent draws, while JASPAR's long matrices hold runs of near-uniform columns
    (CTCF MA1930.2: ten columns of 0.01 to 0.2 bits between its two halves). A uniform query
    therefore matched CTCF with E = 2e-12, and 83 % of random matrices of 0.45 bits per column
    had a match at E < 0.1. Correlation ignores a column's scale, so flat query columns no longer
    prefer flat target columns (a constant one scores 0 against all), and the rate of random
    matrices with any match at E < 0.1 stays below the nominal 0.1
    (``tests/methods/test_tomtom_calibration.py``).

    The first call compiles memelite's numba code (about a minute on 2 cores; cached on disk
    afterwards): :func:`warm_up` does it ahead of time, as ``make`` and ``binder/postBuild`` do.
    """
    if n_best is not None and (isinstance(n_best, bool) or not isinstance(n_best, int) or n_best < 1):
        raise ValueError(f"n_best must be a positive integer or None; got {n_best!r}")
    queries = _as_motifs(queries, "query")
    targets = _as_motifs(jaspar_motifs() if database is None else database, "database")
    p_values, offsets, strands, informative = _tomtom(queries, targets)
    q_values = _benjamini_hochberg(p_values)
    results = []
    for i, query in enumerate(queries):
        best = np.argsort(p_values[i], kind="stable")[:n_best] if informative[i] else []
        matches = [MotifMatch(query.name, targets[j].name, targets[j].matrix_id, float(p_values[i, j]),
                              float(p_values[i, j] * len(targets)), float(q_values[i, j]), int(offsets[i, j]),
                              "-" if strands[i, j] else "+") for j in best]
        results.append(QueryMatches([m for m in matches if max_e_value is None or m.e_value <= max_e_value],
                                    query=query.name, information_content=float(query.information_content().sum()),
                                    informative=bool(informative[i])))
    return results


def warm_up() -> None:
    """Compile memelite's Tomtom (numba, cached on disk) so that the first real call is fast."""
    rng = np.random.default_rng(0)
    motifs = [Motif(f"m{i}", rng.dirichlet(np.ones(4), size=8).T) for i in range(30)]
    _tomtom([Motif.from_consensus("q0", "ACGTTGCA"), Motif.from_consensus("q1", "GGGACTTT")], motifs)
