"""Write ``xai_widgets/data/real/example.vcf``: variants on the shipped genome piece (hg19 chr17:1-40,000).

The file exercises every rule of :func:`xai_widgets.methods.score_variants` and
:func:`xai_widgets.data.read_vcf`: SNVs, an insertion, a deletion, a multi-allelic site (one of
its alleles the spanning-deletion ``*``), a REF that does not match the genome, a symbolic
structural variant (``<DEL>`` with ``SVTYPE``) and SNVs whose 2,114-bp window runs off either end
of the piece. REF alleles are read from the genome (except the deliberate mismatch), so running
this script again writes the same file.

Usage: ``python scripts/build_example_vcf.py``
"""

from pathlib import Path

from xai_widgets.data import example_genome
from xai_widgets.data.io import open_genome

OUT = Path(__file__).resolve().parents[1] / "xai_widgets" / "data" / "real" / "example.vcf"
OTHER = {"A": "G", "C": "T", "G": "A", "T": "C"}


def main() -> None:
    with open_genome(example_genome().genome) as fasta:
        seq = str(fasta["chr17"][:]).upper()
    size = len(seq)

    def base(pos):  # 1-based
        return seq[pos - 1]

    records = [
        (100, "snv_near_start", base(100), OTHER[base(100)], "."),
        (10_000, "ref_mismatch", OTHER[base(10_000)], base(10_000), "."),
        (12_000, "symbolic_sv", base(12_000), "<DEL>", "SVTYPE=DEL;END=12100;SVLEN=-100"),
        (15_001, "multi_allelic", base(15_001), ",".join([OTHER[base(15_001)], "*"]), "."),
        (18_001, "multi_allelic_snv", base(18_001),
         ",".join(b for b in "ACGT" if b != base(18_001)), "."),
        (20_000, "snv_centre", base(20_000), OTHER[base(20_000)], "."),
        (25_000, "insertion", base(25_000), base(25_000) + "GATTACA", "."),
        (30_000, "deletion", seq[29_999:30_005], base(30_000), "."),
        (size - 50, "snv_near_end", base(size - 50), OTHER[base(size - 50)], "."),
    ]
    lines = [
        "##fileformat=VCFv4.2",
        "##source=xai_widgets scripts/build_example_vcf.py",
        "##reference=hg19 chr17:1-40000 (xai_widgets.data.example_genome)",
        f"##contig=<ID=chr17,length={size}>",
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the structural variant">',
        '##INFO=<ID=SVLEN,Number=1,Type=Integer,Description="Length difference of the structural variant">',
        '##ALT=<ID=DEL,Description="Deletion">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    lines += [f"chr17\t{pos}\t{vid}\t{ref}\t{alt}\t.\tPASS\t{info}" for pos, vid, ref, alt, info in records]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT} ({len(records)} records)")


if __name__ == "__main__":
    main()
