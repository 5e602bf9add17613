"""Regenerate the real data shipped in ``xai_widgets/data/real/`` from ``../shared/realdata``.

What is written (provenance and licences in ``xai_widgets/data/real/ATTRIBUTION.md``):

- ``fly_enhancers.tsv.gz``: the 3 x 1,000 DeepSTARR fly enhancer rows (columns sequence, ID,
  Dev_log2_enrichment, Hk_log2_enrichment, split = the file each row came from).
- ``ctcf_peaks.fa.gz``, ``pu1_peaks.fa.gz``: 2,000 peaks each, drawn without replacement with
  ``numpy.random.default_rng(0)`` and kept in file order.
- ``WTC11_test.tsv.gz``, ``WTC11_valid.tsv.gz``: copied byte for byte.
- ``chr17.hg19.part.fa``, ``regions.bed``, ``malformed.bed``: copied;
  ``chr17_example.bed``: a few intervals on that genome piece written here, including both
  strands and intervals near the ends of the piece.

Gzip files are written with a zero time stamp, so a rerun gives identical bytes.
Run: ``python scripts/build_real_data.py [path/to/shared/realdata]``.
"""

from __future__ import annotations

import csv
import gzip
import io
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "xai_widgets" / "data" / "real"
N_PEAKS = 2000
SEED = 0
FLY_SPLITS = {"train": "train", "val": "valid", "test": "test"}
FLY_COLUMNS = {"Sequence": "sequence", "ID": "ID", "Dev_log2_enrichment": "Dev_log2_enrichment",
               "Hk_log2_enrichment": "Hk_log2_enrichment"}
EXAMPLE_BED = """\
# example intervals on the first 40 kb of hg19 chr17 (written for xai-widgets; not peaks)
chr17\t10\t90\tnear_start\t0\t+
chr17\t1000\t1200\tregion_1\t0\t+
chr17\t4200\t4400\tregion_2\t0\t-
chr17\t12000\t12300\tregion_3\t0\t+
chr17\t20050\t20250\tregion_4\t0\t-
chr17\t30000\t30100\tregion_5\t0\t.
chr17\t39900\t39990\tnear_end\t0\t-
"""


def write_gzip(path: Path, text: str) -> None:
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode())


def fly(source: Path) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow([*FLY_COLUMNS.values(), "split"])
    for stem, split in FLY_SPLITS.items():
        with open(source / "deepstarr" / f"fly_enhancers_sample_{stem}.tsv") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                writer.writerow([*(row[c] for c in FLY_COLUMNS), split])
    write_gzip(OUT / "fly_enhancers.tsv.gz", out.getvalue())


def peaks(source: Path, tf: str) -> None:
    with gzip.open(source / "chipseq_peaks" / f"{tf}.fa.gz", "rt") as fh:
        lines = fh.read().split("\n")
    records = [(h, s) for h, s in zip(lines[0::2], lines[1::2]) if h]
    assert all(h.startswith(">") and not s.startswith(">") for h, s in records), "expected 2-line FASTA records"
    chosen = np.sort(np.random.default_rng(SEED).choice(len(records), N_PEAKS, replace=False))
    write_gzip(OUT / f"{tf}_peaks.fa.gz", "".join(f"{records[i][0]}\n{records[i][1]}\n" for i in chosen))


def main(source: Path) -> None:
    OUT.mkdir(exist_ok=True)
    fly(source)
    for tf in ("ctcf", "pu1"):
        peaks(source, tf)
    for name in ("WTC11_test.tsv.gz", "WTC11_valid.tsv.gz"):
        shutil.copyfile(source / "lentimpra_wtc11" / name, OUT / name)
    for name in ("chr17.hg19.part.fa", "regions.bed", "malformed.bed"):
        shutil.copyfile(source / "genome_piece" / name, OUT / name)
    (OUT / "chr17_example.bed").write_text(EXAMPLE_BED)
    for path in sorted(OUT.iterdir()):
        print(f"{path.stat().st_size:>9,d}  {path.name}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "realdata")
