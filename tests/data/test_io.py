"""File readers: FASTA (plain, gzip, soft-masked), genome + BED, TSV/CSV tables.

Expected values are written by hand or computed from the raw files with plain string slicing;
the one-hot encoding is rebuilt here with a dictionary, not with the package's encoder.
"""

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import REALDATA
from xai_widgets.data import Dataset, example_genome, read_bed, read_fasta, read_table

SHARED = REALDATA
COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}


def hand_one_hot(seqs, unknown=0.0):
    """(N, 4, L) from strings with a plain loop (A, C, G, T rows; N -> ``unknown`` in every row)."""
    X = torch.zeros(len(seqs), 4, len(seqs[0]))
    for n, seq in enumerate(seqs):
        for i, base in enumerate(seq.upper()):
            if base == "N":
                X[n, :, i] = unknown
            else:
                X[n, "ACGT".index(base), i] = 1.0
    return X


def hand_rc(seq):
    return "".join(COMPLEMENT[b] for b in reversed(seq.upper()))


def genome_string():
    lines = (SHARED / "genome_piece" / "chr17.hg19.part.fa").read_text().split("\n")
    assert lines[0] == ">chr17"
    return "".join(lines[1:])


# ---------------------------------------------------------------------------------------------
# FASTA

FASTA = "\n>r1 first record\nACGTac\ngtAC\n\n>r2\nttttGGGGCA\n>r3\nNNACGTACGT\n"
RECORDS = {"r1": "ACGTACGTAC", "r2": "TTTTGGGGCA", "r3": "NNACGTACGT"}


@pytest.mark.parametrize("compressed", [False, True])
def test_fasta_plain_gzip_and_soft_masked(tmp_path, compressed):
    path = tmp_path / ("seqs.fa.gz" if compressed else "seqs.fa")
    if compressed:
        path.write_bytes(gzip.compress(FASTA.encode()))
    else:
        path.write_text(FASTA)
    ds = read_fasta(path)
    assert isinstance(ds, Dataset)
    assert ds.names == ("r1", "r2", "r3") and ds.y is None and ds.name == path.name
    assert torch.equal(ds.X, hand_one_hot(list(RECORDS.values())))
    assert (ds.report.read, ds.report.kept, ds.report.unknown_bases) == (3, 3, 2)
    assert ds.report.cropped == ds.report.padded == 0


def test_gzip_is_detected_from_content_not_name(tmp_path):
    path = tmp_path / "seqs.fasta"
    path.write_bytes(gzip.compress(FASTA.encode()))
    assert torch.equal(read_fasta(path).X, hand_one_hot(list(RECORDS.values())))


def test_fasta_unknown_uniform_and_error(tmp_path):
    path = tmp_path / "s.fa"
    path.write_text(FASTA)
    assert torch.equal(read_fasta(path, unknown="uniform").X, hand_one_hot(list(RECORDS.values()), 0.25))
    with pytest.raises(ValueError, match=r"record 3 \('r3'\) has 'N' at position 0.*unknown="):
        read_fasta(path, unknown="error")


MIXED = ">long\nACGTACGTAC\n>short\nACGTA\n>mid\nGGGGCCCC\n"


@pytest.fixture
def mixed(tmp_path):
    path = tmp_path / "mixed.fa"
    path.write_text(MIXED)
    return path


def test_mixed_lengths_raise_by_default_naming_the_record(mixed):
    with pytest.raises(ValueError, match=r"mixed.fa: record 2 \('short'\) has 5 bases, not 10.*policy="):
        read_fasta(mixed)
    with pytest.raises(ValueError, match=r"record 1 \('long'\) has 10 bases, not 8"):
        read_fasta(mixed, length=8)


def test_crop_policy_keeps_the_centre(mixed):
    # window start = n // 2 - length // 2: 10 -> 3, 8 -> 2
    ds = read_fasta(mixed, policy="crop")
    assert ds.X.shape == (3, 4, 5)
    assert torch.equal(ds.X, hand_one_hot(["TACGT", "ACGTA", "GGCCC"]))
    assert (ds.report.cropped, ds.report.padded) == (2, 0)
    with pytest.raises(ValueError, match=r"record 2 \('short'\) has 5 bases, shorter than length=6.*resize"):
        read_fasta(mixed, length=6, policy="crop")


