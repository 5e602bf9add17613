"""Motifs: position probability matrices, MEME files, the bundled set and JASPAR.

The bundled set (``motifs/jaspar2024_bundled.meme``) holds the JASPAR 2024 CORE vertebrate
matrices that the synthetic tasks plant, so data generation, tests and tutorials work without
the full database. Anything else is looked up in JASPAR through pyjaspar (its database ships
with the package, so this also works offline); pyjaspar is imported on first use only.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .encoding import ALPHABET

JASPAR_RELEASE = "JASPAR2024"
BUNDLED_MEME = "jaspar2024_bundled.meme"
MASK_MIN_BITS = 0.01
"""A planted position counts as ground truth when its PWM column carries more than this."""


@dataclass(frozen=True)
class Motif:
    """A DNA motif as a position probability matrix.

    Attributes
    ----------
    name : str
        Transcription factor name, e.g. ``"CEBPB"``.
    probabilities : numpy.ndarray, shape (4, W)
        Column-stochastic matrix, rows A, C, G, T.
    matrix_id : str
        Database identifier, e.g. ``"MA0466.4"``; empty when not from a database.
    n_sites : int
        Number of sites behind the matrix (0 if unknown).
    """

    name: str
    probabilities: np.ndarray
    matrix_id: str = ""
    n_sites: int = 0
    meta: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        p = np.asarray(self.probabilities, dtype=np.float64)
        if p.ndim != 2 or p.shape[0] != 4 or p.shape[1] == 0:
            raise ValueError(f"motif {self.name!r}: probabilities must have shape (4, W); got {p.shape}")
        if (p < 0).any():
            raise ValueError(f"motif {self.name!r}: negative probabilities")
        sums = p.sum(0)
        if np.any(sums == 0):
            raise ValueError(f"motif {self.name!r}: a column sums to zero")
        object.__setattr__(self, "probabilities", p / sums)

    @classmethod
    def from_counts(cls, name: str, counts, matrix_id: str = "", pseudocount: float = 0.0) -> Motif:
        """Build a motif from a ``(4, W)`` count matrix, adding ``pseudocount`` to every cell."""
        c = np.asarray(counts, dtype=np.float64)
        n_sites = int(round(c.sum(0).max())) if c.size else 0
        return cls(name, c + pseudocount, matrix_id=matrix_id, n_sites=n_sites)

    @classmethod
    def from_consensus(cls, name: str, consensus: str) -> Motif:
        """A deterministic motif that is exactly ``consensus`` (A, C, G, T only)."""
        from .encoding import encode_indices

        idx = encode_indices(consensus)[0]
        return cls(name, np.eye(4)[:, idx])

    @property
    def width(self) -> int:
        return self.probabilities.shape[1]

    @property
    def consensus(self) -> str:
        return "".join(ALPHABET[i] for i in self.probabilities.argmax(0))

    @property
    def label(self) -> str:
        return f"{self.name} ({self.matrix_id})" if self.matrix_id else self.name

    def information_content(self, background=(0.25, 0.25, 0.25, 0.25)) -> np.ndarray:
        """Bits per column, ``sum_b p_b log2(p_b / q_b)``; shape (W,)."""
        p = self.probabilities
        q = np.asarray(background, dtype=np.float64)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log2(p / q), 0.0)
        return terms.sum(0)

    def log_odds(self, background=(0.25, 0.25, 0.25, 0.25), pseudocount: float = 1e-3) -> np.ndarray:
        """PWM as log2 odds against ``background``; shape (4, W)."""
        p = self.probabilities + pseudocount
        p = p / p.sum(0)
        return np.log2(p / np.asarray(background, dtype=np.float64)[:, None])

    def reverse_complement(self) -> Motif:
        return Motif(self.name, self.probabilities[::-1, ::-1].copy(), self.matrix_id, self.n_sites, self.meta)

    def sample(self, n: int, random_state: np.random.Generator | int | None = None,
               temperature: float = 1.0) -> np.ndarray:
        """Draw ``n`` sites from the matrix, column by column.

        Parameters
        ----------
        n : int
        random_state : numpy.random.Generator, int or None
        temperature : float
            Sample from ``p ** (1 / temperature)`` renormalised per column: 1 is the matrix
            itself, below 1 sharpens towards the consensus (zeros and uniform columns stay).

        Returns
        -------
        numpy.ndarray of int8, shape (n, W)
            Base indices 0..3 (A, C, G, T).
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0; got {temperature}")
        rng = np.random.default_rng(random_state)
        p = self.probabilities ** (1.0 / temperature)
        cdf = np.cumsum(p / p.sum(0), axis=0)
        u = rng.random((n, 1, self.width))
        return (u > cdf[None, :-1, :]).sum(1).astype(np.int8)


