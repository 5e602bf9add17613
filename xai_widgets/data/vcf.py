"""Variants from files: VCF (read with pysam), tables ``(chrom, pos, ref, alt)``, sequence edits.

Every reader returns a :class:`VariantSet`: one row per (record, ALT allele) in a pandas
``DataFrame`` and a :class:`~xai_widgets.data.io.ReadReport` that counts what was read, split
and skipped, and why. Nothing is dropped silently.

Rules shared by the readers
---------------------------
- Positions are 1-based (as in VCF); ``REF`` and ``ALT`` are upper-cased.
- A record with several ALT alleles is split into one variant per allele (counted in
  ``VariantSet.split``).
- Symbolic and structural alleles (``<DEL>``, ``<CN2>``, breakends with ``[`` or ``]``, the
  spanning deletion ``*``, the missing allele ``.``) and records with an ``SVTYPE`` INFO
  field are skipped and counted in ``report.skipped``; so are alleles with letters other than
  A, C, G, T, N.
- Whether ``REF`` matches the genome is checked when scoring
  (:func:`xai_widgets.methods.score_variants`), where the genome is known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from .dataset import ReadReport
from .encoding import ALPHABET, decode
from .io import _existing

VARIANT_COLUMNS = ("chrom", "pos", "id", "ref", "alt", "kind", "record")
"""Columns of :attr:`VariantSet.table`."""
_ALLELE = re.compile(r"[ACGTN]+")


@dataclass(frozen=True)
class VariantSet:
    """Variants to score, one row per ALT allele.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``chrom`` (str), ``pos`` (int, 1-based), ``id`` (str, ``"."`` when none),
        ``ref``, ``alt`` (str), ``kind`` (``"snv"``, ``"mnv"``, ``"insertion"``, ``"deletion"``
        or ``"complex"``, see :func:`variant_kind`) and ``record`` (where it came from, e.g.
        ``"line 12"``).
    report : ReadReport
        ``read`` counts records (rows), ``kept`` variants; ``skipped`` symbolic, structural
        and malformed alleles by reason.
    split : int
        Multi-allelic records split into one variant per ALT allele.
    """

    table: pd.DataFrame
    report: ReadReport
    split: int = 0

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        kinds = self.table["kind"].value_counts().to_dict() if len(self.table) else {}
        return f"VariantSet({len(self)} variants {kinds}; {self.report}; split {self.split} multi-allelic)"


def variant_kind(ref: str, alt: str) -> str:
    """``"snv"`` (one base each), ``"mnv"`` (equal lengths > 1), ``"insertion"`` / ``"deletion"``
    (one allele is a prefix of the other: VCF's padding base), else ``"complex"``."""
    if len(ref) == len(alt):
        return "snv" if len(ref) == 1 else "mnv"
    if len(ref) < len(alt):
        return "insertion" if alt.startswith(ref) else "complex"
    return "deletion" if ref.startswith(alt) else "complex"


def _symbolic(allele: str) -> bool:
    return allele in ("*", ".", "") or allele.startswith("<") or "[" in allele or "]" in allele


class _Builder:
    """Collects rows, applying the shared rules (split, skip, count)."""

    def __init__(self, source: str):
        self.report = ReadReport(source)
        self.rows = []
        self.split = 0

    def add(self, where: str, chrom, pos, vid, ref, alts, structural: bool = False) -> None:
        self.report.read += 1
        ref = str(ref).upper()
        if len(alts) > 1:
            self.split += 1
        for alt in alts:
            alt = "." if alt is None else str(alt).upper()
            if structural or _symbolic(alt) or _symbolic(ref):
                self.report.skip("symbolic or structural allele", f"{where} ({chrom}:{pos} {ref}>{alt})")
            elif not _ALLELE.fullmatch(ref) or not _ALLELE.fullmatch(alt):
                self.report.skip("letters other than A, C, G, T, N", f"{where} ({chrom}:{pos} {ref}>{alt})")
            elif ref == alt:
                self.report.skip("ALT equals REF", f"{where} ({chrom}:{pos} {ref}>{alt})")
            else:
                self.rows.append((str(chrom), int(pos), vid or ".", ref, alt, variant_kind(ref, alt), where))

    def result(self) -> VariantSet:
        table = pd.DataFrame(self.rows, columns=list(VARIANT_COLUMNS))
        table["pos"] = table["pos"].astype("int64")
        self.report.kept = len(table)
        return VariantSet(table, self.report, self.split)


def read_vcf(path) -> VariantSet:
    """Read the variants of a VCF file (plain or bgzip) with pysam.

    Parameters
    ----------
    path : str or path-like
        VCF 4.x file; sample columns are ignored.

    Returns
    -------
    VariantSet
        One row per ALT allele; ``record`` is ``"record k"`` (k counts data lines from 1).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If pysam cannot parse the file (the message says where it failed).
    """
    import pysam

    path = _existing(path)
    builder = _Builder(str(path))
    try:
        with pysam.VariantFile(str(path)) as vcf:
            has_svtype = "SVTYPE" in vcf.header.info
            for k, rec in enumerate(vcf, start=1):
                structural = has_svtype and "SVTYPE" in rec.info
                builder.add(f"record {k}", rec.chrom, rec.pos, rec.id, rec.ref or ".", rec.alts or (None,),
                            structural)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable VCF ({err}); a VCF starts with '##fileformat=VCFv4.x' and a "
                         "'#CHROM POS ID REF ALT ...' header line") from err
    return builder.result()


