"""Saturation mutagenesis: xai-widgets against tangermeme, side by side in one process.

    python benchmarks/ism.py                 # the full grid of the issue (long: tangermeme's
                                             # slow path on 64 x 2000 nt takes many minutes)
    python benchmarks/ism.py --quick         # N=1 only, L in {200, 1000}

Each case times ``xai_widgets.methods.saturation_mutagenesis(target="all")`` and tangermeme's
``saturation_mutagenesis`` with ``fast=True`` and ``fast=False`` (hypothetical, all outputs),
on the CPU, and reports the median wall time, the speed-up over tangermeme's fast path and the
largest difference between the two mean-centred maps. The last lines are ``RESULT`` lines.
"""

from __future__ import annotations

import argparse
import os
import platform
import warnings

import torch

from _timing import median_ms

from xai_widgets import zoo
from xai_widgets.methods import saturation_mutagenesis

MODELS = ("basset_exp_motif_presence", "danq_motif_presence")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=20.0, help="no repeats for runs slower than this (s)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    args = parser.parse_args()
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis as tm_ism

    warnings.simplefilter("ignore")
    lengths = (200, 1000) if args.quick else (200, 1000, 2000)
    sizes = (1,) if args.quick else (1, 64)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"{'model':28s} {'L':>5s} {'N':>3s} {'ours ms':>10s} {'tm fast ms':>11s} {'tm slow ms':>11s} "
          f"{'speed-up':>9s} {'max diff':>9s}")
    results = []
    for name in args.models:
        model = zoo.load(name, device="cpu")
        for length in lengths:
            for n in sizes:
                g = torch.Generator().manual_seed(length + n)
                X = torch.nn.functional.one_hot(torch.randint(0, 4, (n, length), generator=g), 4)
                X = X.permute(0, 2, 1).float()
                ours_ms, ours = median_ms(lambda: saturation_mutagenesis(model, X, target="all", device="cpu"),
                                      args.repeats, args.budget)
                fast_ms, theirs = median_ms(lambda: tm_ism(model, X, hypothetical=True, fast=True, device="cpu",
                                                       batch_size=1024), args.repeats, args.budget)
                slow_ms, _ = median_ms(lambda: tm_ism(model, X, hypothetical=True, fast=False, device="cpu",
                                                  batch_size=1024), args.repeats, args.budget)
                diff = float((ours.centred().mean(1) - theirs).abs().max())
                speedup = fast_ms / ours_ms
                print(f"{name:28s} {length:5d} {n:3d} {ours_ms:10.1f} {fast_ms:11.1f} {slow_ms:11.1f} "
                      f"{speedup:9.1f} {diff:9.2e}", flush=True)
                results.append(f"RESULT {name} L={length} N={n} ours_ms={ours_ms:.1f} tangermeme_fast_ms={fast_ms:.1f} "
                               f"tangermeme_slow_ms={slow_ms:.1f} speedup={speedup:.2f} max_abs_diff={diff:.2e}")
    print("\n".join(results))


if __name__ == "__main__":
    main()
