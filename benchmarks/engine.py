"""The edit engine on the published models: what its fast path buys over plain forward passes
outside ISM, and what the first call of a process costs.

    python benchmarks/engine.py                 # every row, 3 repeats
    python benchmarks/engine.py --rows gia sweep --repeats 5
    python benchmarks/engine.py --load          # the same with a busy process on every core

Rows (CPU; ours with ``method="fast"`` and ``method="naive"``, timed in turn in one process by
``_timing.alternate`` after a warm-up each, the numbers compared):

``gia``
    ``motif_effects`` (global importance analysis of each motif alone, centred, + strand) of
    eight motifs (the DeepSTARR paper's families for DeepSTARR; CTCF, its halves and other
    factors' consensus for BPNet) in ``--backgrounds`` random backgrounds (BPNet: 2,114 bp, target
    "counts"; DeepSTARR: 249 bp, target "dev").
``gia_one``
    ``global_importance`` of one insertion (CTCF's consensus, GATA's). Both paths must predict
    every background once; the plain path then predicts each edited background, the fast path
    its windows. With one insertion per background the ratio is therefore bounded by
    ``2 / (1 + w)``, ``w`` the fast path's share of a forward pass per edit: below 2 whatever
    the engine does (printed as ``bound``).
``sweep``
    ``spacing_sweep`` of two motifs over 11 spacings and the four orientations in the same
    backgrounds (AP-1 and GATA for DeepSTARR, CTCF twice for BPNet).
``first_call``
    ``saturation_mutagenesis`` of one DeepSTARR enhancer: the first call of a fresh process
    against the best of the next three calls of that process (``--processes`` fresh processes,
    the median difference). Nothing is imported or traced on the first call that a warm one
    does not also need, apart from torch's own kernel set-up.

The last lines are ``RESULT engine_<row>`` lines with the ratios and the load
(``_timing.load_fields``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import warnings

import torch
from _timing import add_load_arguments, alternate, cpu_load, header, load_fields

from xai_widgets import data, zoo
from xai_widgets.methods import global_importance, motif_effects, spacing_sweep
from xai_widgets.methods._engine.path import decide

MODELS = {"bpnet_ctcf": ("counts", 2114, "CCACCAGGGGGCGC", "CCACCAGGGGGCGC"),
          "deepstarr": ("dev", 249, "TGACTCA", "AGATAAGA")}
"""name: (target, length, motif A, motif B)."""
MOTIFS = {"deepstarr": {"GATA": "AGATAAGA", "AP-1": "TGACTCA", "twist": "ACAGCTGT", "Trl": "GAGAGAGAG",
                        "ETS": "ACCGGAAGT", "Dref": "TATCGATA", "Ohler1": "GTGTGACC", "Ohler6": "AAAATACCA"},
          "bpnet_ctcf": {"CTCF": "CCACCAGGGGGCGC", "CTCF_left": "CCACCAGG", "CTCF_right": "GGGGGCGC",
                         "SP1": "GGGGCGGGG", "NRF1": "GCGCATGCGC", "YY1": "AAGATGGCGGC", "ETS": "ACCGGAAGT",
                         "AP-1": "TGACTCA"}}
"""Motifs of the ``gia`` row."""

FIRST_CALL = """
import time
from xai_widgets import data, zoo
from xai_widgets.methods import saturation_mutagenesis
model = zoo.load("deepstarr", device="cpu")
X = data.fly_enhancers().X[:1]
t = time.perf_counter(); saturation_mutagenesis(model, X, target="all", device="cpu"); first = time.perf_counter() - t
warm = []
for _ in range(3):
    t = time.perf_counter(); saturation_mutagenesis(model, X, target="all", device="cpu")
    warm.append(time.perf_counter() - t)
print(first * 1000, min(warm) * 1000)
"""


def gia_columns(model, backgrounds, target, motif):
    def run(method):
        return lambda: global_importance(model, backgrounds, insertions=[(motif, None, "+")], target=target,
                                         device="cpu", method=method)
    return [run("fast"), run("naive")], lambda result: result.effect


def effects_columns(model, backgrounds, target, motifs):
    def run(method):
        return lambda: motif_effects(model, backgrounds, motifs=motifs, target=target, device="cpu", method=method)
    return [run("fast"), run("naive")], lambda result: result.effect


def sweep_columns(model, backgrounds, target, motif_a, motif_b):
    def run(method):
        return lambda: spacing_sweep(model, backgrounds, motif_a=motif_a, motif_b=motif_b, spacings=range(0, 21, 2),
                                     target=target, device="cpu", method=method, random_state=0)
    return [run("fast"), run("naive")], lambda result: result.per_background.nan_to_num()


def first_call(processes: int) -> tuple[float, float]:
    """Median (first, warm) ms over fresh processes."""
    here = os.path.dirname(os.path.abspath(__file__))
    pairs = []
    for _ in range(processes):
        out = subprocess.run([sys.executable, "-c", FIRST_CALL], capture_output=True, text=True, check=True, cwd=here)
        pairs.append(tuple(map(float, out.stdout.split()[-2:])))
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", nargs="+", default=["gia", "gia_one", "sweep", "first_call"],
                        choices=["gia", "gia_one", "sweep", "first_call"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--backgrounds", type=int, default=32)
    parser.add_argument("--processes", type=int, default=3, help="fresh processes for first_call (default 3)")
    add_load_arguments(parser)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    results = []
    with cpu_load(args) as load:
        print(header(load), flush=True)
        for row in (r for r in args.rows if r != "first_call"):
            for name in args.models:
                target, length, motif_a, motif_b = MODELS[name]
                model = zoo.load(name, device="cpu")
                backgrounds = data.backgrounds(args.backgrounds, length, random_state=0)
                bound = ""
                if row == "gia":
                    columns, values = effects_columns(model, backgrounds, target, MOTIFS[name])
                elif row == "gia_one":
                    columns, values = gia_columns(model, backgrounds, target, motif_b)
                    share = decide(model.eval(), backgrounds, torch.device("cpu"), n_edits=1, method="auto",
                                   width=len(motif_b)).costs.get("ratio", float("nan"))
                    bound = f" bound={2 / (1 + share):.2f}"
                else:
                    columns, values = sweep_columns(model, backgrounds, target, motif_a, motif_b)
                (fast, naive), (fast_out, naive_out) = alternate(columns, args.repeats)
                diff = float((values(fast_out) - values(naive_out)).abs().max())
                print(f"{row:6s} {name:10s} N={args.backgrounds} L={length}: fast {fast:9.1f} ms  "
                      f"plain {naive:9.1f} ms  plain/fast {naive / fast:5.2f}{bound}  diff {diff:.1e}", flush=True)
                results.append(f"RESULT engine_{row} model={name} N={args.backgrounds} L={length} fast_ms={fast:.1f} "
                               f"naive_ms={naive:.1f} naive_over_fast={naive / fast:.2f}{bound} "
                               f"max_abs_diff={diff:.1e} {load_fields(load)}")
        if "first_call" in args.rows:
            first, warm = first_call(args.processes)
            print(f"first_call deepstarr: first {first:.1f} ms, warm {warm:.1f} ms, over {first - warm:.1f} ms",
                  flush=True)
            results.append(f"RESULT engine_first_call model=deepstarr first_ms={first:.1f} warm_ms={warm:.1f} "
                           f"over_ms={first - warm:.1f} {load_fields(load)}")
    print("\n".join(results))


if __name__ == "__main__":
    main()
