"""NucleotideFlipper latency: a click to updated data sources in Python, and a click to the
redrawn canvas in JupyterLab, against a bare jupyter_bokeh round trip measured in the same run.

    python benchmarks/flipper.py [--model NAME ...] [--length 1000] [--clicks N] [--browser-repeats 15]
                                 [--no-browser] [--baseline DIR] [--rounds 2] [--threads N] [--load]

Models (``--model``, repeatable; default all three): ``basset_exp_motif_presence`` (target 0, a
random sequence of ``--length`` nt), ``deepstarr`` (249 bp, target "dev") and ``bpnet_ctcf``
(2,114 bp, target "counts"), CPU, the zoo's weights.

Python: ``on_sequence_tap`` (the callback a click fires) on a flipper showing its first 100
positions. The flipper sends the edited sequence and prediction first, then the ISM heatmap
and logo of the visible window (plus a margin), then the rest. Outside a kernel the rest runs
in the same call, so each click gives two times: click -> visible window's sources updated
(``python_ms``) and click -> every source updated (``python_total_ms``).

``--baseline DIR`` measures an older copy of the package side by side (DIR holds its
``xai_widgets``, e.g. ``git archive <commit> xai_widgets | tar -x -C DIR``): the Python part runs
in subprocesses, new and old in turn for ``--rounds`` rounds, and the browser part opens a
second flipper notebook whose kernel imports the old package.

Browser: JupyterLab in Debian's Chromium; the time from ``pointerdown`` to the first animation
frame after a data source changed: the sequence track (first paint), a marker source in the
message of the visible window's maps (the old flipper: its heatmap, all in one message) and one
in the last message of a click (everything redrawn), against the same measure for a figure whose Python tap callback
appends one point (``BARE_BOKEH_CELLS``).

Last lines: ``RESULT flipper python_ms=... python_total_ms=... browser_ms=... bare_ms=...
ratio=... first_paint_ms=... first_paint_ratio=... complete_ms=... complete_ratio=...`` for
Basset (browser_ms: the visible window redrawn; ratios over bare), and ``RESULT
flipper_<model> L=... python_ms=... python_total_ms=...`` for each other model; each with the
load (``_timing.load_fields``; ``--load``: a busy process on every core while everything runs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from _timing import add_load_arguments, cpu_load, load_fields, load_note

MODELS = {"basset_exp_motif_presence": (0, None, 30), "deepstarr": ("dev", 249, 20), "bpnet_ctcf": ("counts", 2114, 3)}
"""Model name: (target, sequence length (None: --length), default number of clicks)."""

FLIPPER_CELLS = [
    "import sys\nsys.path.insert(0, {path!r})\n"
    "import torch\ntorch.set_num_threads({threads})\nfrom xai_widgets import zoo\n"
    "from xai_widgets.widgets import NucleotideFlipper",
    "from bokeh.models import ColumnDataSource\n"
    "g = torch.Generator().manual_seed(1)\n"
    "X = torch.nn.functional.one_hot(torch.randint(0, 4, ({length},), generator=g), 4).T.float()\n"
    "flipper = NucleotideFlipper(zoo.load('basset_exp_motif_presence', device='cpu'), X, target=0, device='cpu')\n"
    "# markers in the same messages as the visible window's maps and the last maps of a click\n"
    "markers = {{name: ColumnDataSource(name=f'flipper_{{name}}', data={{'n': [0]}})\n"
    "           for name in ('visible', 'done')}}\n"
    "for marker in markers.values():\n"
    "    flipper.figures['history'].scatter('n', 'n', source=marker, alpha=0)\n"
    "def bump(*names):\n"
    "    for name in names:\n"
    "        markers[name].data = {{'n': [markers[name].data['n'][0] + 1]}}\n"
    "window, finish = getattr(flipper, '_show_window', None), getattr(flipper, '_finish', None)\n"
    "def show_window(*args, logo=False):\n"
    "    with flipper.plot.batched():\n"
    "        window(*args, logo=logo)\n"
    "        bump(*(['visible'] if logo else []))\n"
    "def finish_maps(*args):\n"
    "    with flipper.plot.batched():\n"
    "        finish(*args)\n"
    "        bump('visible', 'done')  # a memoised state has no window step\n"
    "if finish is not None:\n"
    "    flipper._show_window, flipper._finish = show_window, finish_maps\n"
    "flipper",
]


def sequence(length: int):
    import torch

    g = torch.Generator().manual_seed(1)
    return torch.nn.functional.one_hot(torch.randint(0, 4, (length,), generator=g), 4).T.float()


def python_click_ms(model_name: str, length: int, clicks: int, threads: int | None) -> dict:
    """Medians over ``clicks`` clicks on the sequence track: click -> visible sources, -> all."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    from bokeh.events import Tap

    from xai_widgets import zoo
    from xai_widgets.widgets import NucleotideFlipper

    target = MODELS[model_name][0]
    flipper = NucleotideFlipper(zoo.load(model_name, device="cpu"), sequence(length), target=target, device="cpu")
    figure = flipper.figures["sequence"]
    flipper.on_sequence_tap(Tap(figure, x=1.0, y=0.5))  # warm-up
    visible, total, parts = [], [], {}
    for k in range(clicks):
        start = time.perf_counter()
        flipper.on_sequence_tap(Tap(figure, x=float(37 * k % 100), y=0.5))  # in the visible window
        total.append((time.perf_counter() - start) * 1000)
        visible.append(flipper.timings.get("visible_ms", total[-1]))  # older flippers: one step
        for key, value in flipper.timings.items():
            parts.setdefault(key, []).append(value)
    return {"visible_ms": statistics.median(visible), "total_ms": statistics.median(total),
            "parts": {key: statistics.median(v) for key, v in parts.items()},
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def worker_run(model_name: str, length: int, clicks: int, threads: int | None, package_root: str) -> dict:
    """:func:`python_click_ms` in a fresh interpreter importing ``xai_widgets`` from ``package_root``."""
    env = {**os.environ, "PYTHONPATH": package_root}
    out = subprocess.run([sys.executable, __file__, "--worker", "--model", model_name, "--length", str(length),
                          "--clicks", str(clicks), "--threads", str(threads or 0)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def browser_ms(length: int, repeats: int, baseline: str | None, threads: int | None) -> dict:
    from xai_widgets.testing import lab as xl

    reason = xl.browser_unavailable_reason()
    if reason is not None:
        raise SystemExit(f"browser part needs Chromium and Playwright: {reason} (or pass --no-browser)")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    results = {}
    with tempfile.TemporaryDirectory() as root:
        xl.write_notebook(os.path.join(root, "bare.ipynb"), xl.BARE_BOKEH_CELLS)
        flippers = {"new": here} | ({"old": os.path.abspath(baseline)} if baseline else {})
        for label, path in flippers.items():
            cells = [cell.format(path=path, length=length, threads=threads or 2) for cell in FLIPPER_CELLS]
            xl.write_notebook(os.path.join(root, f"flipper_{label}.ipynb"), cells)
        with xl.running_lab(root) as lab, xl.chromium_page() as page:
            xl.open_notebook(page, lab, "bare.ipynb")
            xl.run_all_cells(page)
            xl.wait_for_bokeh_plot(page, "pad")
            results["bare"] = xl.measure_round_trip_ms(page, "pad", "clicks", 5, 5, repeats=repeats, jitter=2)
            for label in flippers:
                xl.open_notebook(page, lab, f"flipper_{label}.ipynb")
                xl.run_all_cells(page)
                xl.wait_for_bokeh_plot(page, "flipper_sequence")
                # each click flips a base in the visible window (x = 50 +- 5)
                sources = {"first": "flipper_sequence_source", "visible": "flipper_visible", "complete": "flipper_done"}
                if label == "old":  # one message after the first: the heatmap's
                    sources = {"first": "flipper_sequence_source", "visible": "flipper_heatmap_source"}
                for key, source in sources.items():
                    results[f"{label}_{key}"] = xl.measure_round_trip_ms(page, "flipper_sequence", source, 50, 0.5,
                                                                         repeats=repeats, jitter=5)
                xl.screenshot(page, f"benchmark_flipper_{label}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", choices=list(MODELS),
                        help="default: all three")
    parser.add_argument("--length", type=int, default=1000, help="Basset's sequence length; default 1000")
    parser.add_argument("--clicks", type=int, default=None, help="default: 30 Basset, 20 DeepSTARR, 3 BPNet")
    parser.add_argument("--browser-repeats", type=int, default=15)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--baseline", default=None, help="a directory holding an older xai_widgets package")
    parser.add_argument("--rounds", type=int, default=2, help="new/old rounds with --baseline; default 2")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads; default: torch's own in Python, 2 in the notebook kernels")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    add_load_arguments(parser)
    args = parser.parse_args()
    models = args.model or list(MODELS)

    def length_of(name):
        return MODELS[name][1] or args.length

    def clicks_of(name):
        return args.clicks or MODELS[name][2]

    if args.worker:
        print(json.dumps(python_click_ms(models[0], length_of(models[0]), clicks_of(models[0]), args.threads)))
        return
    with cpu_load(args) as load:
        measure(args, models, length_of, clicks_of, load)


def measure(args, models, length_of, clicks_of, load) -> None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print(f"# {platform.machine()}, {os.cpu_count()} cores; {load_note(load)}", flush=True)
    rows = {}
    for name in models:
        length, clicks = length_of(name), clicks_of(name)
        runs = {"new": [], "old": []}
        for _ in range(args.rounds if args.baseline else 1):
            runs["new"].append(worker_run(name, length, clicks, args.threads, here))
            if args.baseline:
                runs["old"].append(worker_run(name, length, clicks, args.threads, os.path.abspath(args.baseline)))
        row = {label: {key: statistics.median(r[key] for r in results) for key in ("visible_ms", "total_ms")}
               for label, results in runs.items() if results}
        rows[name] = row
        new = runs["new"][-1]
        print(f"{name}, L={length}, torch {new['torch']}, {new['threads']} threads, {clicks} clicks x "
              f"{len(runs['new'])} round(s): click -> visible window {row['new']['visible_ms']:.1f} ms, "
              f"-> all sources {row['new']['total_ms']:.1f} ms (parts of the last round: "
              + ", ".join(f"{k} {v:.1f}" for k, v in new["parts"].items()) + ")")
        if "old" in row:
            print(f"  baseline {args.baseline}: click -> all sources {row['old']['total_ms']:.1f} ms; "
                  f"visible ratio new/old {row['new']['visible_ms'] / row['old']['total_ms']:.2f}")
    print(f"# after the Python part: {load_note(load)}", flush=True)

    browser = {}
    if not args.no_browser and "basset_exp_motif_presence" in models:
        browser = browser_ms(args.length, args.browser_repeats, args.baseline, args.threads)
        bare = browser["bare"]
        for label in ("new", "old"):
            if f"{label}_first" in browser:
                print(f"browser {label}: edited sequence {browser[f'{label}_first']:.1f} ms, heatmap "
                      f"{browser[f'{label}_visible']:.1f} ms"
                      + (f", everything {browser[f'{label}_complete']:.1f} ms" if f"{label}_complete" in browser
                         else "") + f"; bare jupyter_bokeh round trip {bare:.1f} ms (medians of "
                      f"{args.browser_repeats})")
    for name, row in rows.items():
        fields = f"python_ms={row['new']['visible_ms']:.1f} python_total_ms={row['new']['total_ms']:.1f}"
        if "old" in row:
            fields += f" baseline_python_ms={row['old']['total_ms']:.1f}"
        if name != "basset_exp_motif_presence":
            print(f"RESULT flipper_{name} L={length_of(name)} {fields} {load_fields(load)}")
            continue
        if browser:
            bare = browser["bare"]
            fields += (f" browser_ms={browser['new_visible']:.1f} bare_ms={bare:.1f} "
                       f"ratio={browser['new_visible'] / bare:.2f} first_paint_ms={browser['new_first']:.1f} "
                       f"first_paint_ratio={browser['new_first'] / bare:.2f} "
                       f"complete_ms={browser['new_complete']:.1f} complete_ratio={browser['new_complete'] / bare:.2f}")
            if "old_visible" in browser:
                fields += (f" baseline_ratio={browser['old_visible'] / bare:.2f} "
                           f"baseline_first_paint_ratio={browser['old_first'] / bare:.2f}")
        print(f"RESULT flipper L={length_of(name)} {fields} {load_fields(load)}")


if __name__ == "__main__":
    main()
