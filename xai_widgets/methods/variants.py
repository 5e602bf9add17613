"""Variant effects: ref and alt predictions of windows centred on variants, and why they differ.

:func:`score_variants` predicts, for every variant of a :class:`~xai_widgets.data.vcf.VariantSet`
(from :func:`~xai_widgets.data.read_vcf`, :func:`~xai_widgets.data.read_variant_table` or
:func:`~xai_widgets.data.variants_from_edits`), the model's outputs on the reference and the
alternative window, their difference, the log2 fold change for count outputs and a calibrated
percentile. :func:`variant_motifs` says which motifs a variant creates or breaks and
:func:`explain_variant` attributes ref and alt with any attribution method.

Windows
-------
A window has the model's input length ``L``. On a genome it starts at ``q - L // 2`` (``q`` the
0-based position of the variant's first REF base), so the variant sits at index ``L // 2``.
When the variants are edits of given sequences of length ``L`` (``genome=X``), the window is
the sequence itself, so every SNV of a sequence shares its window. Positions outside the
chromosome (or sequence) are ``N`` (all-zero columns) and the variant is flagged ``padded``.

Indels (and MNVs, complex alleles) follow the layout of Basenji/Borzoi's ``hot1_insert`` and
``hot1_delete`` (Kelley et al. 2018, basenji ``dna_io``): ref and alt windows start at the
same genome position and agree base for base up to the variant; the alt allele starts where
REF starts, and the sequence after it is shifted by the length difference, so ref and alt have
the same length ``L`` and the variant's left flank stays aligned while the right flank moves.
An insertion pushes bases off the right end; after a deletion the right end is filled from the
genome beyond the window (Basenji fills it with ``N``; we read the genome so the model sees no
artificial ``N``; past a chromosome end, or for given sequences, it is ``N``).

SNVs that share a window are scored from one reference pass through the edit engine
(:func:`._engine.predict_substitutions`: the fast window path or plain forward passes of the
edited windows, as ``method`` and the model allow), so their effects are those of
:func:`saturation_mutagenesis` at the same position and base.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from .._core import resolve_batch_size
from ..contract import input_length
from ..data.encoding import ALPHABET, one_hot
from ..data.io import open_genome
from ..data.vcf import VariantSet, sequences_genome, write_vcf
from ._common import ALL, check_target, model_method, output_names, prepare
from ._engine import check_method, decide, predict_substitutions

MISMATCH_POLICIES = ("raise", "report")
N_NULL, NULL_WINDOWS = 2000, 64
"""Default calibration: random SNVs, spread over at most this many windows of the scored set."""
_NULLS = weakref.WeakKeyDictionary()
"""model -> {key: null effects (n, T)}: the calibration, computed once per model and windows."""


# ---------------------------------------------------------------------------------------------
# windows


class _Source:
    """Sequences by name: an indexed genome FASTA, or given sequences (``{name: str}``)."""

    def __init__(self, genome):
        self.fasta = None
        if isinstance(genome, (str, Path)):
            self.fasta = open_genome(genome)
            self.seqs = self.fasta
            self.given = False
        else:
            self.seqs = sequences_genome(genome)
            self.given = True
        self.name = str(genome) if self.fasta is not None else "given sequences"

    def __contains__(self, chrom) -> bool:
        return chrom in self.seqs

    def size(self, chrom) -> int:
        return len(self.seqs[chrom])

    def fetch(self, chrom, start: int, end: int) -> tuple[str, bool]:
        """``[start, end)`` of ``chrom`` upper-cased, ``N`` outside it; and whether it left the chromosome."""
        size = self.size(chrom)
        lo, hi = max(0, start), min(size, end)
        inside = str(self.seqs[chrom][lo:hi]).upper() if hi > lo else ""
        left = min(max(0, -start), end - start)
        padded = start < 0 or end > size
        return "N" * left + inside + "N" * (end - start - left - len(inside)), padded

    def window_start(self, chrom, q: int, length: int) -> int:
        if self.given and self.size(chrom) == length:
            return 0
        return q - length // 2

    def close(self):
        if self.fasta is not None:
            self.fasta.close()


def _windows(source: _Source, chrom: str, pos: int, ref: str, alt: str, length: int):
    """Ref and alt window strings, the window start, and whether either was N-padded."""
    q = pos - 1
    start = source.window_start(chrom, q, length)
    ref_seq, pad_ref = source.fetch(chrom, start, start + length)
    if len(ref) == len(alt):
        k = q - start
        return ref_seq, ref_seq[:k] + alt + ref_seq[k + len(alt):], start, pad_ref
    left, _ = source.fetch(chrom, start, q)
    rest = length - len(left) - len(alt)
    right, pad_alt = source.fetch(chrom, q + len(ref), q + len(ref) + max(rest, 0))
    alt_seq = (left + alt + right)[:length]
    return ref_seq, alt_seq, start, pad_ref or (pad_alt and rest > 0)


# ---------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class VariantScores:
    """Result of :func:`score_variants`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per variant, in input order: the :class:`VariantSet` columns, ``status``
        (``"ok"``, ``"ref_mismatch"``, ``"chrom_missing"``, ``"outside_chrom"``), ``padded``
        (the window ran off the chromosome and holds ``N``), ``genome_ref`` (the genome's bases
        at REF), and per output ``o``: ``ref_o``, ``alt_o``, ``delta_o`` (alt minus ref),
        ``log2fc_o`` for count outputs, ``percentile_o`` when calibrated. Unscored rows are NaN.
    outputs : tuple of str
        The output names in the columns.
    length : int
        Window length (the model's input length).
    null : torch.Tensor or None, shape (n, T)
        Effects of the random SNVs behind the percentiles.
    source : object
        What the windows were read from (genome path or the given sequences).
    """

    table: pd.DataFrame
    outputs: tuple
    length: int
    null: torch.Tensor | None = None
    source: object = field(default=None, repr=False)

    def scored(self) -> pd.DataFrame:
        """Rows with ``status == "ok"``."""
        return self.table[self.table["status"] == "ok"]

    def to_tsv(self, path) -> Path:
        """Write :attr:`table` as a TSV file (NaN as empty)."""
        path = Path(path)
        self.table.to_csv(path, sep="\t", index=False, na_rep="")
        return path

    def to_vcf(self, path) -> Path:
        """Write the variants as VCF 4.2 with INFO fields ``REF_o``, ``ALT_o``, ``DELTA_o``
        (``LOG2FC_o``, ``PCT_o``), ``STATUS`` and the flag ``PADDED``."""
        info = {"STATUS": ("status", "String", "ok, ref_mismatch, chrom_missing or outside_chrom"),
                "PADDED": ("padded", "Flag", "the model window ran off the chromosome and holds N")}
        for o in self.outputs:
            key = o.upper()
            info[f"REF_{key}"] = (f"ref_{o}", "Float", f"prediction of output {o} for the reference window")
            info[f"ALT_{key}"] = (f"alt_{o}", "Float", f"prediction of output {o} for the alternative window")
            info[f"DELTA_{key}"] = (f"delta_{o}", "Float", f"alt minus ref prediction of output {o}")
            if f"log2fc_{o}" in self.table:
                info[f"LOG2FC_{key}"] = (f"log2fc_{o}", "Float", f"log2 fold change of predicted counts ({o})")
            if f"percentile_{o}" in self.table:
                info[f"PCT_{key}"] = (f"percentile_{o}", "Float",
                                      f"percentile of |delta| among random SNVs in the same windows ({o})")
        return write_vcf(self.table, path, info=info, header_lines=["##source=xai_widgets.score_variants"])

    def windows(self, rows) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """One-hot ref and alt windows ``(K, 4, L)`` of table rows ``rows`` and the index of each
        variant's first base in its window ``(K,)``."""
        rows = np.atleast_1d(rows)
        source = self.source if isinstance(self.source, _Source) else _Source(self.source)
        refs, alts, offsets = [], [], []
        for row in self.table.iloc[rows].itertuples():
            ref_seq, alt_seq, start, _ = _windows(source, row.chrom, row.pos, row.ref, row.alt, self.length)
            refs.append(ref_seq), alts.append(alt_seq), offsets.append(row.pos - 1 - start)
        return one_hot(refs, unknown="zeros"), one_hot(alts, unknown="zeros"), np.array(offsets)


# ---------------------------------------------------------------------------------------------
# scoring


@model_method
@torch.no_grad()
def random_snv_effects(model: nn.Module, X: torch.Tensor, *, n: int = N_NULL, batch_size: int | None = None,
                       device="auto", method: str = "auto", random_state=None) -> torch.Tensor:
    """Effects of random SNVs in ``X``: the null distribution behind calibrated percentiles.

    For an int ``random_state``, computed once per model, sequences, ``n`` and ``random_state``
    and cached (weakly, per model; a change of the model's parameters invalidates it); with
    ``random_state=None`` every call draws afresh.

    Parameters
    ----------
    model : torch.nn.Module
    X : torch.Tensor, shape (K, 4, L)
        Windows to mutate.
    n : int, optional
        Default 2000 (:data:`N_NULL`). Number of random SNVs: uniformly random window and
        position, a random base other than the one there.
    batch_size : int or None, optional
        Default None: from the memory rule.
    device : str or torch.device, optional
        Default ``"auto"``.
    method : {"auto", "fast", "naive"}, optional
        Default ``"auto"``; as in :func:`saturation_mutagenesis`.
    random_state : int or None, optional
        Default None: fresh random SNVs (not cached).

    Returns
    -------
    torch.Tensor, shape (n, T)
        Edited minus reference prediction, all outputs, in the order drawn: windows
        ``rng.integers(0, K, n)``, positions ``rng.integers(0, L, n)``, then base offsets
        ``rng.integers(1, 4, n)`` from the observed base, with ``rng = numpy.random.default_rng(random_state)``.
    """
    device, _ = prepare(model, X, device, batch_size)
    versions = tuple((id(t), t._version) for t in (*model.parameters(), *model.buffers()))
    key = (hash(X.cpu().numpy().tobytes()), tuple(X.shape), n, random_state, method, versions)
    cache = _NULLS.setdefault(model, {}) if random_state is not None else {}
    if key in cache:
        return cache[key]
    check_method(method)
    rng = np.random.default_rng(random_state)
    seq = rng.integers(0, len(X), n)
    pos = rng.integers(0, X.shape[2], n)
    observed = X.argmax(1).numpy()[seq, pos]
    base = (observed + rng.integers(1, 4, n)) % 4
    order = np.lexsort((pos, seq))  # the fast path shares windows of consecutive edits
    seq, pos, base = (torch.as_tensor(a[order]).to(device) for a in (seq, pos, base))
    run = predict_substitutions(model, X, seq=seq, pos=pos, base=base, device=device, method=method,
                                batch_size=batch_size, desc="null SNVs")
    effects = torch.empty(n, run.outputs.shape[1])
    effects[torch.as_tensor(order)] = (run.outputs - run.reference[seq]).float().cpu()
    cache[key] = effects
    return cache[key]


@model_method
@torch.no_grad()
def score_variants(model: nn.Module, variants: VariantSet, *, genome, target=None, mismatch: str = "raise",
                   count_outputs="auto", calibrate: int | None = N_NULL, batch_size: int | None = None,
                   device="auto", method: str = "auto", progress: bool = False, random_state=None) -> VariantScores:
    """Predict the effect of each variant: ref and alt outputs, difference, log2 FC, percentile.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``; ``L`` is the length it states
        (:func:`xai_widgets.contract.input_length`), else that of ``genome`` when it holds sequences.
    variants : VariantSet
        From :func:`~xai_widgets.data.read_vcf`, :func:`~xai_widgets.data.read_variant_table`
        or :func:`~xai_widgets.data.variants_from_edits`.
    genome : str or path-like, or torch.Tensor (N, 4, L) or Dataset
        Genome FASTA (plain or bgzip; ``chrom`` names records), or the sequences the variants
        edit (``chrom`` is a sequence name: the Dataset's names, or ``"0"``, ``"1"``, ...).
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model); one output
        (index or name); ``"all"`` scores every output (a variant's effect is reported per
        output).
    mismatch : {"raise", "report"}, optional
        Default ``"raise"``. A REF that differs from the genome, a chromosome the genome lacks or a position past a
        chromosome end: raise (naming the variant) or report it per variant in ``status``
        and leave its scores NaN.
    count_outputs : "auto" or iterable of int or str, optional
        Default ``"auto"``. Outputs that predict natural-log counts; they get ``log2fc_o = delta_o / ln 2``.
        ``"auto"``: outputs named ``"counts"`` (BPNet's log counts).
    calibrate : int or None, optional
        Default 2000 (:data:`N_NULL`). Number of random SNVs (in up to 64 windows of the scored variants, chosen with
        ``random_state``) whose ``|delta|`` calibrates ``percentile_o``: the percentage of them
        with ``|delta|`` at most the variant's (:func:`random_snv_effects`, cached). None: skip.
    batch_size : int or None, optional
        Edits (fast path) or windows per forward pass; default None: from the memory rule,
        which also bounds the windows held at once.
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.
    method : {"auto", "fast", "naive"}, optional
        Default ``"auto"``. For SNVs that share a window, as in :func:`saturation_mutagenesis`.
    progress : bool, optional
        Default False. Progress bar over chunks of windows.
    random_state : int or None, optional
        Default None. Seed of the calibration SNVs (pass an int for reproducible percentiles).

    Returns
    -------
    VariantScores

    Raises
    ------
    ValueError
        For a REF mismatch or a missing chromosome with ``mismatch="raise"``, an unknown
        ``target`` or ``method``, or when the input length cannot be told.
    """
    if mismatch not in MISMATCH_POLICIES:
        raise ValueError(f"mismatch must be one of {MISMATCH_POLICIES}; got {mismatch!r}")
    check_method(method)
    if not isinstance(variants, VariantSet):
        raise TypeError("variants must be a VariantSet: use read_vcf, read_variant_table or variants_from_edits")
    source = _Source(genome)
    length = _input_length(model, genome)
    probe = torch.zeros(1, 4, length)
    probe[:, 0] = 1
    device, n_outputs = prepare(model, probe, device, batch_size)
    names = output_names(model, n_outputs)
    target = check_target(target, n_outputs, model=model, allow_all=True)
    table = variants.table.reset_index(drop=True).copy()
    v = len(table)
    status = np.array(["ok"] * v, dtype=object)
    padded = np.zeros(v, dtype=bool)
    genome_ref = np.array([""] * v, dtype=object)
    starts = np.zeros(v, dtype=np.int64)
    for i, row in enumerate(table.itertuples()):
        problem = None
        if row.chrom not in source:
            problem = ("chrom_missing", f"chromosome {row.chrom!r} is not in {source.name}")
        elif row.pos - 1 + len(row.ref) > source.size(row.chrom):
            problem = ("outside_chrom", f"it ends past the end of {row.chrom} ({source.size(row.chrom)} bases)")
        else:
            genome_ref[i] = source.fetch(row.chrom, row.pos - 1, row.pos - 1 + len(row.ref))[0]
            if genome_ref[i] != row.ref:
                problem = ("ref_mismatch", f"REF {row.ref} but the genome has {genome_ref[i]}")
        if problem:
            if mismatch == "raise":
                raise ValueError(f"variant {row.chrom}:{row.pos} {row.ref}>{row.alt} ({row.record}): {problem[1]}. "
                                 "Check the genome build, or pass mismatch='report' to score the others and "
                                 "report this one in the status column")
            status[i] = problem[0]
            continue
        starts[i] = source.window_start(row.chrom, row.pos - 1, length)
        padded[i] = starts[i] < 0 or starts[i] + length > source.size(row.chrom) or (
            row.kind != "snv" and _windows(source, row.chrom, row.pos, row.ref, row.alt, length)[3])
    ok = status == "ok"
    snv = ok & (table["kind"].to_numpy() == "snv") & (table["ref"].to_numpy() != "N")
    other = np.flatnonzero(ok & ~snv)
    ref_out = torch.full((v, n_outputs), math.nan)
    alt_out = torch.full((v, n_outputs), math.nan)

    # SNVs, grouped by window, in chunks of windows that fit the memory rule
    window_rows = np.flatnonzero(snv)
    keys = pd.Series(list(zip(table["chrom"].to_numpy()[window_rows], starts[window_rows])), dtype=object)
    window_id, unique = pd.factorize(keys)
    window_id = np.asarray(window_id)
    choice = None
    if len(unique):
        first, _ = source.fetch(unique[0][0], int(unique[0][1]), int(unique[0][1]) + length)
        probe = _cast(model, one_hot([first], unknown="zeros")).to(device)
        choice = decide(model, probe, device, n_edits=len(window_rows), method=method)  # one decision for all chunks
    else:
        probe = _cast(model, torch.full((1, 4, length), 0.25))
    chunk = resolve_batch_size(None, model, probe, device)
    n_chunks = -(-len(unique) // chunk) + -(-len(other) // chunk)
    bar = tqdm(total=n_chunks, desc="variants", unit="chunk", disable=not progress)
    for lo in range(0, len(unique), chunk):
        ids = range(lo, min(lo + chunk, len(unique)))
        X = one_hot([source.fetch(unique[w][0], int(unique[w][1]), int(unique[w][1]) + length)[0] for w in ids],
                    unknown="zeros")
        members = np.flatnonzero((window_id >= lo) & (window_id < ids.stop))
        rows = window_rows[members]
        seq = window_id[members] - lo
        pos = table["pos"].to_numpy()[rows] - 1 - starts[rows]
        base = np.array([ALPHABET.index(a) for a in table["alt"].to_numpy()[rows]])
        order = np.lexsort((pos, seq))
        rows, seq, pos, base = rows[order], seq[order], pos[order], base[order]
        s, p, b = (torch.as_tensor(a).to(device) for a in (seq, pos, base))
        run = predict_substitutions(model, _cast(model, X), seq=s, pos=p, base=b, device=device,
                                    batch_size=batch_size, choice=choice)
        ref_out[rows] = run.reference[s].float().cpu()
        alt_out[rows] = run.outputs.float().cpu()
        bar.update()
    # indels, MNVs, complex alleles: their own ref and alt windows
    for lo in range(0, len(other), chunk):
        rows = other[lo : lo + chunk]
        pairs = [_windows(source, r.chrom, r.pos, r.ref, r.alt, length) for r in table.iloc[rows].itertuples()]
        X = one_hot([p[0] for p in pairs] + [p[1] for p in pairs], unknown="zeros")
        out = _predict(model, _cast(model, X), device, batch_size or chunk)
        ref_out[rows], alt_out[rows] = out[: len(rows)], out[len(rows) :]
        bar.update()
    bar.close()

    delta = alt_out - ref_out
    null = None
    if calibrate and ok.any():
        rng = np.random.default_rng(random_state)
        scored = np.flatnonzero(ok)
        picked = np.sort(rng.choice(scored, min(NULL_WINDOWS, len(scored)), replace=False))
        windows = one_hot([source.fetch(table["chrom"][i], int(starts[i]), int(starts[i]) + length)[0]
                           for i in picked], unknown="zeros")
        null = random_snv_effects(model, windows, n=int(calibrate), batch_size=batch_size, device=device,
                                  method=method, random_state=random_state)
    counts = _count_outputs(count_outputs, names)
    table["status"], table["padded"], table["genome_ref"] = status, padded, genome_ref
    selected = range(n_outputs) if target == ALL else [target]
    for t in selected:
        o = names[t]
        table[f"ref_{o}"], table[f"alt_{o}"] = ref_out[:, t].numpy(), alt_out[:, t].numpy()
        table[f"delta_{o}"] = delta[:, t].numpy()
        if t in counts:
            table[f"log2fc_{o}"] = delta[:, t].numpy() / math.log(2)
        if null is not None:
            sorted_null = np.sort(null[:, t].abs().numpy())
            pct = 100.0 * np.searchsorted(sorted_null, delta[:, t].abs().numpy(), side="right") / len(sorted_null)
            table[f"percentile_{o}"] = np.where(ok, pct, np.nan)
    out_names = tuple(names[t] for t in selected)
    return VariantScores(table, out_names, length, null, genome if not source.given else source)


def _cast(model, X):
    from .._core import as_model_input

    return as_model_input(model, X)


def _predict(model, X, device, batch_size):
    return torch.cat([model(X[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(X), batch_size)])


def _count_outputs(count_outputs, names) -> set:
    if isinstance(count_outputs, str) and count_outputs == "auto":
        return {i for i, n in enumerate(names) if n == "counts"}
    return {names.index(c) if isinstance(c, str) else int(c) for c in (count_outputs or ())}


def _input_length(model, genome) -> int:
    stated = input_length(model)
    if stated is not None:
        return stated
    X = getattr(genome, "X", genome)
    if isinstance(X, torch.Tensor) and X.ndim == 3:
        return int(X.shape[2])
    raise ValueError(f"cannot tell the input length of {type(model).__name__}: give it a card with task.length "
                     "or an input_length attribute (xai_widgets.adapt(model, input_length=...))")


def variant_motifs(scores: VariantScores, rows, *, motifs=None, threshold: float = 0.8) -> pd.DataFrame:
    """Motifs a variant creates or breaks: a PWM scan of ref and alt around the variant.

    For each motif and strand, the best log-odds score (:meth:`Motif.log_odds`, as
    :func:`xai_widgets.data.scan` scores) over the motif positions that overlap the variant's
    bases, in the ref and in the alt window.

    Parameters
    ----------
    scores : VariantScores
    rows : int or array of int
        Rows of ``scores.table``.
    motifs : dict or list of Motif, optional
        Default None: the bundled JASPAR 2024 set (:func:`xai_widgets.data.bundled_motifs`); pass
        ``jaspar_motifs(tax_group="insects")`` etc. for a whole JASPAR collection.
    threshold : float, optional
        Default 0.8. A site is present when its score is at least this fraction of the motif's best score.

    Returns
    -------
    pandas.DataFrame
        Columns ``row, motif, matrix_id, strand (+1/-1), ref_score, alt_score, change, call``
        (``"gained"`` or ``"lost"``), ``start, end`` (the best site's window columns, end
        exclusive: in the alt window for a gain, in the ref window for a loss), one row per
        motif and strand present in exactly one of ref and alt, sorted by ``|change|``
        (largest first).
    """
    from ..data.motifs import bundled_motifs

    motifs = list((motifs or bundled_motifs()).values() if isinstance(motifs or {}, dict) else motifs)
    rows = np.atleast_1d(rows)
    ref_X, alt_X, offsets = scores.windows(rows)
    records = []
    for k, row in enumerate(rows):
        r = scores.table.iloc[int(row)]
        span = max(len(r.ref), len(r.alt))
        for motif in motifs:
            pwm = torch.as_tensor(motif.log_odds(), dtype=torch.float32)
            width, best = pwm.shape[1], float(pwm.max(0).values.sum())
            lo, hi = max(0, offsets[k] - width + 1), min(scores.length - width, offsets[k] + span - 1)
            if hi < lo:
                continue
            for strand, kernel in ((1, pwm), (-1, pwm.flip(0, 1))):
                (ref_s, ref_at), (alt_s, alt_at) = (
                    (float(s.max()), lo + int(s.argmax()))
                    for s in (torch.nn.functional.conv1d(x[k : k + 1, :, lo : hi + width], kernel[None])[0, 0]
                              for x in (ref_X, alt_X)))
                if (ref_s >= threshold * best) != (alt_s >= threshold * best):
                    at = alt_at if alt_s > ref_s else ref_at
                    records.append((int(row), motif.name, motif.matrix_id, strand, ref_s, alt_s, alt_s - ref_s,
                                    "gained" if alt_s > ref_s else "lost", at, at + width))
    table = pd.DataFrame(records, columns=["row", "motif", "matrix_id", "strand", "ref_score", "alt_score", "change",
                                           "call", "start", "end"])
    return table.iloc[np.argsort(-table["change"].abs().to_numpy(), kind="stable")].reset_index(drop=True)
