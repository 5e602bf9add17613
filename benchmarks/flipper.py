"""NucleotideFlipper latency: a click to updated data sources in Python, and a click to the
redrawn canvas in JupyterLab, against a bare jupyter_bokeh round trip measured in the same run.

    python benchmarks/flipper.py [--length 1000] [--clicks 30] [--browser-repeats 15] [--no-browser]

Python: ``on_sequence_tap`` (the callback a click fires: edit, one forward pass, sequence /
history / readout update, fast ISM for every output, logo and heatmap update) on the zoo's
exponential Basset-style model, CPU. The flipper sends two messages per click: the edited
sequence and prediction first, the ISM heatmap and logo when computed.
Browser: JupyterLab in Debian's Chromium; the time from ``pointerdown`` to the first animation
frame after a data source changed: the sequence track (first paint) and the heatmap (all
redrawn), against the same measure for a figure whose Python tap callback appends one point
(``BARE_BOKEH_CELLS``). Last line: ``RESULT flipper python_ms=... browser_ms=... bare_ms=...
ratio=... first_paint_ms=... first_paint_ratio=...`` (browser_ms: all redrawn; ratios over bare).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import torch
from bokeh.events import Tap

from xai_widgets import zoo
from xai_widgets.widgets import NucleotideFlipper

FLIPPER_CELLS = [
    "import torch\ntorch.set_num_threads(2)\nfrom xai_widgets import zoo\n"
    "from xai_widgets.widgets import NucleotideFlipper",
    "g = torch.Generator().manual_seed(1)\n"
    "X = torch.nn.functional.one_hot(torch.randint(0, 4, ({length},), generator=g), 4).T.float()\n"
    "flipper = NucleotideFlipper(zoo.load('basset_exp_motif_presence', device='cpu'), X, device='cpu')\n"
    "flipper",
]


def python_click_ms(length: int, clicks: int) -> tuple[float, dict]:
    g = torch.Generator().manual_seed(1)
    X = torch.nn.functional.one_hot(torch.randint(0, 4, (length,), generator=g), 4).T.float()
    flipper = NucleotideFlipper(zoo.load("basset_exp_motif_presence", device="cpu"), X, device="cpu")
    figure = flipper.figures["sequence"]
    flipper.on_sequence_tap(Tap(figure, x=1.0, y=0.5))  # warm-up
    times, parts = [], {"sequence_ms": [], "compute_ms": [], "maps_ms": []}
    for k in range(clicks):
        start = time.perf_counter()
        flipper.on_sequence_tap(Tap(figure, x=float(37 * k % length), y=0.5))
        times.append((time.perf_counter() - start) * 1000)
        for key in parts:
            parts[key].append(flipper.timings[key])
    return statistics.median(times), {key: statistics.median(v) for key, v in parts.items()}


def browser_ms(length: int, repeats: int) -> tuple[float, float]:
    from xai_widgets.testing import lab as xl

    reason = xl.browser_unavailable_reason()
    if reason is not None:
        raise SystemExit(f"browser part needs Chromium and Playwright: {reason} (or pass --no-browser)")
    with tempfile.TemporaryDirectory() as root:
        xl.write_notebook(os.path.join(root, "bare.ipynb"), xl.BARE_BOKEH_CELLS)
        cells = [cell.replace("{length}", str(length)) for cell in FLIPPER_CELLS]
        xl.write_notebook(os.path.join(root, "flipper.ipynb"), cells)
        with xl.running_lab(root) as lab, xl.chromium_page() as page:
            xl.open_notebook(page, lab, "bare.ipynb")
            xl.run_all_cells(page)
            xl.wait_for_bokeh_plot(page, "pad")
            bare = xl.measure_round_trip_ms(page, "pad", "clicks", 5, 5, repeats=repeats, jitter=2)
            xl.open_notebook(page, lab, "flipper.ipynb")
            xl.run_all_cells(page)
            xl.wait_for_bokeh_plot(page, "flipper_sequence")
            # each click flips a base; the heatmap arrives with the second (last) message
            first = xl.measure_round_trip_ms(page, "flipper_sequence", "flipper_sequence_source", 50, 0.5,
                                             repeats=repeats, jitter=5)
            full = xl.measure_round_trip_ms(page, "flipper_sequence", "flipper_heatmap_source", 50, 0.5,
                                            repeats=repeats, jitter=5)
            xl.screenshot(page, "benchmark_flipper")
    return full, first, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--clicks", type=int, default=30)
    parser.add_argument("--browser-repeats", type=int, default=15)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()

    python_ms, parts = python_click_ms(args.length, args.clicks)
    print(f"# {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; basset_exp_motif_presence, L={args.length}")
    print(f"python click -> all sources updated: median {python_ms:.1f} ms over {args.clicks} clicks "
          f"(edit + prediction + first message {parts['sequence_ms']:.1f} ms, ISM {parts['compute_ms']:.1f} ms, "
          f"maps message {parts['maps_ms']:.1f} ms)")
    if args.no_browser:
        print(f"RESULT flipper python_ms={python_ms:.1f}")
        return
    full, first, bare = browser_ms(args.length, args.browser_repeats)
    print(f"browser click -> redrawn canvas (medians of {args.browser_repeats}): edited sequence {first:.1f} ms, "
          f"everything {full:.1f} ms; bare jupyter_bokeh round trip {bare:.1f} ms")
    print(f"RESULT flipper python_ms={python_ms:.1f} browser_ms={full:.1f} bare_ms={bare:.1f} ratio={full / bare:.2f} "
          f"first_paint_ms={first:.1f} first_paint_ratio={first / bare:.2f}")


if __name__ == "__main__":
    main()
