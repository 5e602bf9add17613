"""One data set type for arrays, files, shipped real data and the synthetic tasks.

:class:`Dataset` and the types of its fields: :class:`ReadReport` (what a reader of
:mod:`.io` did) and :class:`PlantedInstances` (the ground truth of :mod:`.tasks`). The readers
(:func:`~xai_widgets.data.read_fasta`, :func:`~xai_widgets.data.read_bed`,
:func:`~xai_widgets.data.read_table`) and the tasks build datasets; this module imports neither.

>>> from xai_widgets import data
>>> ds = data.Dataset.from_arrays(data.one_hot(["ACGT", "TTGA"]), [[0.5], [1.5]])
>>> ds
Dataset('dataset', N=2, L=4, targets=1 ('target_0',), kind='regression')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

import numpy as np
import torch

from .encoding import check_one_hot, decode, one_hot

KINDS = ("regression", "binary", "multilabel")
SPLIT_NAMES = ("train", "valid", "test")


def _infer_kind(y: torch.Tensor) -> str:
    """``"binary"``/``"multilabel"`` when every label is 0 or 1, else ``"regression"``."""
    if bool(((y == 0) | (y == 1)).all()):
        return "binary" if y.shape[1] == 1 else "multilabel"
    return "regression"


@dataclass
class ReadReport:
    """What a reader did with its input.

    Attributes
    ----------
    source : str
        The file (or files) read.
    read : int
        Records (FASTA), intervals (BED) or rows (tables) found, skipped ones included.
    kept : int
        Records in the result (``read - sum(skipped.values())``).
    cropped, padded : int
        Sequences shortened or N-padded to ``length``.
    off_chromosome : int
        BED windows that ran off a chromosome end (their outside part is ``N``).
    reverse_complemented : int
        Minus-strand BED intervals, read as the reverse complement.
    unknown_bases : int
        ``N`` bases in the result, padding included.
    ignored_lines : int
        Blank, comment (``#``), ``track`` and ``browser`` lines of a BED file.
    skipped : dict of str to int
        Skipped records per reason (only with ``missing="skip"``).
    skipped_examples : list of str
        The first few skipped records, as ``"line 12: chrUn not in genome"``.
    """

    source: str
    read: int = 0
    kept: int = 0
    cropped: int = 0
    padded: int = 0
    off_chromosome: int = 0
    reverse_complemented: int = 0
    unknown_bases: int = 0
    ignored_lines: int = 0
    skipped: dict = field(default_factory=dict)
    skipped_examples: list = field(default_factory=list)

    def skip(self, reason: str, where: str) -> None:
        """Count one skipped record (``where`` names it, e.g. ``"line 3"``)."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if len(self.skipped_examples) < 10:
            self.skipped_examples.append(f"{where}: {reason}")

    @classmethod
    def merge(cls, *reports: ReadReport) -> ReadReport:
        """One report summing the counts of several (their sources joined with ``" + "``)."""
        merged = cls(" + ".join(r.source for r in reports))
        for r in reports:
            for f in fields(cls):
                value = getattr(r, f.name)
                if isinstance(value, int):
                    setattr(merged, f.name, getattr(merged, f.name) + value)
            for reason, count in r.skipped.items():
                merged.skipped[reason] = merged.skipped.get(reason, 0) + count
            merged.skipped_examples.extend(r.skipped_examples)
        return merged

    def __str__(self) -> str:
        parts = [f"read {self.read}", f"kept {self.kept}"]
        for label in ("cropped", "padded", "off_chromosome", "reverse_complemented", "unknown_bases",
                      "ignored_lines"):
            if getattr(self, label):
                parts.append(f"{label.replace('_', ' ')} {getattr(self, label)}")
        parts += [f"skipped {n} ({reason})" for reason, n in sorted(self.skipped.items())]
        return f"{self.source}: " + ", ".join(parts)


@dataclass(frozen=True)
class PlantedInstances:
    """Every planted motif instance, one entry per instance.

    Attributes
    ----------
    sequence : numpy.ndarray of int, shape (K,)
        Row of ``X`` the instance is in.
    motif : numpy.ndarray of str, shape (K,)
        Motif name (a key of the task's ``motifs``).
    start, end : numpy.ndarray of int, shape (K,)
        Half-open span ``[start, end)`` in sequence coordinates.
    strand : numpy.ndarray of int, shape (K,)
        +1 (motif as given) or -1 (reverse complement).
    """

    sequence: np.ndarray
    motif: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strand: np.ndarray

    def __len__(self) -> int:
        return len(self.sequence)

    def for_sequence(self, i: int) -> list[tuple[str, int, int, int]]:
        """``[(motif, start, end, strand), ...]`` of sequence ``i``, left to right."""
        rows = np.flatnonzero(self.sequence == i)
        rows = rows[np.argsort(self.start[rows], kind="stable")]
        return [(str(self.motif[r]), int(self.start[r]), int(self.end[r]), int(self.strand[r])) for r in rows]

    def take(self, rows: np.ndarray) -> PlantedInstances:
        """The instances of the sequences ``rows``, renumbered 0..len(rows)-1."""
        rows = np.asarray(rows)
        size = max(int(self.sequence.max(initial=-1)), int(rows.max(initial=-1))) + 1
        new_index = np.full(size, -1)
        new_index[rows] = np.arange(len(rows))
        keep = np.isin(self.sequence, rows)
        return PlantedInstances(new_index[self.sequence[keep]], self.motif[keep], self.start[keep],
                                self.end[keep], self.strand[keep])


@dataclass(frozen=True, repr=False)
class Dataset:
    """Sequences, labels and everything known about them.

    Attributes
    ----------
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences (float, rows A, C, G, T; ``N`` bases all-zero or all-0.25 columns).
    y : torch.Tensor of float32, shape (N, T), or None
        Labels: 0/1 for classification, real values for regression; None for unlabelled
        sequences.
    target_names : tuple of str, length T
        Default ``("target_0", ...)``.
    kind : {"regression", "binary", "multilabel"} or None
        How :func:`xai_widgets.zoo.train` and :func:`~xai_widgets.zoo.evaluate` treat ``y``
        (MSE and Pearson r, or binary cross-entropy and AUROC). Default: inferred from ``y``
        (classification when every label is 0 or 1; ``"binary"`` for one target).
    names : tuple of str, length N, or None
        Sequence names (FASTA ids, BED names, a table column).
    coordinates : tuple of (chrom, start, end, strand), length N, or None
        Genomic window of each sequence (0-based, half-open).
    splits : dict of str to numpy.ndarray of int
        Row indices per split, e.g. ``"train"``, ``"valid"``, ``"test"``.
    name : str
        Short name shown in ``repr`` and progress bars.
    instances : PlantedInstances or None
        Ground truth of the synthetic tasks: every planted motif instance.
    mask : torch.Tensor of bool, shape (N, L), or None
        Ground truth: planted informative positions.
    motifs : dict of str to Motif or None
        Ground truth: the motifs planted.
    report : ReadReport or None
        What the reader counted (read, cropped, padded, skipped per reason) for data from files.
    description : str
        Where the data come from, in words.

    Raises
    ------
    ValueError
        On construction, when shapes disagree (``y``, ``names``, ``coordinates``, ``mask``
        against ``N``; ``target_names`` against ``T``) or a split holds a row outside ``0..N-1``.
    """

    X: torch.Tensor
    y: torch.Tensor | None = None
    target_names: tuple = ()
    kind: str | None = None
    names: tuple | None = None
    coordinates: tuple | None = None
    splits: dict = field(default_factory=dict)
    name: str = "dataset"
    instances: PlantedInstances | None = None
    mask: torch.Tensor | None = None
    motifs: dict | None = None
    report: ReadReport | None = None
    description: str = ""

    def __post_init__(self):
        X = self.X
        if not isinstance(X, torch.Tensor) or X.ndim != 3 or X.shape[1] != 4 or not X.is_floating_point():
            shape = tuple(X.shape) if hasattr(X, "shape") else type(X).__name__
            raise ValueError(f"X must be a float tensor of shape (N, 4, L); got {shape}. Use Dataset.from_arrays, "
                             "which also accepts numpy arrays and strings.")
        n = X.shape[0]
        set_ = object.__setattr__
        if self.y is not None:
            y = torch.as_tensor(self.y, dtype=torch.float32)
            y = y[:, None] if y.ndim == 1 else y
            if y.ndim != 2 or y.shape[0] != n:
                raise ValueError(f"y must have shape (N,) or (N, T) with N = {n}; got {tuple(y.shape)}")
            set_(self, "y", y)
            names = tuple(self.target_names) or tuple(f"target_{t}" for t in range(y.shape[1]))
            if len(names) != y.shape[1]:
                raise ValueError(f"{len(names)} target_names for {y.shape[1]} target(s) in y")
            set_(self, "target_names", names)
            kind = self.kind or _infer_kind(y)
            if kind not in KINDS:
                raise ValueError(f"kind={kind!r}; choose one of {KINDS}")
            if kind != "regression" and not bool(((y == 0) | (y == 1)).all()):
                raise ValueError(f"kind={kind!r} needs labels 0 or 1; y holds other values (use kind='regression')")
            set_(self, "kind", kind)
        elif self.kind is not None:
            raise ValueError(f"kind={self.kind!r} given but no labels y")
        else:
            set_(self, "target_names", tuple(self.target_names))
        for attr in ("names", "coordinates"):
            value = getattr(self, attr)
            if value is not None:
                value = tuple(tuple(v) if attr == "coordinates" else str(v) for v in value)
                if len(value) != n:
                    raise ValueError(f"{attr} has {len(value)} entries for N = {n} sequences")
                set_(self, attr, value)
        if self.mask is not None and tuple(self.mask.shape) != (n, X.shape[2]):
            raise ValueError(f"mask must have shape (N, L) = {(n, X.shape[2])}; got {tuple(self.mask.shape)}")
        splits = {}
        for key, rows in dict(self.splits).items():
            rows = np.asarray(rows)
            if rows.dtype == bool:
                if rows.shape != (n,):
                    raise ValueError(f"split {key!r}: a boolean mask needs N = {n} entries; got {rows.shape}")
                rows = np.flatnonzero(rows)
            rows = rows.astype(np.int64).ravel()
            if len(rows) and (rows.min() < 0 or rows.max() >= n):
                raise ValueError(f"split {key!r} holds rows outside 0..{n - 1}")
            splits[str(key)] = rows
        set_(self, "splits", splits)

    # -- constructors -----------------------------------------------------------------------

    @classmethod
    def from_arrays(cls, X, y=None, *, target_names=None, names=None, coordinates=None, splits=None,
                    kind=None, name: str = "dataset", unknown: str = "zeros", description: str = "") -> Dataset:
        """A data set from arrays (or strings) in one call.

        Parameters
        ----------
        X : torch.Tensor or numpy.ndarray, shape (N, 4, L), or list of str
            One-hot sequences (validated with :func:`check_one_hot`, ``N`` columns allowed), or
            equal-length DNA strings (encoded with :func:`one_hot` and ``unknown``).
        y : array-like, shape (N,) or (N, T), optional
            Labels.
        target_names, names, coordinates, kind, name, description
            See :class:`Dataset`.
        splits : dict of str to array of int or bool, optional
            Rows per split; see also :meth:`random_split`.
        unknown : {"zeros", "uniform", "error"}
            Encoding of ``N`` in string input.

        Returns
        -------
        Dataset
        """
        if isinstance(X, str) or (isinstance(X, Sequence) and X and isinstance(X[0], str)):
            X = one_hot(X, unknown=unknown)
        else:
            X = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X)
            if not X.is_floating_point():
                X = X.float()
        check_one_hot(X, allow_unknown=True)
        return cls(X=X, y=y, target_names=tuple(target_names or ()), kind=kind, names=names,
                   coordinates=coordinates, splits=splits or {}, name=name, description=description)

    # -- views ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.X.shape[0]

    def __repr__(self) -> str:
        n, _, length = self.X.shape
        parts = [repr(self.name), f"N={n}", f"L={length}"]
        if self.y is not None:
            shown = self.target_names if len(self.target_names) <= 4 else (*self.target_names[:3], "...")
            parts += [f"targets={len(self.target_names)} {tuple(shown)!r}".replace("'...'", "..."),
                      f"kind={self.kind!r}"]
        else:
            parts.append("unlabelled")
        if self.splits:
            parts.append("splits: " + ", ".join(f"{k}={len(v)}" for k, v in self.splits.items()))
        if self.instances is not None:
            parts.append(f"instances={len(self.instances)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def sequences(self) -> list[str]:
        """The sequences as strings (``N`` for unknown bases)."""
        return decode(self.X)

    def _rows(self, rows) -> np.ndarray:
        if isinstance(rows, str):
            if rows not in self.splits:
                hint = " (use random_split(...) to make train/valid/test splits)" if not self.splits else ""
                raise KeyError(f"no split {rows!r}; choose one of {list(self.splits)}{hint}")
            return self.splits[rows]
        if isinstance(rows, slice):
            return np.arange(len(self))[rows]
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (len(self),):
                raise ValueError(f"a boolean row mask needs {len(self)} entries; got shape {rows.shape}")
            return np.flatnonzero(rows)
        rows = rows.astype(np.int64).ravel()
        if len(rows) and (rows.min() < -len(self) or rows.max() >= len(self)):
            raise IndexError(f"rows outside 0..{len(self) - 1}")
        return rows % len(self) if len(rows) else rows

    def subset(self, rows) -> Dataset:
        """The data set restricted to ``rows``: a split name, a slice, row indices or a boolean mask.

        Labels, names, coordinates and ground truth follow the rows (instances are renumbered);
        the result has one split, ``"all"``.

        Raises
        ------
        KeyError
            For an unknown split name.
        """
        rows = self._rows(rows)
        index = torch.as_tensor(rows)
        pick = lambda value: None if value is None else tuple(value[i] for i in rows)  # noqa: E731
        return replace(self, X=self.X[index], y=None if self.y is None else self.y[index],
                       names=pick(self.names), coordinates=pick(self.coordinates),
                       mask=None if self.mask is None else self.mask[index],
                       instances=None if self.instances is None else self.instances.take(rows),
                       splits={"all": np.arange(len(rows))})

    def split(self, name: str) -> Dataset:
        """The rows of split ``name`` as a data set (``subset(name)``)."""
        return self.subset(name)

    def random_split(self, fractions=(0.8, 0.1, 0.1), random_state: int = 0) -> Dataset:
        """The same data with new random splits.

        Parameters
        ----------
        fractions : sequence of 2 or 3 floats, or dict of str to float
            Fractions of ``"train"``, ``"valid"`` (and ``"test"``), or named fractions;
            they must be positive and sum to 1. Split ``k`` gets rows
            ``round(n * cumsum[k-1])`` to ``round(n * cumsum[k])`` of a random permutation.
        random_state : int
            Seed of the permutation.

        Returns
        -------
        Dataset
            A copy whose ``splits`` are replaced (the old ones are dropped).

        Raises
        ------
        ValueError
            Fractions that are not positive, do not sum to 1, or leave a split empty.
        """
        if isinstance(fractions, Mapping):
            keys, values = list(fractions), [float(v) for v in fractions.values()]
        else:
            values = [float(v) for v in fractions]
            if len(values) not in (2, 3):
                raise ValueError(f"give 2 or 3 fractions (train, valid[, test]) or a dict; got {len(values)}")
            keys = list(SPLIT_NAMES[: len(values)])
        if min(values) <= 0 or abs(sum(values) - 1) > 1e-6:
            raise ValueError(f"fractions must be positive and sum to 1; got {values}")
        n = len(self)
        bounds = np.round(np.cumsum([0.0, *values]) * n).astype(int)
        bounds[-1] = n
        order = np.random.default_rng(random_state).permutation(n)
        splits = {k: np.sort(order[a:b]) for k, a, b in zip(keys, bounds[:-1], bounds[1:])}
        empty = [k for k, v in splits.items() if not len(v)]
        if empty:
            raise ValueError(f"split {empty[0]!r} would be empty with {n} sequences and fractions {values}")
        return replace(self, splits=splits)
