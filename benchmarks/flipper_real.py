"""NucleotideFlipper on the published models: time to open and one click's Python latency.

    python benchmarks/flipper_real.py [--model deepstarr|bpnet_ctcf|both] [--clicks 3] [--device cpu]

DeepSTARR opens the strongest developmental enhancer of the shipped test split (249 bp);
BPNet CTCF opens a shipped CTCF peak (100 bp) centred in a random (50 % GC) 2,114-bp
background, with a 200-bp view window. A click is ``on_sequence_tap`` at a new position (no cache
hit): edit, one forward pass, source updates, the full ISM map for every output (the flipper
computes all L x 3 edits whatever the view window shows), logo and heatmap. Times are
``time.perf_counter`` around the callback. Last lines: ``RESULT flipper_real model=<name> L=<L>
open_s=<..> click_ms=<median> compute_ms=<ISM part of the last click>``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from bokeh.events import Tap

from xai_widgets import data, zoo
from xai_widgets.data import backgrounds
from xai_widgets.widgets import NucleotideFlipper


def sequence(name: str) -> tuple[torch.Tensor, int]:
    if name == "deepstarr":
        test = data.fly_enhancers().split("test")
        return test.X[int(test.y[:, 0].argmax())][None], 249
    X = backgrounds(1, 2114, random_state=0)  # random DNA, 50 % GC (the peaks are only 100 bp)
    X[:, :, 1007:1107] = data.chip_peaks().X[:1]
    return X, 200


def measure(name: str, clicks: int, device: str) -> None:
    model = zoo.load(name, device=device)
    X, window = sequence(name)
    start = time.perf_counter()
    flipper = NucleotideFlipper(model, X, window=window, device=device)
    open_s = time.perf_counter() - start
    times = []
    for k in range(clicks):
        position = X.shape[2] // 2 + 3 * k  # new positions: every click recomputes
        start = time.perf_counter()
        flipper.on_sequence_tap(Tap(flipper.figures["sequence"], x=position, y=0.5))
        times.append((time.perf_counter() - start) * 1000)
    print(f"RESULT flipper_real model={name} L={X.shape[2]} open_s={open_s:.2f} "
          f"click_ms={statistics.median(times):.0f} compute_ms={flipper.timings['compute_ms']:.0f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("deepstarr", "bpnet_ctcf", "both"), default="both")
    parser.add_argument("--clicks", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(2)
    for name in (("deepstarr", "bpnet_ctcf") if args.model == "both" else (args.model,)):
        measure(name, args.clicks, args.device)


if __name__ == "__main__":
    main()