def read_variant_table(table, *, chrom: str = "chrom", pos: str = "pos", ref: str = "ref", alt: str = "alt",
                       id: str | None = None, sep: str | None = None) -> VariantSet:
    """Variants from a table with columns ``(chrom, pos, ref, alt)``.

    Parameters
    ----------
    table : pandas.DataFrame or str or path-like
        The table, or a TSV/CSV file with a header (separator from ``sep``, else tab for
        ``.tsv``/``.txt``/``.tab`` and comma for ``.csv``).
    chrom, pos, ref, alt : str, optional
        Column names, by default ``"chrom"``, ``"pos"``, ``"ref"``, ``"alt"``; ``pos`` is
        1-based, ``alt`` may list several alleles separated by commas.
    id : str, optional
        Column of variant ids; default None: none.
    sep : str, optional
        Default None: tab for ``.tsv``/``.txt``/``.tab`` files, comma for ``.csv``.

    Returns
    -------
    VariantSet
        ``record`` is ``"row k"`` (k counts data rows from 1).

    Raises
    ------
    ValueError
        A missing column (the message lists those present) or a position that is not a
        positive integer (the message names the row).
    """
    if isinstance(table, pd.DataFrame):
        source, frame = "table", table
    else:
        path = _existing(table)
        name = path.name.lower().removesuffix(".gz")
        if sep is None:
            sep = "," if name.endswith(".csv") else "\t"
        source, frame = str(path), pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    wanted = [c for c in (chrom, pos, ref, alt, id) if c is not None]
    absent = [c for c in wanted if c not in frame.columns]
    if absent:
        raise ValueError(f"{source}: no column {absent[0]!r}; the columns are {list(frame.columns)}")
    builder = _Builder(source)
    for k, row in enumerate(frame[wanted].itertuples(index=False), start=1):
        values = dict(zip(wanted, row))
        try:
            position = int(values[pos])
        except (TypeError, ValueError):
            position = 0
        if position < 1 or str(values[pos]).strip() != str(position):
            raise ValueError(f"{source}, row {k}: pos must be a positive integer (1-based); got {values[pos]!r}")
        builder.add(f"row {k}", values[chrom], position, values[id] if id else ".", values[ref],
                    str(values[alt]).split(","))
    return builder.result()


