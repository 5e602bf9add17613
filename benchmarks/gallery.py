"""FilterGallery: one-time analysis and the time per toggle, for every zoo model on motif_presence.

    python benchmarks/gallery.py [--n-eval 1000] [--toggles 10]

A toggle is what a click on a tile runs: ablate (or restore) one filter, one forward pass over
``n_eval`` held-out sequences for the AUROC, the chosen sequences' predictions, and the tile
colours. Goal: < 200 ms on 2 CPU cores. Last lines: ``RESULT gallery model=... toggle_ms=...``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from xai_widgets import zoo
from xai_widgets.data import motif_presence
from xai_widgets.widgets import FilterGallery


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-eval", type=int, default=1000)
    parser.add_argument("--toggles", type=int, default=10)
    args = parser.parse_args()
    test = motif_presence(random_state=0).subset("test")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads; n_eval={args.n_eval}")
    results = []
    for name in zoo.list_models("motif_presence"):
        model = zoo.load(name, device="cpu")
        start = time.perf_counter()
        gallery = FilterGallery(model, test, n_eval=args.n_eval, device="cpu", progress=False)
        setup = time.perf_counter() - start
        times = []
        for k in range(args.toggles):
            start = time.perf_counter()
            gallery.toggle(gallery.order[k % len(gallery.order)])
            times.append((time.perf_counter() - start) * 1000)
        toggle = statistics.median(times)
        print(f"{name:32s} filters {len(gallery.motifs):3d}  first analysis {setup:6.1f} s  toggle {toggle:6.1f} ms")
        results.append(f"RESULT gallery model={name} toggle_ms={toggle:.1f} setup_s={setup:.1f}")
    print("\n".join(results))


if __name__ == "__main__":
    main()
