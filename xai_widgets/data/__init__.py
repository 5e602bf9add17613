"""Sequences, motifs and synthetic tasks with ground truth.

Public API: :func:`one_hot`, :func:`decode`, :func:`reverse_complement`,
:func:`one_hot_batches`, :func:`check_one_hot`, :class:`Motif`, :func:`get_motif`,
:func:`bundled_motifs`, :func:`jaspar_motif`, :func:`read_meme`, :func:`write_meme`,
:func:`dinucleotide_shuffle`, :func:`shuffle`, :func:`differing_shuffle`; sequence editing
(:mod:`.editing`): :func:`insert_motif`, :func:`insert_motifs`, :func:`backgrounds`,
:func:`b_start` and :data:`ORIENTATIONS`, with the pieces they are made of (:func:`motif_name`,
:func:`motif_width`, :func:`motif_sites`, :func:`orient`, :func:`motif_start`,
:func:`normalise_insertions`); the tasks :func:`motif_presence`, :func:`cooperative_grammar`,
:func:`attribution_benchmark` and :func:`make_task`; the data set type :class:`Dataset`, the file
readers :func:`read_fasta`, :func:`read_bed`, :func:`read_table` (with their :class:`ReadReport`),
:func:`open_genome`, the variant readers and writers :func:`read_vcf`, :func:`read_variant_table`,
:func:`variants_from_edits`, :func:`write_vcf`, :func:`sequences_genome`, and the shipped real
data :func:`fly_enhancers`, :func:`chip_peaks`, :func:`lentimpra` and :func:`example_genome`.
"""

from .dataset import Dataset, PlantedInstances, ReadReport
from .editing import (
    ORIENTATIONS,
    b_start,
    backgrounds,
    insert_motif,
    insert_motifs,
    motif_name,
    motif_sites,
    motif_start,
    motif_width,
    normalise_insertions,
    orient,
)
from .encoding import ALPHABET, check_one_hot, decode, one_hot, one_hot_batches, reverse_complement
from .io import open_genome, read_bed, read_fasta, read_table
from .motifs import (
    JASPAR_RELEASE,
    Motif,
    bundled_motifs,
    get_motif,
    jaspar_motif,
    jaspar_motifs,
    read_meme,
    scan,
    write_meme,
)
from .real import chip_peaks, example_genome, fly_enhancers, lentimpra
from .shuffle import differing_shuffle, dinucleotide_counts, dinucleotide_shuffle, shuffle
from .tasks import (
    GRAMMAR_RULE,
    TASKS,
    GrammarRule,
    SyntheticTask,
    attribution_benchmark,
    cooperative_grammar,
    make_task,
    motif_presence,
)
from .vcf import VariantSet, read_variant_table, read_vcf, sequences_genome, variants_from_edits, write_vcf

__all__ = [
    "ALPHABET", "check_one_hot", "decode", "one_hot", "one_hot_batches", "reverse_complement",
    "JASPAR_RELEASE", "Motif", "bundled_motifs", "get_motif", "jaspar_motif", "jaspar_motifs",
    "read_meme", "scan", "write_meme", "differing_shuffle", "dinucleotide_counts", "dinucleotide_shuffle", "shuffle",
    "ORIENTATIONS", "b_start", "backgrounds", "insert_motif", "insert_motifs", "motif_name", "motif_sites",
    "motif_start", "motif_width", "normalise_insertions", "orient",
    "GRAMMAR_RULE", "TASKS", "GrammarRule", "PlantedInstances", "SyntheticTask",
    "attribution_benchmark", "cooperative_grammar", "make_task", "motif_presence",
    "Dataset", "ReadReport", "open_genome", "read_bed", "read_fasta", "read_table",
    "chip_peaks", "example_genome", "fly_enhancers", "lentimpra",
    "VariantSet", "read_variant_table", "read_vcf", "sequences_genome", "variants_from_edits", "write_vcf",
]