# ---------------------------------------------------------------------------------------------
# MEME format


def read_meme(path_or_text: str | Path) -> dict[str, Motif]:
    """Read motifs from a MEME (minimal) file or its text.

    Returns
    -------
    dict
        ``{name: Motif}`` in file order; a name seen twice gets its matrix id appended.
    """
    text = str(path_or_text)
    if "MOTIF" not in text:
        text = Path(path_or_text).read_text()
    motifs: dict[str, Motif] = {}
    blocks = re.split(r"^MOTIF\s+", text, flags=re.M)[1:]
    for block in blocks:
        lines = block.strip().splitlines()
        ident = lines[0].split()
        matrix_id, name = (ident[0], ident[1]) if len(ident) > 1 else ("", ident[0])
        header = next((i for i, ln in enumerate(lines) if ln.strip().startswith("letter-probability")), None)
        if header is None:
            raise ValueError(f"MEME block for {name!r} has no 'letter-probability matrix' line")
        width = int(re.search(r"w=\s*(\d+)", lines[header]).group(1))
        nsites_match = re.search(r"nsites=\s*([\d.]+)", lines[header])
        rows = [list(map(float, ln.split())) for ln in lines[header + 1 : header + 1 + width]]
        probs = np.array(rows).T
        if probs.shape != (4, width):
            raise ValueError(f"MEME block for {name!r}: expected {width} rows of 4 numbers")
        key = name if name not in motifs else f"{name}_{matrix_id}"
        motifs[key] = Motif(name, probs, matrix_id, int(float(nsites_match.group(1))) if nsites_match else 0)
    if not motifs:
        raise ValueError("no MOTIF blocks found")
    return motifs


def write_meme(motifs, path: str | Path | None = None, *, header_comment: str = "") -> str:
    """Write motifs (an iterable of :class:`Motif` or a dict of them) as MEME text.

    Returns the text; also writes it to ``path`` when given.

    Parameters
    ----------
    motifs : iterable or dict of Motif
    path : str or pathlib.Path, optional
        Default None: write no file.
    header_comment : str, optional
        Default ``""``. A comment line for the file's header.
    """
    items = motifs.values() if isinstance(motifs, dict) else motifs
    out = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
           "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    if header_comment:
        out[1:1] = [f"# {line}" for line in header_comment.splitlines()]
    for m in items:
        ident = f"{m.matrix_id} {m.name}" if m.matrix_id else m.name
        out += [f"MOTIF {ident}",
                f"letter-probability matrix: alength= 4 w= {m.width} nsites= {m.n_sites} E= 0"]
        out += [" ".join(f"{v:.6f}" for v in col) for col in m.probabilities.T]
        out.append("")
    text = "\n".join(out)
    if path is not None:
        Path(path).write_text(text)
    return text


# ---------------------------------------------------------------------------------------------
# Bundled set and JASPAR


@functools.cache
def bundled_motifs() -> dict[str, Motif]:
    """The motifs shipped with the package (JASPAR 2024, CC BY 4.0), keyed by name."""
    text = resources.files("xai_widgets.data").joinpath("motifs", BUNDLED_MEME).read_text()
    return read_meme(text)


def get_motif(name: str) -> Motif:
    """A motif by TF name (case-insensitive) or JASPAR matrix id.

    Looks in the bundled set first, then in JASPAR (CORE, vertebrates) through pyjaspar.
    """
    bundled = bundled_motifs()
    for m in bundled.values():
        if name.lower() in (m.name.lower(), m.matrix_id.lower()):
            return m
    return jaspar_motif(name)


def _jaspar_db(release: str = JASPAR_RELEASE):
    try:
        from pyjaspar import jaspardb
    except ImportError as err:  # pragma: no cover - pyjaspar is a runtime dependency
        raise ImportError("JASPAR look-ups need pyjaspar: pip install pyjaspar") from err
    return jaspardb(release=release)


