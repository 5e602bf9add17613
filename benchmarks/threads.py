"""The thread policy's evidence: each row at 1 torch thread, at torch's default count and under
the policy (``auto``), timed in turn in one process, quiet or under load.

    python benchmarks/threads.py                               # no load added
    python benchmarks/threads.py --load                        # a busy Python loop on every core
    python benchmarks/threads.py --load --load-processes 1     # one busy process
    python benchmarks/threads.py --load --load-kind numpy      # busy numpy matmuls instead

Rows (CPU, the zoo's weights): saliency, integrated gradients (50 steps) and DeepLIFT/DeepSHAP
(10 shuffled references) on ``basset_exp_motif_presence`` (``--n`` random sequences of 1,000
nt), DeepSTARR's full ISM map (one shipped enhancer, 249 bp, all outputs) and BPNet CTCF's ISM
at its 50 central positions (``mutagenesis_at``, a flipper click's window). Each column runs its
row under ``xai_widgets.thread_policy(<count>)`` (``auto``: the policy's own choice, printed).
Each call is followed by an untimed pause (``--pause``, default 50 ms): without it, the column
after the 2-thread one paid for that call's OpenMP worker, still spinning, on a busy machine
(saliency, N = 32, 2 busy cores: 55-60 ms right after an auto or 1-thread call, 78-101 ms right
after a 2-thread one). The pause also changes what is measured under load: a call that starts
after a sleep gets the scheduler's wake-up preference over the busy processes for its first
milliseconds (a click after idle), back-to-back calls (``--pause 0``) compete all the time (a
long computation).
The last lines are ``RESULT threads`` lines: medians in ms per column, ``best`` (the faster
fixed count) and ``auto_over_best`` (> 1: the policy cost that much over the better fixed count),
with the load (``_timing.load_fields``).
"""

from __future__ import annotations

import argparse
import os
import platform
import warnings

import _timing as t
import torch

from xai_widgets import data, thread_policy, zoo
from xai_widgets.methods import deep_lift_shap, integrated_gradients, mutagenesis_at, saliency, saturation_mutagenesis

ROWS = ("saliency", "integrated_gradients", "deep_lift_shap", "deepstarr_ism", "bpnet_ism_window")


def under(policy, fn):
    def run():
        with thread_policy(policy):
            return fn()

    return run


def row_functions(names, n: int):
    rows = {}
    if {"saliency", "integrated_gradients", "deep_lift_shap"} & set(names):
        basset = zoo.load("basset_exp_motif_presence", device="cpu")
        X = data.backgrounds(n, 1000, random_state=0)
        refs = data.dinucleotide_shuffle(X, 10, random_state=0)
        rows["saliency"] = (lambda: saliency(basset, X, target=0, device="cpu"), 5)
        rows["integrated_gradients"] = (lambda: integrated_gradients(basset, X, target=0, n_steps=50, device="cpu"), 1)
        rows["deep_lift_shap"] = (lambda: deep_lift_shap(basset, X, target=0, references=refs, device="cpu"), 1)
    if "deepstarr_ism" in names:
        deepstarr = zoo.load("deepstarr", device="cpu")
        enhancer = data.fly_enhancers().X[:1]
        rows["deepstarr_ism"] = (lambda: saturation_mutagenesis(deepstarr, enhancer, target="all", device="cpu"), 3)
    if "bpnet_ism_window" in names:
        bpnet = zoo.load("bpnet_ctcf", device="cpu")
        seq = data.backgrounds(1, 2114, random_state=0)
        window = range(1057 - 25, 1057 + 25)
        rows["bpnet_ism_window"] = (lambda: mutagenesis_at(bpnet, seq, positions=window, target=0, device="cpu"), 1)
    return {name: rows[name] for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    parser.add_argument("--n", type=int, default=8, help="Basset sequences for the gradient rows (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per column (x5 saliency, x3 DeepSTARR)")
    parser.add_argument("--pause", type=float, default=0.05,
                        help="untimed seconds after each call (default 0.05; 0: back to back)")
    t.add_load_arguments(parser)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    default = torch.get_num_threads()
    counts = sorted({1, default})
    rows = row_functions(args.rows, args.n)
    results = []
    with t.cpu_load(args) as load:
        print(f"# {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {default} threads by "
              f"default; {t.load_note(load)}", flush=True)
        for name, (fn, factor) in rows.items():
            auto = t.policy_threads_now()
            columns = [under(count, fn) for count in counts] + [under("auto", fn)]
            times, _ = t.alternate(columns, args.repeats * factor, pause=args.pause)
            fixed = dict(zip(counts, times[:-1]))
            best = min(fixed, key=fixed.get)
            cells = " ".join(f"t{count}_ms={ms:.1f}" for count, ms in fixed.items())
            print(f"{name:22s} " + "  ".join(f"{count} thread(s) {ms:9.1f} ms" for count, ms in fixed.items())
                  + f"  auto ({auto}) {times[-1]:9.1f} ms", flush=True)
            results.append(f"RESULT threads row={name} {cells} auto_ms={times[-1]:.1f} auto_threads={auto} "
                           f"best=t{best} t1_over_t{default}={fixed[1] / fixed[default]:.2f} "
                           f"auto_over_best={times[-1] / fixed[best]:.2f} {t.load_fields(load)}")
    print("\n".join(results))


if __name__ == "__main__":
    main()
