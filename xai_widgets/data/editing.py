"""Sequence editing: motifs written into one-hot sequences, and backgrounds to write them into.

These are data operations (no model): global importance analysis
(:func:`xai_widgets.methods.global_importance`, :func:`~xai_widgets.methods.spacing_sweep`)
and the widgets build their edited sequences with them.

- :func:`insert_motif`, :func:`insert_motifs`: substitute motifs (consensus strings, sampled
  :class:`~xai_widgets.data.motifs.Motif` sites or one-hot arrays) at given positions and strands
- :func:`backgrounds`: random DNA of a chosen GC content, or dinucleotide shuffles of data
- :func:`b_start` and :data:`ORIENTATIONS`: where motif B goes for a spacing and an orientation pair
- the pieces they are made of: :func:`motif_name`, :func:`motif_width`, :func:`motif_sites`,
  :func:`orient`, :func:`motif_start`, :func:`normalise_insertions`
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .encoding import check_one_hot, encode_indices, indices_to_one_hot
from .motifs import Motif
from .shuffle import dinucleotide_shuffle

__all__ = ["ORIENTATIONS", "b_start", "backgrounds", "insert_motif", "insert_motifs", "motif_name", "motif_sites",
           "motif_start", "motif_width", "normalise_insertions", "orient"]

ORIENTATIONS = ("++", "+-", "-+", "--")
"""Orientation pairs of two motifs A and B (:func:`xai_widgets.methods.spacing_sweep`): A's
strand, then B's."""


def motif_name(motif) -> str:
    """A motif's label: the string itself, a :class:`Motif`'s name, or ``"one-hot(width=W)"``."""
    if isinstance(motif, str):
        return motif
    if isinstance(motif, Motif):
        return motif.name
    return f"one-hot(width={np.shape(motif)[-1]})"


def _check_strand(strand: str) -> int:
    if strand not in ("+", "-"):
        raise ValueError(f"strand must be '+' or '-'; got {strand!r}")
    return 1 if strand == "+" else -1


def motif_width(motif) -> int:
    """A motif's width ``W`` in bases, for any form :func:`insert_motif` takes.

    Raises
    ------
    TypeError
        If ``motif`` is not a string, a :class:`Motif` or a one-hot array.
    """
    if isinstance(motif, str):
        return len(motif)
    if isinstance(motif, Motif):
        return motif.width
    if isinstance(motif, (torch.Tensor, np.ndarray)):
        return int(motif.shape[-1])
    raise TypeError(f"a motif must be a consensus string, a Motif or a one-hot tensor (4, W) or (N, 4, W); "
                    f"got {type(motif).__name__}")


def motif_sites(motif, n: int, *, random_state=None, dtype=torch.float32) -> torch.Tensor:
    """One-hot sites ``(n, 4, W)`` of ``motif`` (on the + strand), one per background.

    A string is its exact sequence (A, C, G, T only), a :class:`Motif` is sampled column by
    column from its matrix (one site per background), a one-hot array ``(4, W)`` is used as is
    and an array ``(n, 4, W)`` gives each background its own site.

    Parameters
    ----------
    motif : str, Motif, or array of shape (4, W) or (n, 4, W)
    n : int
        Number of sites (backgrounds).
    random_state : int, numpy.random.Generator or None
        Seed for sampling a :class:`Motif`; default None (fresh entropy). A Generator is used
        (and advanced) as it is.
    dtype : torch.dtype
        Default ``torch.float32``.

    Returns
    -------
    torch.Tensor, shape (n, 4, W)
    """
    rng = np.random.default_rng(random_state)
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


def orient(sites: torch.Tensor, strand: str) -> torch.Tensor:
    """``sites (n, 4, W)`` as written on ``strand`` (``"+"`` or ``"-"``: the reverse complement)."""
    return sites if _check_strand(strand) == 1 else sites.flip(1, 2)


def _centre(length: int, width: int) -> int:
    """Start that puts a motif's middle at the sequence's middle (tangermeme's convention)."""
    return length // 2 - width // 2


def motif_start(position, *, width: int, length: int, what: str = "motif") -> int:
    """Check a motif's start (its first base) in a sequence; None centres it.

    Parameters
    ----------
    position : int or None
        First base of the motif; None puts the motif's middle at the sequence's middle
        (``length // 2 - width // 2``, tangermeme's convention).
    width, length : int
        Widths of the motif and of the sequence.
    what : str
        How error messages call the motif; default ``"motif"``.

    Returns
    -------
    int

    Raises
    ------
    TypeError, ValueError
        If ``position`` is not an int or None, or the motif does not fit.
    """
    if position is None:
        position = _centre(length, width)
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)):
        raise TypeError(f"position must be an int (the first base of the {what}) or None; got {position!r}")
    position = int(position)
    if not 0 <= position <= length - width:
        raise ValueError(f"a {what} of width {width} at position {position} does not fit a sequence of length "
                         f"{length}: position must be in 0..{length - width}")
    return position