def test_pad_policy_pads_with_n_around_the_centre(mixed):
    # 5 bases in 10: start 2 - 5 = -3, so 3 N left and 2 right; 8 in 10: 1 N each side
    expected = ["ACGTACGTAC", "NNNACGTANN", "NGGGGCCCCN"]
    ds = read_fasta(mixed, policy="pad")
    assert torch.equal(ds.X, hand_one_hot(expected))
    assert (ds.report.cropped, ds.report.padded, ds.report.unknown_bases) == (0, 2, 7)
    assert torch.equal(read_fasta(mixed, policy="pad", unknown="uniform").X, hand_one_hot(expected, 0.25))
    with pytest.raises(ValueError, match=r"record 1 \('long'\) has 10 bases, longer than length=9"):
        read_fasta(mixed, length=9, policy="pad")
    with pytest.raises(ValueError, match="has 'N'"):
        read_fasta(mixed, policy="pad", unknown="error")


def test_resize_policy_crops_and_pads(mixed):
    ds = read_fasta(mixed, length=6, policy="resize")
    assert torch.equal(ds.X, hand_one_hot(["GTACGT", "NACGTA", "GGGCCC"]))
    assert (ds.report.cropped, ds.report.padded) == (2, 1)
    with pytest.raises(ValueError, match="needs length"):
        read_fasta(mixed, policy="resize")
    with pytest.raises(ValueError, match="policy='squeeze'"):
        read_fasta(mixed, length=6, policy="squeeze")


def test_fasta_errors_name_what_is_wrong(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">a\nACGT\n>b\nACXT\n")
    with pytest.raises(ValueError, match=r"record 2 \('b'\) has 'X' at position 2"):
        read_fasta(bad)
    empty = tmp_path / "empty.fa"
    empty.write_text("no header here\n")
    with pytest.raises(ValueError, match="empty.fa: line 1 comes before the first '>' header"):
        read_fasta(empty)
    empty.write_text("\n")
    with pytest.raises(ValueError, match="no FASTA records"):
        read_fasta(empty)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_fasta(tmp_path / "absent.fa")


# ---------------------------------------------------------------------------------------------
# genome + BED


@pytest.fixture(scope="module")
def genome():
    return example_genome().genome


def write_bed(path, lines):
    path.write_text("".join("\t".join(map(str, line)) + "\n" for line in lines))
    return path


def test_bed_intervals_match_genome_slices_and_reverse_complements(tmp_path, genome):
    chrom = genome_string()
    bed = write_bed(tmp_path / "a.bed", [
        ("chr17", 100, 130, "plus", 0, "+"),
        ("chr17", 300, 330, "minus", 0, "-"),    # soft-masked from 303
        ("chr17", 5000, 5030, ".", 0, "."),
        ("chr17", 7000, 7030),                   # no strand field
    ])
    ds = read_bed(genome, bed)
    expected = [chrom[100:130], hand_rc(chrom[300:330]), chrom[5000:5030], chrom[7000:7030]]
    assert torch.equal(ds.X, hand_one_hot(expected))
    assert ds.names == ("plus", "minus", "chr17:5000-5030(.)", "chr17:7000-7030(+)")
    assert ds.coordinates == (("chr17", 100, 130, "+"), ("chr17", 300, 330, "-"), ("chr17", 5000, 5030, "."),
                              ("chr17", 7000, 7030, "+"))
    assert (ds.report.read, ds.report.kept, ds.report.reverse_complemented) == (4, 4, 1)
    forward = read_bed(genome, bed, strand=False)
    assert torch.equal(forward.X[1], hand_one_hot([chrom[300:330]])[0])


