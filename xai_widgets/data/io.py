"""Sequences from files: FASTA (plain or gzip), genome FASTA + BED intervals, TSV/CSV tables.

Every reader returns a :class:`~xai_widgets.data.dataset.Dataset` whose ``report`` (a
:class:`ReadReport`) counts what was read, cropped, padded and skipped, and why: nothing is
dropped silently.

Conventions shared by the readers
---------------------------------
- Case is ignored: soft-masked (lower-case) bases encode like upper-case ones.
- ``N`` follows :func:`~xai_widgets.data.one_hot`'s ``unknown`` rule (default here
  ``"zeros"``: an all-zero column; ``"uniform"``: 0.25 in each row; ``"error"``: raise). Any
  other letter raises, naming the record.
- Resizing to ``length`` keeps the centre, with one formula for every reader: a sequence of
  ``n`` bases is read over the window ``[n // 2 - length // 2, n // 2 - length // 2 + length)``
  of its own coordinates (a BED interval ``[start, end)`` over
  ``[(start + end) // 2 - length // 2, ... + length)`` of the chromosome), and positions
  outside the sequence (or the chromosome) become ``N``.
- ``policy`` says which sequences may be resized: ``"error"`` (all sequences must already have
  one length, ``length`` if given), ``"crop"`` (longer ones are cropped to ``length``, default
  the shortest; a shorter one raises), ``"pad"`` (shorter ones are padded with ``N`` to
  ``length``, default the longest; a longer one raises) or ``"resize"`` (both; ``length`` is
  required).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
import re
import tempfile
from pathlib import Path

import numpy as np
import torch

from .dataset import Dataset, ReadReport
from .encoding import UNKNOWN_POLICIES, one_hot, reverse_complement

LENGTH_POLICIES = ("error", "crop", "pad", "resize")
MISSING_POLICIES = ("error", "skip")
_BAD_LETTER = re.compile(r"[^ACGTNacgtn]")
_N_LETTER = re.compile(r"[Nn]")
_MISSING_VALUES = {"", "na", "nan", "n/a", "none", "null"}


# ---------------------------------------------------------------------------------------------
# shared helpers


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r}; choose one of {choices}")


def _open_text(path: Path):
    """Open a plain or gzip text file (told apart by its magic bytes, not its name)."""
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return io.TextIOWrapper(gzip.open(path), encoding="utf-8") if gz else open(path, encoding="utf-8")


def _existing(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    return path


def centre_window(n: int, length: int) -> int:
    """Start of the ``length``-wide window kept from a sequence of ``n`` bases (may be < 0)."""
    return n // 2 - length // 2


def _window(seq: str, start: int, length: int) -> str:
    """``seq[start:start + length]`` with ``N`` wherever the window leaves the sequence."""
    left = max(0, -start)
    right = max(0, start + length - len(seq))
    return "N" * left + seq[max(0, start) : max(0, start + length)] + "N" * right


def _fit_lengths(seqs: list[str], labels: list[str], length, policy: str, report: ReadReport) -> list[str]:
    """Apply the length ``policy`` (see the module docstring); ``labels`` name records in errors."""
    _check_choice("policy", policy, LENGTH_POLICIES)
    if length is not None and (not isinstance(length, (int, np.integer)) or length < 1):
        raise ValueError(f"length must be a positive integer or None; got {length!r}")
    lengths = np.array([len(s) for s in seqs])
    if policy == "error":
        target = int(lengths[0]) if length is None else int(length)
        off = np.flatnonzero(lengths != target)
        if len(off):
            i = int(off[0])
            raise ValueError(f"{report.source}: {labels[i]} has {lengths[i]} bases, not {target} "
                             f"({len(off)} of {len(seqs)} records differ): pass length=... with "
                             "policy='crop', 'pad' or 'resize'")
        return seqs
    if policy == "resize" and length is None:
        raise ValueError("policy='resize' needs length=...")
    target = int(length if length is not None else (lengths.min() if policy == "crop" else lengths.max()))
    forbidden = lengths < target if policy == "crop" else lengths > target if policy == "pad" else None
    if forbidden is not None and forbidden.any():
        i = int(np.flatnonzero(forbidden)[0])
        verb = "shorter" if policy == "crop" else "longer"
        raise ValueError(f"{report.source}: {labels[i]} has {lengths[i]} bases, {verb} than length={target}, "
                         f"which policy={policy!r} cannot fix: use policy='resize'")
    report.cropped += int((lengths > target).sum())
    report.padded += int((lengths < target).sum())
    return [s if len(s) == target else _window(s, centre_window(len(s), target), target) for s in seqs]


def _encode(seqs: list[str], labels: list[str], unknown: str, report: ReadReport) -> torch.Tensor:
    """One-hot encode, naming the record (not just its row) when a letter is refused."""
    _check_choice("unknown", unknown, UNKNOWN_POLICIES)
    if not seqs:
        raise ValueError(f"{report.source}: no sequences to read")
    pattern = _BAD_LETTER if unknown != "error" else re.compile(r"[^ACGTacgt]")
    for seq, label in zip(seqs, labels):
        if not seq:
            raise ValueError(f"{report.source}: {label} is an empty sequence")
        bad = pattern.search(seq)
        if bad:
            hint = (" Pass unknown='zeros' or 'uniform' to encode N." if bad.group() in "Nn"
                    else " Only A, C, G, T (any case) and N are accepted.")
            raise ValueError(f"{report.source}: {label} has {bad.group()!r} at position {bad.start()}.{hint}")
    report.unknown_bases = sum(len(_N_LETTER.findall(s)) for s in seqs)
    return one_hot(seqs, unknown=unknown)


# ---------------------------------------------------------------------------------------------
# FASTA


def read_fasta(path, *, length=None, policy: str = "error", unknown: str = "zeros", name: str | None = None):
    """Read every record of a FASTA file (plain or gzip) into one-hot sequences.

    Parameters
    ----------
    path : str or path-like
        FASTA file, plain or gzip-compressed (detected from its content).
    length : int, optional
        Default None: the records' own length. Length of the result; how sequences of other lengths are treated depends
        on ``policy``.
    policy : {"error", "crop", "pad", "resize"}
        Length policy (see :mod:`xai_widgets.data.io`): by default all records must have one
        length.
    unknown : {"zeros", "uniform", "error"}, optional
        Default ``"zeros"``. Encoding of ``N`` (see :func:`~xai_widgets.data.one_hot`).
    name : str, optional
        Name of the data set; default None: the file name.

    Returns
    -------
    Dataset
        ``X`` of shape (N, 4, length), ``names`` the record ids (the header up to the first
        space), no labels; ``report`` counts cropped and padded records and ``N`` bases.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file does not start with a ``>`` header line, holds no record, a record is
        empty or holds a letter other than A, C, G, T, N (the message names the record), or
        lengths break ``policy``.

    Notes
    -----
    Parsed with Biopython's ``SimpleFastaParser`` (no index file is written); blank lines are
    ignored.
    """
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    path = _existing(path)
    report = ReadReport(str(path))
    names, seqs = [], []
    with _open_text(path) as fh:
        first = next(((number, line) for number, line in enumerate(fh, start=1) if line.strip()), None)
    if first is None:
        raise ValueError(f"{path}: no FASTA records found (the file is empty)")
    if not first[1].startswith(">"):
        raise ValueError(f"{path}: line {first[0]} comes before the first '>' header: a FASTA file starts with a "
                         f"header line; got {first[1].strip()[:40]!r}")
    with _open_text(path) as fh:
        for title, seq in SimpleFastaParser(fh):
            names.append(title.split(None, 1)[0] if title.strip() else "")
            seqs.append(seq)
    if not seqs:
        raise ValueError(f"{path}: no FASTA records found (records start with a '>' header line)")
    report.read = report.kept = len(seqs)
    labels = [f"record {i + 1} ({n!r})" for i, n in enumerate(names)]
    seqs = _fit_lengths(seqs, labels, length, policy, report)
    X = _encode(seqs, labels, unknown, report)
    return Dataset(X=X, names=tuple(names), name=name or path.name, report=report)


# ---------------------------------------------------------------------------------------------
# genome + BED


def open_genome(path):
    """Open an indexed genome FASTA with :class:`pyfaidx.Fasta` (raw strings, case kept).

    An index (``.fai``) beside the FASTA is used when it is at least as new as the FASTA;
    otherwise one is built in the temporary folder (keyed by the file's path, size and
    modification time), so nothing is ever written beside the FASTA and read-only locations
    (an installed package, a shared data folder) work.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For a gzip file that is not bgzip-compressed (pyfaidx cannot index it).
    """
    import pyfaidx

    path = _existing(path)
    options = {"as_raw": True, "sequence_always_upper": False, "rebuild": False}
    beside = Path(f"{path}.fai")
    if not (beside.is_file() and beside.stat().st_mtime >= path.stat().st_mtime):
        stat = path.stat()
        key = hashlib.sha1(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / "xai_widgets_fai"
        folder.mkdir(exist_ok=True)
        options["indexname"] = str(folder / f"{key}.fai")
        options["gzi_indexname"] = str(folder / f"{key}.gzi")
    try:
        return pyfaidx.Fasta(str(path), **options)
    except pyfaidx.UnsupportedCompressionFormat as err:
        raise ValueError(f"{path} is gzip-compressed but not with bgzip, so it cannot be indexed: decompress it "
                         "(gunzip) or recompress it with `bgzip`") from err


def _parse_bed_line(parts: list[str], where: str, strand: bool) -> tuple[str, int, int, str, str | None]:
    if len(parts) < 3:
        raise ValueError(f"{where}: a BED line needs at least 3 tab-separated fields (chrom, start, end); "
                         f"got {len(parts)}: {chr(9).join(parts)!r}")
    chrom, start, end = parts[0], parts[1], parts[2]
    try:
        start, end = int(start), int(end)
    except ValueError:
        raise ValueError(f"{where}: start and end must be integers; got {parts[1]!r} and {parts[2]!r}") from None
    if start < 0 or end <= start:
        raise ValueError(f"{where}: need 0 <= start < end (0-based, half-open); got start={start}, end={end}")
    sign = "+"
    if strand and len(parts) >= 6:
        sign = parts[5]
        if sign not in ("+", "-", "."):
            raise ValueError(f"{where}: the strand (6th field) must be '+', '-' or '.'; got {sign!r}")
    label = parts[3] if len(parts) >= 4 and parts[3] not in ("", ".") else None
    return chrom, start, end, sign, label


def read_bed(genome, bed, *, length=None, strand: bool = True, missing: str = "error", unknown: str = "zeros",
             name: str | None = None):
    """Read the genome sequence of every interval in a BED file.

    Parameters
    ----------
    genome : str or path-like
        Genome FASTA, plain or bgzip, indexed with pyfaidx without writing beside it
        (see :func:`open_genome`).
    bed : str or path-like
        BED file (plain or gzip): tab-separated ``chrom, start, end`` (0-based, half-open),
        optionally ``name, score, strand``. Blank, ``#``, ``track`` and ``browser`` lines are
        ignored (and counted).
    length : int, optional
        Resize every interval around its centre to this length: the window is
        ``[(start + end) // 2 - length // 2, ... + length)``. Default None: use the intervals
        as given (they must then all have one length).
    strand : bool, optional
        Default True. Read minus-strand intervals (6th field ``-``) as the reverse complement. With
        ``False`` the strand field is ignored.
    missing : {"error", "skip"}, optional
        Default ``"error"``. A chromosome that is not in the genome raises (naming the line), or the interval is
        skipped and counted in ``report.skipped``.
    unknown : {"zeros", "uniform", "error"}, optional
        Default ``"zeros"``. Encoding of ``N``, including the ``N`` that pads a window running off a chromosome end.
    name : str, optional
        Name of the data set; default None: the BED file name.

    Returns
    -------
    Dataset
        ``X`` (N, 4, length) in BED order; ``names`` the BED name field (or
        ``chrom:start-end(strand)``); ``coordinates`` ``(chrom, start, end, strand)`` of the
        window read (``start`` may be negative, ``end`` beyond the chromosome when the window
        runs off its end; those bases are ``N``).

    Raises
    ------
    ValueError
        A malformed line (too few fields, non-integer or inverted coordinates, bad strand),
        a chromosome missing from the genome (with ``missing="error"``), intervals of several
        lengths without ``length``, or an empty BED; the message names the file and line.
    """
    _check_choice("missing", missing, MISSING_POLICIES)
    bed = _existing(bed)
    if length is not None and (not isinstance(length, (int, np.integer)) or length < 1):
        raise ValueError(f"length must be a positive integer or None; got {length!r}")
    report = ReadReport(f"{bed} on {Path(genome).name}")
    names, seqs, coords, labels = [], [], [], []
    with open_genome(genome) as fasta, _open_text(bed) as fh:
        for number, line in enumerate(fh, start=1):
            text = line.rstrip("\r\n")
            if not text.strip() or text.startswith(("#", "track", "browser")):
                report.ignored_lines += 1
                continue
            where = f"{bed}, line {number}"
            chrom, start, end, sign, label = _parse_bed_line(text.split("\t"), where, strand)
            report.read += 1
            if chrom not in fasta:
                if missing == "error":
                    shown = ", ".join(list(fasta.keys())[:5])
                    raise ValueError(f"{where}: chromosome {chrom!r} is not in the genome {genome} (it has {shown}"
                                     f"{', ...' if len(fasta.keys()) > 5 else ''}); pass missing='skip' to skip "
                                     "such intervals (they are counted in report.skipped)")
                report.skip("chromosome not in genome", f"line {number} ({chrom})")
                continue
            if length is not None:
                start = (start + end) // 2 - length // 2
                end = start + length
            size = len(fasta[chrom])
            inside = fasta[chrom][max(0, start) : min(size, end)] if start < size and end > 0 else ""
            seq = inside
            if start < 0 or end > size:
                report.off_chromosome += 1
                left = min(max(0, -start), end - start)
                seq = "N" * left + inside + "N" * (end - start - left - len(inside))
            if sign == "-":
                seq = reverse_complement(seq)
                report.reverse_complemented += 1
            names.append(label or f"{chrom}:{start}-{end}({sign})")
            seqs.append(seq)
            coords.append((chrom, start, end, sign))
            labels.append(f"line {number}")
    if not seqs:
        raise ValueError(f"{bed}: no intervals to read ({report.read} read, skipped: {report.skipped or 'none'})")
    report.kept = len(seqs)
    if length is None:
        _fit_lengths(seqs, labels, None, "error", report)
    X = _encode(seqs, labels, unknown, report)
    return Dataset(X=X, names=tuple(names), coordinates=tuple(coords), name=name or bed.name, report=report)


# ---------------------------------------------------------------------------------------------
# tables


def _delimiter(path: Path, sep) -> str:
    if sep is not None:
        return sep
    stem = path.name.lower().removesuffix(".gz")
    if stem.endswith(".csv"):
        return ","
    if stem.endswith((".tsv", ".txt", ".tab")):
        return "\t"
    raise ValueError(f"cannot tell the separator of {path.name} from its name: pass sep=',' or sep='\\t'")


def read_table(path, *, sequence_column: str, label_columns=None, name_column: str | None = None,
               split_column: str | None = None, sep: str | None = None, length=None, policy: str = "error",
               unknown: str = "zeros", missing: str = "error", target_names=None, name: str | None = None):
    """Read sequences and numeric labels from a TSV or CSV table (plain or gzip) with a header.

    Parameters
    ----------
    path : str or path-like
        The table; its first line names the columns.
    sequence_column : str
        Column holding the DNA sequences.
    label_columns : str or list of str, optional
        Numeric label columns, in order (the targets ``y``). None: no labels.
    name_column : str, optional
        Column of sequence names; default None: ``"row 2"``, ``"row 3"``, ... by line number.
    split_column : str, optional
        Default None: no splits. Column naming each row's split (e.g. train/valid/test); becomes ``splits``.
    sep : str, optional
        Field separator; default None: from the file name (``.csv``: comma; ``.tsv``, ``.txt``,
        ``.tab``: tab; ``.gz`` is looked through).
    length : int, optional
        Default None; as in :func:`read_fasta`.
    policy : {"error", "crop", "pad", "resize"}, optional
        Default ``"error"``; as in :func:`read_fasta`.
    unknown : {"zeros", "uniform", "error"}, optional
        Default ``"zeros"``; as in :func:`read_fasta`.
    missing : {"error", "skip"}, optional
        Default ``"error"``. A row with an empty or NA label (``""``, ``NA``, ``NaN``, ``None``, ``null``) raises
        (naming the line and column) or is skipped and counted in ``report.skipped``.
    target_names : list of str, optional
        Names of the targets; default None: the label column names.
    name : str, optional
        Name of the data set; default None: the file name.

    Returns
    -------
    Dataset
        ``y`` (N, T) float32 with T = ``len(label_columns)``.

    Raises
    ------
    ValueError
        A missing column (the message lists those present), a row with the wrong number of
        fields, a non-numeric label, an NA label with ``missing="error"``, a bad letter; the
        message names the line.
    """
    _check_choice("missing", missing, MISSING_POLICIES)
    path = _existing(path)
    label_columns = [label_columns] if isinstance(label_columns, str) else list(label_columns or [])
    report = ReadReport(str(path))
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=_delimiter(path, sep))
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path} is empty: a table needs a header line naming its columns")
        wanted = [sequence_column, *label_columns, *(c for c in (name_column, split_column) if c is not None)]
        absent = [c for c in wanted if c not in header]
        if absent:
            raise ValueError(f"{path}: no column {absent[0]!r}; the columns are {header}")
        col = {c: header.index(c) for c in wanted}
        names, seqs, rows_y, split_of, labels = [], [], [], [], []
        for number, row in enumerate(reader, start=2):
            if not row:
                raise ValueError(f"{path}, line {number}: empty line inside the table")
            if len(row) != len(header):
                raise ValueError(f"{path}, line {number}: {len(row)} fields, but the header has {len(header)}")
            report.read += 1
            values, skip = [], None
            for c in label_columns:
                text = row[col[c]].strip()
                if text.lower() in _MISSING_VALUES:
                    if missing == "error":
                        raise ValueError(f"{path}, line {number}: column {c!r} is empty or NA ({text!r}); pass "
                                         "missing='skip' to skip such rows (they are counted in report.skipped)")
                    skip = f"missing value in {c!r}"
                    break
                try:
                    values.append(float(text))
                except ValueError:
                    raise ValueError(f"{path}, line {number}: column {c!r} holds {text!r}, not a number") from None
                if not math.isfinite(values[-1]):
                    raise ValueError(f"{path}, line {number}: column {c!r} holds {text!r}, not a finite number")
            if skip:
                report.skip(skip, f"line {number}")
                continue
            seqs.append(row[col[sequence_column]].strip())
            names.append(row[col[name_column]] if name_column else f"row {number}")
            rows_y.append(values)
            labels.append(f"line {number}")
            if split_column:
                split_of.append(row[col[split_column]])
    if not seqs:
        raise ValueError(f"{path}: no rows to read ({report.read} read, skipped: {report.skipped or 'none'})")
    report.kept = len(seqs)
    seqs = _fit_lengths(seqs, labels, length, policy, report)
    X = _encode(seqs, labels, unknown, report)
    y = torch.tensor(rows_y, dtype=torch.float32) if label_columns else None
    splits = {}
    if split_column:
        split_of = np.array(split_of)
        splits = {s: np.flatnonzero(split_of == s) for s in dict.fromkeys(split_of.tolist())}
    return Dataset(X=X, y=y, target_names=tuple(target_names or label_columns), names=tuple(names),
                    splits=splits, name=name or path.name, report=report)