def insert_motif(X: torch.Tensor, motif, *, position: int | None = None, strand: str = "+",
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
        ``[position, position + W)``); default None: centred (``L // 2 - W // 2``).
    strand : {"+", "-"}
        Default ``"+"``; ``"-"`` writes the reverse complement.
    random_state : int, numpy.random.Generator or None
        Seed for sampling a :class:`Motif`; default None (fresh entropy).

    Returns
    -------
    torch.Tensor, shape (N, 4, L)
        A copy of ``X`` with the motif written in.
    """
    return insert_motifs(X, [(motif, position, strand)], random_state=random_state)


def normalise_insertions(insertions, length: int) -> list[tuple]:
    """``[(motif, start, strand, width)]`` from insertions ``[(motif, position[, strand])]``
    (as :func:`insert_motifs` takes them) into sequences of ``length``.

    A single ``(motif, position[, strand])`` tuple is accepted too; a missing strand is ``"+"``
    and position None centres the motif (:func:`motif_start`).

    Raises
    ------
    ValueError
        If there are no insertions, one does not fit, or two overlap.
    """
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
        width = motif_width(motif)
        start = motif_start(position, width=width, length=length)
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
        Seed for sampling :class:`Motif` insertions (drawn in the order given); default None
        (fresh entropy).

    Returns
    -------
    torch.Tensor, shape (N, 4, L)
    """
    check_one_hot(X)
    rng = np.random.default_rng(random_state)
    out = X.clone()
    for motif, start, strand, width in normalise_insertions(insertions, X.shape[2]):
        sites = motif_sites(motif, X.shape[0], random_state=rng, dtype=X.dtype)
        out[:, :, start : start + width] = orient(sites, strand).to(X.device)
    return out


def backgrounds(n: int | None = None, length: int | None = None, *, from_sequences: torch.Tensor | None = None,
                gc: float = 0.5, random_state=None) -> torch.Tensor:
    """Background sequences to insert motifs into.

    Parameters
    ----------
    n : int or None
        Number of backgrounds; default None: one per sequence of ``from_sequences`` (required
        without it).
    length : int or None
        Length of random backgrounds; default None (required without ``from_sequences``, not
        used with it).
    from_sequences : torch.Tensor, shape (M, 4, L), optional
        Default None: random backgrounds. Data sequences to dinucleotide-shuffle
        (:func:`~xai_widgets.data.shuffle.dinucleotide_shuffle`):
        each background keeps one sequence's dinucleotide counts but loses its motifs. For
        ``n <= M`` a random subset of ``n`` sequences is shuffled once each; for ``n > M`` every
        sequence is shuffled ``ceil(n / M)`` times and the first ``n`` shuffles are kept.
    gc : float
        GC content of random backgrounds, default 0.5: each base is drawn independently with
        P(C) = P(G) = gc / 2 and P(A) = P(T) = (1 - gc) / 2.
    random_state : int, numpy.random.Generator or None
        Seed for the bases or the shuffles; default None (fresh entropy).

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


def b_start(position_a: int, spacing: int, *, orientation: str, width_a: int, width_b: int) -> int:
    """Start of motif B in sequence coordinates for one orientation and spacing (may fall off).

    The geometry of :func:`xai_widgets.methods.spacing_sweep` (see its module for the spacing
    convention): ``spacing >= 0``: B downstream of A in A's strand direction with ``spacing``
    bases between them; ``spacing < 0``: upstream with ``|spacing|`` bases between them.

    Parameters
    ----------
    position_a : int
        Start of motif A.
    spacing : int
        Signed number of bases between A and B.
    orientation : {"++", "+-", "-+", "--"}
        A's strand, then B's (:data:`ORIENTATIONS`); only A's strand matters here.
    width_a, width_b : int
        Widths of A and B.

    Returns
    -------
    int
        B's first base; negative, or beyond ``L - width_b``, when B falls off the sequence.
    """
    gap = abs(spacing)
    right = (spacing >= 0) == (orientation[0] == "+")
    return position_a + width_a + gap if right else position_a - gap - width_b
