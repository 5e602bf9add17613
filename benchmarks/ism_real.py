"""Saturation mutagenesis on the two published zoo models: our fast path, our plain path and
tangermeme, side by side in one process (CPU).

    python benchmarks/ism_real.py              # DeepSTARR (N=1, 249 bp) and BPNet (N=1, 2,114 bp)
    python benchmarks/ism_real.py --models deepstarr --repeats 5

For each model: ``saturation_mutagenesis(target="all")`` with ``method="fast"`` and
``method="naive"`` (batched plain forward passes), and tangermeme's ``saturation_mutagenesis``
(``fast=False``, hypothetical, all outputs; tangermeme's own fast path does not apply to
these models). Medians of ``--repeats`` runs after a warm-up (a single run when the warm-up is
slower than ``--budget`` seconds); ``max_abs_diff`` is the largest difference between our fast
map and our plain map. The last lines are ``RESULT ism_real`` lines.
"""

from __future__ import annotations

import argparse
import os
import platform
import warnings

import torch
from _timing import median_ms

from xai_widgets import data, zoo
from xai_widgets.methods import saturation_mutagenesis

MODELS = {"deepstarr": 249, "bpnet_ctcf": 2114}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=20.0, help="no repeats for runs slower than this (s)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--no-tangermeme", action="store_true", help="skip tangermeme (its plain path is slow)")
    args = parser.parse_args()
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis as tm_ism

    warnings.simplefilter("ignore")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    results = []
    for name in args.models:
        model = zoo.load(name, device="cpu")
        length = MODELS[name]
        if name == "deepstarr":
            X = data.fly_enhancers().X[:1]
        else:
            g = torch.Generator().manual_seed(length)
            X = torch.nn.functional.one_hot(torch.randint(0, 4, (1, length), generator=g), 4).permute(0, 2, 1).float()
        ours_ms, fast = median_ms(
            lambda model=model, X=X: saturation_mutagenesis(model, X, target="all", method="fast", device="cpu"),
            args.repeats, args.budget)
        plain_ms, plain = median_ms(
            lambda model=model, X=X: saturation_mutagenesis(model, X, target="all", method="naive", device="cpu"),
            args.repeats, args.budget)
        tm_ms = float("nan")
        if not args.no_tangermeme:
            tm_ms, _ = median_ms(
                lambda model=model, X=X: tm_ism(model, X, hypothetical=True, fast=False, device="cpu",
                                                batch_size=256), args.repeats, args.budget)
        diff = float((fast.delta - plain.delta).abs().max())
        print(f"{name:12s} L={length} fast {ours_ms:9.1f} ms  plain {plain_ms:9.1f} ms  tangermeme {tm_ms:9.1f} ms  "
              f"plain/fast {plain_ms / ours_ms:5.2f}  tangermeme/fast {tm_ms / ours_ms:5.2f}  diff {diff:.2e}",
              flush=True)
        results.append(f"RESULT ism_real model={name} L={length} N={len(X)} ours_ms={ours_ms:.1f} "
                       f"tangermeme_ms={tm_ms:.1f} plain_ms={plain_ms:.1f} max_abs_diff={diff:.2e}")
    print("\n".join(results))


if __name__ == "__main__":
    main()
