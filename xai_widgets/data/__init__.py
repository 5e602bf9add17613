"""Sequences, motifs and synthetic tasks with ground truth.

Public API: :func:`one_hot`, :func:`decode`, :func:`reverse_complement`,
:func:`one_hot_batches`, :func:`check_one_hot`, :class:`Motif`, :func:`get_motif`,
:func:`bundled_motifs`, :func:`jaspar_motif`, :func:`read_meme`, :func:`write_meme`,
:func:`dinucleotide_shuffle`, :func:`shuffle`, the tasks :func:`motif_presence`,
:func:`cooperative_grammar`, :func:`attribution_benchmark` and :func:`make_task`; the data set type
:class:`Dataset`, the file readers :func:`read_fasta`, :func:`read_bed`, :func:`read_table`
(with their :class:`ReadReport`) and the shipped real data :func:`fly_enhancers`,
:func:`chip_peaks`, :func:`lentimpra` and :func:`example_genome`.
"""

from .dataset import Dataset
from .encoding import ALPHABET, check_one_hot, decode, one_hot, one_hot_batches, reverse_complement
from .io import ReadReport, read_bed, read_fasta, read_table
from .motifs import (JASPAR_RELEASE, Motif, bundled_motifs, get_motif, jaspar_motif, jaspar_motifs,
                     read_meme, scan, write_meme)
from .real import chip_peaks, example_genome, fly_enhancers, lentimpra
from .shuffle import differing_shuffle, dinucleotide_counts, dinucleotide_shuffle, shuffle
from .vcf import VariantSet, read_variant_table, read_vcf, variants_from_edits
from .tasks import (GRAMMAR_RULE, TASKS, GrammarRule, PlantedInstances, SyntheticTask, attribution_benchmark,
                    cooperative_grammar, make_task, motif_presence)

__all__ = [
    "ALPHABET", "check_one_hot", "decode", "one_hot", "one_hot_batches", "reverse_complement",
    "JASPAR_RELEASE", "Motif", "bundled_motifs", "get_motif", "jaspar_motif", "jaspar_motifs",
    "read_meme", "scan", "write_meme", "differing_shuffle", "dinucleotide_counts", "dinucleotide_shuffle", "shuffle",
    "GRAMMAR_RULE", "TASKS", "GrammarRule", "PlantedInstances", "SyntheticTask",
    "attribution_benchmark", "cooperative_grammar", "make_task", "motif_presence",
    "Dataset", "ReadReport", "read_bed", "read_fasta", "read_table",
    "chip_peaks", "example_genome", "fly_enhancers", "lentimpra",
    "VariantSet", "read_variant_table", "read_vcf", "variants_from_edits",
    "ORIENTATIONS", "b_start",
]


def __getattr__(name: str):
    # sequence editing for the spacing sweep, still in methods.gia on this branch (imported lazily:
    # methods imports data); the issue-12 "structure" branch moves them into data
    if name in ("ORIENTATIONS", "b_start"):
        from ..methods import gia

        return getattr(gia, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