def test_bed_resizes_around_the_centre_and_pads_off_the_ends(tmp_path, genome):
    chrom = genome_string()
    assert len(chrom) == 40_000
    bed = write_bed(tmp_path / "b.bed", [
        ("chr17", 1000, 1101, "odd", 0, "+"),     # centre 1050 -> [1030, 1070)
        ("chr17", 10, 20, "start", 0, "+"),       # centre 15 -> [-5, 35)
        ("chr17", 39_990, 40_000, "end", 0, "-"),  # centre 39995 -> [39975, 40015)
    ])
    ds = read_bed(genome, bed, length=40)
    expected = [chrom[1030:1070], "N" * 5 + chrom[0:35], hand_rc(chrom[39_975:40_000] + "N" * 15)]
    assert torch.equal(ds.X, hand_one_hot(expected))
    assert ds.coordinates[1] == ("chr17", -5, 35, "+") and ds.coordinates[2] == ("chr17", 39_975, 40_015, "-")
    assert ds.report.off_chromosome == 2 and ds.report.unknown_bases == 20
    with pytest.raises(ValueError, match=r"line 2 has 10 bases, not 101"):
        read_bed(genome, bed)


def test_shipped_example_bed(genome):
    paths = example_genome()
    ds = read_bed(paths.genome, paths.bed, length=200)
    assert len(ds) == 7 and ds.X.shape[-1] == 200
    assert ds.report.ignored_lines == 1 and ds.report.off_chromosome == 2 and ds.report.reverse_complemented == 3


def test_malformed_bed_names_the_line(tmp_path, genome):
    with pytest.raises(ValueError, match=r"malformed.bed, line 1: a BED line needs at least 3"):
        read_bed(genome, example_genome().malformed_bed)
    cases = {"start and end must be integers": ("chr17", "1x", 20),
             r"need 0 <= start < end": ("chr17", 30, 20),
             "the strand .* must be '\\+', '-' or '\\.'": ("chr17", 10, 20, "n", 0, "x")}
    for message, line in cases.items():
        bed = write_bed(tmp_path / "bad.bed", [("chr17", 0, 10), line])
        with pytest.raises(ValueError, match=rf"bad.bed, line 2: {message}"):
            read_bed(genome, bed)


def test_missing_chromosome_raises_or_is_skipped_and_counted(tmp_path, genome):
    with pytest.raises(ValueError, match=r"regions.bed, line 1: chromosome 'gi\|563317589.*not in the genome.*chr17"):
        read_bed(genome, example_genome().regions_bed)
    bed = tmp_path / "mixed.bed"
    bed.write_text("track name=x\n# comment\n\nchr17\t0\t10\nchr2\t0\t10\nchr17\t10\t20\nchrX\t5\t15\n")
    with pytest.raises(ValueError, match="mixed.bed, line 5: chromosome 'chr2'"):
        read_bed(genome, bed)
    ds = read_bed(genome, bed, missing="skip")
    assert len(ds) == 2 and ds.coordinates == (("chr17", 0, 10, "+"), ("chr17", 10, 20, "+"))
    assert ds.report.read == 4 and ds.report.kept == 2 and ds.report.ignored_lines == 3
    assert ds.report.skipped == {"chromosome not in genome": 2}
    assert ds.report.skipped_examples == ["line 5 (chr2): chromosome not in genome",
                                          "line 7 (chrX): chromosome not in genome"]
    assert "skipped 2 (chromosome not in genome)" in str(ds.report)


def test_genome_in_a_read_only_folder_gets_no_index_beside_it(tmp_path):
    shared = SHARED / "genome_piece" / "chr17.hg19.part.fa"
    bed = write_bed(tmp_path / "c.bed", [("chr17", 0, 50)])
    ds = read_bed(shared, bed)
    assert torch.equal(ds.X, hand_one_hot([genome_string()[:50]]))
    assert not Path(f"{shared}.fai").exists()


def test_plain_gzip_genome_is_refused_with_advice(tmp_path):
    gz = tmp_path / "g.fa.gz"
    gz.write_bytes(gzip.compress(b">chr1\nACGTACGT\n"))
    bed = write_bed(tmp_path / "d.bed", [("chr1", 0, 4)])
    with pytest.raises(ValueError, match="not with bgzip"):
        read_bed(gz, bed)


# ---------------------------------------------------------------------------------------------
# tables


