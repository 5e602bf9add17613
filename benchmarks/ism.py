"""Saturation mutagenesis: xai-widgets against tangermeme, side by side in one process.

    python benchmarks/ism.py                 # the full grid of the issue (long: tangermeme's
                                             # slow path on 64 x 2000 nt takes many minutes)
    python benchmarks/ism.py --quick         # N=1 only, L in {200, 1000}
    python benchmarks/ism.py --no-slow       # without tangermeme's fast=False column
    python benchmarks/ism.py --quick --load  # with a busy process on every core (_timing.CPULoad)

Each case times ``xai_widgets.methods.saturation_mutagenesis(target="all")`` (``method="auto"``:
the path chosen by cost, printed per row with the reason) and tangermeme's
``saturation_mutagenesis`` with ``fast=True`` (its default) and ``fast=False`` (hypothetical, all
outputs), on the CPU, and reports the median wall time, the speed-up over tangermeme's
``fast=True`` and the largest difference between the two mean-centred maps. The last lines are
``RESULT`` lines, ending with ``RESULT ism_worst ratio=<min over rows of tangermeme_ms/ours_ms>``
(tangermeme_ms: ``fast=True``); each carries the load (``_timing.load_fields``).
"""

from __future__ import annotations

import argparse
import os
import platform
import warnings

import torch
from _timing import add_load_arguments, cpu_load, load_fields, load_note, median_ms

from xai_widgets import thread_policy, zoo
from xai_widgets.methods import saturation_mutagenesis
from xai_widgets.methods._engine import decide

MODELS = ("basset_exp_motif_presence", "danq_motif_presence")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=20.0, help="no repeats for runs slower than this (s)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--lengths", nargs="+", type=int, help="default 200 1000 2000 (--quick: 200 1000)")
    parser.add_argument("--sizes", nargs="+", type=int, help="default 1 64 (--quick: 1)")
    parser.add_argument("--no-slow", action="store_true", help="skip tangermeme's fast=False (slow) column")
    add_load_arguments(parser)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with cpu_load(args) as load:
        rows(args, load)


def rows(args, load) -> None:
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis as tm_ism

    lengths = args.lengths or ((200, 1000) if args.quick else (200, 1000, 2000))
    sizes = args.sizes or ((1,) if args.quick else (1, 64))
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {load_note(load)}", flush=True)
    print(f"{'model':28s} {'L':>5s} {'N':>3s} {'path':>5s} {'ours ms':>10s} {'tm fast ms':>11s} {'tm slow ms':>11s} "
          f"{'speed-up':>9s} {'max diff':>9s}  why this path")
    results, ratios = [], []
    for name in args.models:
        model = zoo.load(name, device="cpu")
        for length in lengths:
            for n in sizes:
                g = torch.Generator().manual_seed(length + n)
                X = torch.nn.functional.one_hot(torch.randint(0, 4, (n, length), generator=g), 4)
                X = X.permute(0, 2, 1).float()
                ours_ms, ours = median_ms(
                    lambda model=model, X=X: saturation_mutagenesis(model, X, target="all", device="cpu"),
                    args.repeats, args.budget)
                fast_ms, theirs = median_ms(
                    lambda model=model, X=X: tm_ism(model, X, hypothetical=True, fast=True, device="cpu",
                                                    batch_size=1024), args.repeats, args.budget)
                slow_ms = float("nan") if args.no_slow else median_ms(
                    lambda model=model, X=X: tm_ism(model, X, hypothetical=True, fast=False, device="cpu",
                                                    batch_size=1024),
                    args.repeats, args.budget)[0]
                diff = float((ours.centred().mean(1) - theirs).abs().max())
                speedup = fast_ms / ours_ms
                ratios.append(speedup)
                with thread_policy():  # the thread count the row ran at: cached, no new timing
                    why = decide(model, X, torch.device("cpu"), n_edits=3 * length * n).reason
                print(f"{name:28s} {length:5d} {n:3d} {ours.path:>5s} {ours_ms:10.1f} {fast_ms:11.1f} {slow_ms:11.1f} "
                      f"{speedup:9.2f} {diff:9.2e}  {why}", flush=True)
                results.append(f"RESULT {name} L={length} N={n} path={ours.path} ours_ms={ours_ms:.1f} "
                               f"tangermeme_fast_ms={fast_ms:.1f} tangermeme_slow_ms={slow_ms:.1f} "
                               f"speedup={speedup:.2f} max_abs_diff={diff:.2e} {load_fields(load)}")
    print("\n".join(results))
    print(f"RESULT ism_worst ratio={min(ratios):.2f} {load_fields(load)}")


if __name__ == "__main__":
    main()
