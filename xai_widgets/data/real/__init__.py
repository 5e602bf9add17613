"""Real data shipped with the package (sources, licences and citations in ``ATTRIBUTION.md``).

=====================  ========================================================================
loader                 data
=====================  ========================================================================
:func:`fly_enhancers`  3,000 Drosophila S2 enhancer candidates, 249 bp, with measured
                       developmental and housekeeping STARR-seq activity (de Almeida et al. 2022)
:func:`chip_peaks`     2,000 human CTCF and 2,000 PU.1 ChIP-seq peak sequences, 100 bp (hg19)
:func:`lentimpra`      9,237 human regulatory sequences, 230 bp, with lentiMPRA activity in WTC11
                       cells (Agarwal et al. 2025)
:func:`example_genome` the first 40 kb of hg19 chr17 and BED files, for the file readers
=====================  ========================================================================

``scripts/build_real_data.py`` regenerates every file from the original copies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..dataset import Dataset, ReadReport
from ..io import read_fasta, read_table

HERE = Path(__file__).resolve().parent
CHIP_TFS = ("ctcf", "pu1")


def _path(name: str) -> Path:
    return HERE / name


def _choose(ds: Dataset, split):
    return ds if split is None else ds.split(split)


def fly_enhancers(split: str | None = None) -> Dataset:
    """Drosophila enhancer candidates with measured activity (DeepSTARR's data).

    3 x 1,000 sequences of 249 bp (dm3) with UMI-STARR-seq log2 enrichment in S2 cells for a
    developmental (``"dev"``) and a housekeeping (``"hk"``) promoter (de Almeida et al., Nat
    Genet 2022, doi:10.1038/s41588-022-01048-5). All 3,000 were in DeepSTARR's own training
    split, so the published model's score on them is optimistic: they serve interpretation.

    Parameters
    ----------
    split : {"train", "valid", "test"}, optional
        One split only (1,000 rows); default None: all 3,000 with those three splits.

    Returns
    -------
    Dataset
        ``X`` (N, 4, 249), ``y`` (N, 2) regression targets ``("dev", "hk")``, ``names`` the
        region ids (``chrX_15200212_15200460_+_peak_849bp_region``: coordinates, strand, type).
    """
    ds = read_table(_path("fly_enhancers.tsv.gz"), sequence_column="sequence",
                    label_columns=["Dev_log2_enrichment", "Hk_log2_enrichment"], name_column="ID",
                    split_column="split", target_names=("dev", "hk"), unknown="error", name="fly_enhancers")
    ds = replace(ds, description="Drosophila S2 enhancer candidates (249 bp, dm3) with UMI-STARR-seq log2 "
                 "enrichment for a developmental and a housekeeping promoter (de Almeida et al. 2022).")
    return _choose(ds, split)


def _peak_coordinates(names) -> tuple:
    coords = []
    for name in names:
        chrom, span = name.rsplit(":", 1)
        start, end = span.split("-")
        coords.append((chrom, int(start), int(end), "."))
    return tuple(coords)


def chip_peaks(tf: str = "ctcf") -> Dataset:
    """Human ChIP-seq peak sequences (hg19, 100 bp; soft-masked bases in lower case).

    2,000 peaks per factor, a fixed random subset of those in const-ae/Neural_Network_DNA_Demo.

    Parameters
    ----------
    tf : {"ctcf", "pu1", "ctcf_vs_pu1"}, optional
        Default ``"ctcf"``.
        One factor's peaks (positives only, unlabelled; pair them with shuffles, e.g.
        :func:`~xai_widgets.data.dinucleotide_shuffle`, for a classification task), or both as
        a binary task: label 1 for CTCF, 0 for PU.1, split 80/10/10 at random (seed 0).

    Returns
    -------
    Dataset
        ``X`` (N, 4, 100); ``names`` the headers ``chr:start-end`` and ``coordinates`` parsed
        from them (strand ``"."``).
    """
    if tf == "ctcf_vs_pu1":
        a, b = chip_peaks("ctcf"), chip_peaks("pu1")
        report = ReadReport.merge(a.report, b.report)
        ds = Dataset(X=torch.cat([a.X, b.X]), y=torch.cat([torch.ones(len(a)), torch.zeros(len(b))]),
                     target_names=("ctcf",), names=a.names + b.names, coordinates=a.coordinates + b.coordinates,
                     name="ctcf_vs_pu1", report=report,
                     description="CTCF (label 1) against PU.1 (label 0) ChIP-seq peaks, hg19, 100 bp.")
        return ds.random_split((0.8, 0.1, 0.1), random_state=0)
    if tf not in CHIP_TFS:
        raise ValueError(f"tf={tf!r}; choose one of {(*CHIP_TFS, 'ctcf_vs_pu1')}")
    ds = read_fasta(_path(f"{tf}_peaks.fa.gz"), name=f"{tf}_peaks")
    return replace(ds, coordinates=_peak_coordinates(ds.names),
                   description=f"{tf.upper()} ChIP-seq peak sequences, hg19, 100 bp (positives only).")


def lentimpra(split: str | None = None) -> Dataset:
    """Human regulatory sequences with lentiMPRA activity in WTC11 cells (Agarwal et al. 2025).

    The test (4,620) and validation (4,617) folds of the human_legnet tutorial data: 230-bp
    sequences (200-bp element plus 15-bp adapters on each side) with ``mean_value``, the
    log2 RNA/DNA ratio. Small enough to train a CNN on a CPU: make a training split with
    ``lentimpra().random_split((0.8, 0.1, 0.1))``.

    Parameters
    ----------
    split : {"valid", "test"}, optional
        One source fold only; default None: both, as splits ``"valid"`` and ``"test"``.

    Returns
    -------
    Dataset
        ``X`` (N, 4, 230), ``y`` (N, 1) regression target ``("activity",)``, ``names``
        ``"WTC11_valid row 2"`` etc. (file and line).
    """
    parts = {s: read_table(_path(f"WTC11_{s}.tsv.gz"), sequence_column="seq", label_columns=["mean_value"],
                           target_names=("activity",)) for s in ("valid", "test")}
    sizes = [len(p) for p in parts.values()]
    bounds = np.cumsum([0, *sizes])
    ds = Dataset(X=torch.cat([p.X for p in parts.values()]), y=torch.cat([p.y for p in parts.values()]),
                 target_names=("activity",),
                 names=tuple(f"WTC11_{s} {n}" for s, p in parts.items() for n in p.names),
                 splits={s: np.arange(a, b) for s, a, b in zip(parts, bounds[:-1], bounds[1:])},
                 name="lentimpra_wtc11", report=ReadReport.merge(*(p.report for p in parts.values())),
                 description="Human sequences (230 bp with adapters) and their lentiMPRA log2 RNA/DNA in WTC11 "
                             "cells (Agarwal et al. 2025).")
    return _choose(ds, split)


@dataclass(frozen=True)
class ExampleGenome:
    """Paths of the shipped genome piece and its BED files.

    Attributes
    ----------
    genome : pathlib.Path
        ``chr17.hg19.part.fa``: the first 40,000 bases of hg19 chr17 (one record, ``chr17``),
        soft-masked.
    bed : pathlib.Path
        ``chr17_example.bed``: 7 intervals on it, both strands, two near its ends, and one
        comment line.
    regions_bed : pathlib.Path
        pyfaidx's example ``regions.bed``: its sequence names (``gi|...``) are not in this
        genome, so reading it shows the missing-chromosome error.
    malformed_bed : pathlib.Path
        pyfaidx's ``malformed.bed``: line 1 has only two fields.
    vcf : pathlib.Path
        ``example.vcf`` (VCF 4.2, written by ``scripts/build_example_vcf.py``): SNVs, an
        insertion, a deletion, multi-allelic sites, a REF mismatch, a symbolic allele and
        variants near both ends of the piece.
    """

    genome: Path
    bed: Path
    regions_bed: Path
    malformed_bed: Path
    vcf: Path


def example_genome() -> ExampleGenome:
    """Paths of the shipped genome piece and BED files (for :func:`~xai_widgets.data.read_bed`)."""
    return ExampleGenome(_path("chr17.hg19.part.fa"), _path("chr17_example.bed"), _path("regions.bed"),
                         _path("malformed.bed"), _path("example.vcf"))