def variants_from_edits(X, edits, *, names=None) -> VariantSet:
    """Single-base edits of given sequences as variants (for models scored on their own sequences).

    Parameters
    ----------
    X : torch.Tensor, shape (N, 4, L), or Dataset
        The sequences (a :class:`~xai_widgets.data.Dataset` gives its names too).
    edits : iterable of (int, int, str)
        ``(sequence index, 0-based position, new base)``, as in
        :func:`xai_widgets.methods.predict_edits`.
    names : sequence of str, optional
        Sequence names; default None: the Dataset's names, else ``"0"``, ``"1"``, ...

    Returns
    -------
    VariantSet
        ``chrom`` is the sequence name, ``pos`` the 1-based position, ``ref`` the base there
        (``N`` for an unknown column). Score it with ``score_variants(model, variants, genome=X)``.
    """
    if hasattr(X, "X") and hasattr(X, "names"):
        names = names or X.names
        X = X.X
    names = [str(n) for n in (names or range(len(X)))]
    if len(names) != len(X):
        raise ValueError(f"{len(names)} names for {len(X)} sequences")
    builder = _Builder("edits")
    for k, (i, p, base) in enumerate(edits, start=1):
        if not (0 <= int(i) < X.shape[0] and 0 <= int(p) < X.shape[2]):
            raise ValueError(f"edit {k} {(i, p, base)} is outside X of shape {tuple(X.shape)}")
        column = X[int(i), :, int(p)]
        ref = ALPHABET[int(column.argmax())] if column.max() == 1 else "N"
        builder.add(f"edit {k}", names[int(i)], int(p) + 1, ".", ref,
                    [base if isinstance(base, str) else ALPHABET[base]])
    return builder.result()


def sequences_genome(X, names=None) -> dict[str, str]:
    """``{name: sequence}`` for sequences given as a one-hot tensor or Dataset (``N`` at unknown columns).

    Parameters
    ----------
    X : torch.Tensor of shape (N, 4, L), or Dataset
    names : sequence of str, optional
        Default None: the Dataset's names, else ``"0"``, ``"1"``, ...
    """
    if hasattr(X, "X") and hasattr(X, "names"):
        names = names or X.names
        X = X.X
    if not isinstance(X, torch.Tensor) or X.ndim != 3:
        raise TypeError(f"sequences must be a one-hot tensor (N, 4, L) or a Dataset; got {type(X).__name__}")
    names = [str(n) for n in (names or range(len(X)))]
    return dict(zip(names, decode(X)))


def write_vcf(table: pd.DataFrame, path, *, info: dict | None = None, contigs: dict | None = None,
              header_lines=()) -> Path:
    """Write variants (columns ``chrom, pos, id, ref, alt``) as VCF 4.2, with optional INFO fields.

    Parameters
    ----------
    table : pandas.DataFrame
    path : str or path-like
    info : dict of str to (column, type, description), optional
        Default None: no INFO fields. INFO fields to write: VCF key -> (table column, VCF type
        ``"Float"``/``"Integer"``/``"String"``/``"Flag"``, description). NaN values are left out of a record's INFO.
    contigs : dict of str to int, optional
        ``##contig`` lines (name -> length); default None (none).
    header_lines : iterable of str
        Extra ``##`` lines; default ``()`` (none).
    """
    info = info or {}
    lines = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c},length={n}>" for c, n in (contigs or {}).items()),
             *header_lines]
    for key, (_, kind, description) in info.items():
        number = "0" if kind == "Flag" else "1"
        lines.append(f'##INFO=<ID={key},Number={number},Type={kind},Description="{description}">')
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for row in table.to_dict("records"):
        fields = []
        for key, (column, kind, _) in info.items():
            value = row[column]
            if kind == "Flag":
                if bool(value):
                    fields.append(key)
            elif not (isinstance(value, float) and value != value):
                fields.append(f"{key}={value:.6g}" if kind == "Float" else f"{key}={value}")
        lines.append("\t".join([str(row["chrom"]), str(row["pos"]), str(row.get("id", ".") or "."), row["ref"],
                                row["alt"], ".", ".", ";".join(fields) or "."]))
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path