def test_tsv_table_with_labels_names_and_splits(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("id\tseq\ta\tb\tfold\n"
                    "x1\tACGT\t0.5\t-1\ttrain\n"
                    "x2\tggta\t1.5\t2e-1\ttest\n"
                    "x3\tTTNA\t-2\t0\ttrain\n")
    ds = read_table(path, sequence_column="seq", label_columns=["b", "a"], name_column="id", split_column="fold")
    assert torch.equal(ds.X, hand_one_hot(["ACGT", "GGTA", "TTNA"]))
    assert torch.equal(ds.y, torch.tensor([[-1.0, 0.5], [0.2, 1.5], [0.0, -2.0]]))
    assert ds.target_names == ("b", "a") and ds.names == ("x1", "x2", "x3") and ds.kind == "regression"
    assert {k: v.tolist() for k, v in ds.splits.items()} == {"train": [0, 2], "test": [1]}
    assert ds.report.unknown_bases == 1


def test_gzip_csv_table_and_row_names(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"sequence,label\nAACC,1\nGGTT,0\n"))
    ds = read_table(path, sequence_column="sequence", label_columns="label", target_names=["bound"])
    assert torch.equal(ds.X, hand_one_hot(["AACC", "GGTT"]))
    assert ds.y[:, 0].tolist() == [1.0, 0.0] and ds.kind == "binary" and ds.target_names == ("bound",)
    assert ds.names == ("row 2", "row 3")


def test_table_lengths_follow_the_policy(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("s\ty\nACGTACGTAC\t1\nACGTA\t2\n")
    with pytest.raises(ValueError, match="line 3 has 5 bases, not 10"):
        read_table(path, sequence_column="s", label_columns="y")
    ds = read_table(path, sequence_column="s", label_columns="y", policy="crop")
    assert torch.equal(ds.X, hand_one_hot(["TACGT", "ACGTA"])) and ds.report.cropped == 1


def test_table_errors_and_skips_name_the_line(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("s\ty\tz\nACGT\t1\t2\nACGT\tNA\t3\nACGT\t4\t\n")
    with pytest.raises(ValueError, match=r"t.tsv, line 3: column 'y' is empty or NA \('NA'\).*missing='skip'"):
        read_table(path, sequence_column="s", label_columns=["y", "z"])
    ds = read_table(path, sequence_column="s", label_columns=["y", "z"], missing="skip")
    assert len(ds) == 1 and ds.names == ("row 2",)
    assert ds.report.read == 3 and ds.report.kept == 1
    assert ds.report.skipped == {"missing value in 'y'": 1, "missing value in 'z'": 1}
    unlabelled = read_table(path, sequence_column="s")
    assert len(unlabelled) == 3 and unlabelled.y is None
    with pytest.raises(ValueError, match=r"no column 'label'; the columns are \['s', 'y', 'z'\]"):
        read_table(path, sequence_column="s", label_columns="label")
    path.write_text("s\ty\nACGT\tabc\n")
    with pytest.raises(ValueError, match="line 2: column 'y' holds 'abc', not a number"):
        read_table(path, sequence_column="s", label_columns="y")
    path.write_text("s\ty\nACGT\t1\textra\n")
    with pytest.raises(ValueError, match="line 2: 3 fields, but the header has 2"):
        read_table(path, sequence_column="s", label_columns="y")
    odd = tmp_path / "t.dat"
    odd.write_text("s\nACGT\n")
    with pytest.raises(ValueError, match="pass sep="):
        read_table(odd, sequence_column="s")
    assert read_table(odd, sequence_column="s", sep="\t").X.shape == (1, 4, 4)


def test_the_readers_return_datasets(tmp_path, mixed):
    """The readers are the one way from files to a Dataset (Dataset.from_fasta & co. were removed
    so that data.dataset sits below data.io)."""
    assert isinstance(read_fasta(mixed, policy="crop"), Dataset)
    paths = example_genome()
    assert isinstance(read_bed(paths.genome, paths.bed, length=50), Dataset)
    table = tmp_path / "t.tsv"
    table.write_text("s\ty\nACGT\t1\n")
    assert read_table(table, sequence_column="s", label_columns="y").y.tolist() == [[1.0]]
    assert np.array_equal(read_table(table, sequence_column="s").X.numpy(), hand_one_hot(["ACGT"]).numpy())
