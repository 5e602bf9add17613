"""Variant scoring: score_variants against the plain cost (two forward passes per variant), one run.

    python benchmarks/variants.py                       # 10,000 SNVs with DeepSTARR and with BPNet
    python benchmarks/variants.py --n-bpnet 300         # BPNet on a CPU: 2,114-bp windows are slow

DeepSTARR: SNVs as edits of shipped fly enhancers (all three alternatives at random positions,
so SNVs share their sequence's window and take the fast ISM path). BPNet (CTCF): SNVs on the
shipped genome piece (hg19 chr17:1-40,000), all three alternatives at each position, so the
three share a centred window (BPNet has no local plan: plain forward passes of the edits, one
reference pass per window). The plain cost builds the same ref and alt windows and predicts
both, batched. Peak memory is the process's peak resident set size (``ru_maxrss``), which
includes Python, torch and the model. The last lines are ``RESULT`` lines.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import warnings

import numpy as np
import torch

from xai_widgets import zoo
from xai_widgets.data import ALPHABET, example_genome, fly_enhancers, read_variant_table, variants_from_edits
from xai_widgets.data.io import open_genome
from xai_widgets.methods import predict, score_variants


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def deepstarr_case(n: int):
    X = fly_enhancers().X
    rng = np.random.default_rng(0)
    n_pos = -(-n // 3)
    seq = rng.integers(0, len(X), n_pos)
    pos = rng.integers(0, X.shape[2], n_pos)
    edits = [(int(s), int(p), ALPHABET[(int(X[s, :, p].argmax()) + k) % 4])
             for s, p in zip(seq, pos) for k in (1, 2, 3)]
    return zoo.load("deepstarr", device="cpu"), variants_from_edits(X, edits[:n]), X


def bpnet_case(n: int):
    with open_genome(example_genome().genome) as fasta:
        genome = str(fasta["chr17"][:]).upper()
    rng = np.random.default_rng(0)
    n_pos = -(-n // 3)
    positions = np.sort(rng.choice(np.arange(1_100, len(genome) - 1_100), n_pos, replace=False))
    rows = [("chr17", str(p), genome[p - 1], b) for p in positions for b in ALPHABET if b != genome[p - 1]][:n]
    import pandas as pd

    table = pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt"])
    return zoo.load("bpnet_ctcf", device="cpu"), read_variant_table(table), example_genome().genome


def plain_cost(model, scores, batch_size):
    """Two forward passes per variant (ref and alt windows), batched: the baseline."""
    ok = scores.scored()
    start = time.perf_counter()
    deltas = []
    for lo in range(0, len(ok), 512):
        rows = np.flatnonzero(scores.table.status == "ok")[lo : lo + 512]
        ref, alt, _ = scores.windows(rows)
        deltas.append(predict(model, alt, batch_size=batch_size, device="cpu")
                      - predict(model, ref, batch_size=batch_size, device="cpu"))
    return time.perf_counter() - start, torch.cat(deltas)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-deepstarr", type=int, default=10_000)
    parser.add_argument("--n-bpnet", type=int, default=10_000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}")
    results = []
    for name, case, n in (("deepstarr", deepstarr_case, args.n_deepstarr), ("bpnet_ctcf", bpnet_case, args.n_bpnet)):
        if n <= 0:
            continue
        model, variants, genome = case(n)
        from xai_widgets.data.vcf import VariantSet

        warm = VariantSet(variants.table.iloc[:3], variants.report)  # warm-up: threads, allocator, memory probe
        plain_cost(model, score_variants(model, warm, genome=genome, calibrate=None, device="cpu", target="all"), None)
        before = peak_mib()
        start = time.perf_counter()
        scores = score_variants(model, variants, genome=genome, calibrate=None, device="cpu", progress=False,
                                target="all")
        ours = time.perf_counter() - start
        peak = peak_mib()
        plain, delta = plain_cost(model, scores, None)
        columns = [f"delta_{o}" for o in scores.outputs]
        got = torch.tensor(scores.scored()[columns].to_numpy(), dtype=torch.float32)
        diff = float((got - delta).abs().max())
        line = (f"RESULT {name}: {len(variants)} SNVs, score_variants {len(variants) / ours:,.0f} variants/s "
                f"({ours:.1f} s), plain two-pass {len(variants) / plain:,.0f} variants/s ({plain:.1f} s), "
                f"speed-up {plain / ours:.2f}x, peak RSS {peak:,.0f} MiB (before {before:,.0f} MiB), "
                f"max |delta difference| {diff:.2g}")
        results.append(line)
        print(line, flush=True)
    print("\n".join(results))


if __name__ == "__main__":
    main()