def _from_jaspar_record(record) -> Motif:
    counts = np.array([record.counts[b] for b in ALPHABET], dtype=np.float64)
    meta = {"tf_class": list(record.tf_class or []), "tf_family": list(record.tf_family or []),
            "collection": record.collection, "tax_group": record.tax_group}
    m = Motif.from_counts(record.name, counts, matrix_id=record.matrix_id)
    return Motif(m.name, m.probabilities, m.matrix_id, m.n_sites, meta)


def jaspar_motif(name_or_id: str, *, release: str = JASPAR_RELEASE, tax_group: str = "vertebrates") -> Motif:
    """Fetch one motif from JASPAR by matrix id (``"MA0466.4"``) or TF name (latest version).

    Parameters
    ----------
    name_or_id : str
        A matrix id or a TF name.
    release : str, optional
        Default ``JASPAR_RELEASE`` (the shipped release).
    tax_group : str, optional
        Default ``"vertebrates"``. The taxonomic group searched by name.

    Raises
    ------
    KeyError
        When JASPAR has no such motif in the CORE collection of ``tax_group``.
    """
    db = _jaspar_db(release)
    if re.fullmatch(r"[A-Z]{2}\d{4}(\.\d+)?", name_or_id):
        record = db.fetch_motif_by_id(name_or_id)
        if record is None:
            raise KeyError(f"JASPAR {release} has no matrix {name_or_id!r}")
        return _from_jaspar_record(record)
    with warnings.catch_warnings():  # pyjaspar warns on an empty result; we raise instead
        warnings.simplefilter("ignore")
        found = db.fetch_motifs_by_name(name_or_id)
    records = [r for r in found if r.collection == "CORE" and r.tax_group == tax_group]
    if not records:
        raise KeyError(f"JASPAR {release} CORE {tax_group} has no motif named {name_or_id!r}")
    return _from_jaspar_record(records[0])


def jaspar_motifs(*, release: str = JASPAR_RELEASE, tax_group: str = "vertebrates",
                  collection: str = "CORE") -> list[Motif]:
    """All latest-version motifs of a JASPAR collection and taxonomic group.

    Parameters
    ----------
    release : str, optional
        Default ``JASPAR_RELEASE`` (the shipped release).
    tax_group : str, optional
        Default ``"vertebrates"``; e.g. ``"insects"``, ``"plants"``.
    collection : str, optional
        Default ``"CORE"``.
    """
    db = _jaspar_db(release)
    records = db.fetch_motifs(collection=[collection], tax_group=[tax_group])
    return [_from_jaspar_record(r) for r in records]


def planted_mask_columns(motif: Motif, min_bits: float = MASK_MIN_BITS) -> np.ndarray:
    """Boolean ``(W,)``: which columns of ``motif`` count as ground truth when planted."""
    return motif.information_content() > min_bits


def scan(X, motif: Motif, *, threshold: float = 0.8) -> list[tuple[int, int, int, int]]:
    """Find sites of ``motif`` in one-hot sequences by log-odds PWM score, on both strands.

    Parameters
    ----------
    X : torch.Tensor, shape (N, 4, L)
    motif : Motif
    threshold : float, optional
        Default 0.8. Keep windows scoring at least this fraction of the best possible score.

    Returns
    -------
    list of (sequence, start, end, strand)
        Overlapping hits on the same sequence are reduced to the best one, left to right.
    """
    import torch

    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1]; got {threshold}")
    pwm = torch.as_tensor(motif.log_odds(), dtype=X.dtype)
    best = float(pwm.max(0).values.sum())
    if X.shape[-1] < motif.width:
        return []
    forward = torch.nn.functional.conv1d(X, pwm[None])[:, 0]
    reverse = torch.nn.functional.conv1d(X, pwm.flip(0, 1)[None])[:, 0]
    score, strand = torch.stack([forward, reverse]).max(0)
    hits = []
    for n, start in torch.nonzero(score >= threshold * best).tolist():
        if hits and hits[-1][0] == n and start < hits[-1][2]:
            if score[n, start] > score[n, hits[-1][1]]:
                hits[-1] = (n, start, start + motif.width, 1 - 2 * int(strand[n, start]))
            continue
        hits.append((n, start, start + motif.width, 1 - 2 * int(strand[n, start])))
    return hits
