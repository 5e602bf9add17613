"""MotifDiscovery in a real JupyterLab in Debian's Chromium: a click on a pattern's logo reaches
the kernel and the browser then lists the seqlets this test lists itself (from the seqlet
coordinates it gave and the drawn window); the logos in the browser are the matrices it
recomputes with numpy; a click on a seqlet opens the flipper on that sequence with the seqlet
marked; no console error and no Bokeh warning.

The DiscoveryResult is built in the kernel by the package's pattern builder from fixed
modisco-lite-shaped seqlets (a TF-MoDISco run is tests/methods/test_discovery.py's job).
Skipped without Playwright or Chromium, except under ``CI=true`` where that is a failure.
"""

import time

import numpy as np
import pytest

from xai_widgets.plots import logo_data
from xai_widgets.testing import lab as xl

# (sequence, start, end, reverse complement) per pattern; fly test sequences have L = 249
SEQLETS = {"pos_0": [(0, 10, 24, False), (1, 100, 114, True), (2, 200, 214, False)],
           "neg_0": [(3, 40, 54, False), (1, 150, 164, True), (0, 120, 134, False)]}
BUILD = f"""
import numpy as np, torch
from types import SimpleNamespace
from xai_widgets.data import fly_enhancers
from xai_widgets.methods.discovery import DiscoveryResult, _pattern
SEQLETS = {SEQLETS!r}
X = fly_enhancers('test').X[:4].numpy()
hyp = np.random.default_rng(0).normal(size=X.shape).astype(np.float32)
hyp[3] -= 1.0
patterns = [_pattern(name, 1 if name.startswith('pos') else -1,
                     SimpleNamespace(length=14, seqlets=[SimpleNamespace(example_idx=s, start=a, end=b, is_revcomp=r)
                                                         for s, a, b, r in spans]), 0.3, X, hyp, None, None)
            for name, spans in SEQLETS.items()]
result = DiscoveryResult(patterns, 4, X.shape[2], None, None, 'no targets', {{}})
"""
NOTEBOOKS = {
    "discovery.ipynb": [
        "import torch\ntorch.set_num_threads(1)\nfrom xai_widgets import zoo\n"
        "from xai_widgets.widgets import MotifDiscovery",
        BUILD,
        "model = zoo.load('deepstarr', device='cpu')\n"
        "discovery = MotifDiscovery(model, X, result=result, target='dev', window=60, device='cpu')\ndiscovery",
    ],
}


def expected():
    """The result as the kernel builds it, the drawn CWMs recomputed with numpy, and each
    pattern's seqlet windows from SEQLETS."""
    scope: dict = {}
    exec(BUILD, scope)
    X, hyp, result = scope["X"], scope["hyp"], scope["result"]
    cwms, windows = {}, {}
    for name, spans in SEQLETS.items():
        a, b = result.pattern(name).window
        cwm = np.zeros((4, 14))
        for s, lo, hi, r in spans:
            block = (X[s] * hyp[s])[:, lo:hi]
            cwm += block[::-1, ::-1] if r else block
        cwms[name] = (cwm / len(spans))[:, a:b]
        windows[name] = [(s, hi - b, hi - a, "-") if r else (s, lo + a, lo + b, "+") for s, lo, hi, r in spans]
    return cwms, windows


def seqlet_options(page, check, timeout: float = 60) -> list:
    """The seqlet list's option texts (whitespace collapsed) once ``check`` holds for them."""
    deadline = time.monotonic() + timeout
    while True:
        texts = page.locator(".xw-discovery-seqlets select option").evaluate_all("els => els.map(e => e.textContent)")
        texts = [" ".join(t.split()) for t in texts]
        if check(texts):
            return texts
        if time.monotonic() > deadline:
            raise AssertionError(f"seqlet list: last options {texts!r} after {timeout} s")
        page.wait_for_timeout(50)


@pytest.mark.browser
def test_pattern_click_lists_its_seqlets(lab, page):
    cwms, windows = expected()
    warnings = []
    # Bokeh's warnings; not JupyterLab's timing note "Plugin @bokeh/jupyter_bokeh ... took N ms to activate"
    # (a slow start of the lab on a loaded machine, before any widget exists)
    page.on("console", lambda msg: warnings.append(msg.text)
            if msg.type == "warning" and "bokeh" in msg.text.lower() and "to activate" not in msg.text else None)
    with xl.reporting(page, lab, "discovery"):
        xl.open_notebook(page, lab, "discovery.ipynb")
        xl.run_all_cells(page, timeout=300)
        xl.wait_for_bokeh_plot(page, "discovery_logo_neg_0")
        for name, cwm in cwms.items():
            want = logo_data(cwm)
            got = np.asarray(xl.bokeh_source_data(page, f"discovery_logo_{name}_source", "value"), dtype=float)
            np.testing.assert_allclose(got, want["value"], rtol=0, atol=1e-5)
        xl.click_bokeh(page, "discovery_logo_neg_0", 1.0, 0.0)
        lines = [f"sequence {s} {lo}-{hi} ({strand})" for s, lo, hi, strand in windows["neg_0"]]
        listed = seqlet_options(page, lambda t: len(t) == len(lines) and all(a.startswith(b) for a, b in zip(t, lines)))
        assert len(listed) == 3, listed
        xl.wait_for_text(page, ".xw-discovery-matches", lambda t: "neg_0" in t)
        page.locator(".xw-discovery-seqlets select").select_option(index=1)
        s, lo, hi, strand = windows["neg_0"][1]
        xl.wait_for_text(page, ".xw-discovery-flipper-title",
                         lambda t: f"sequence {s}" in t and f"{lo}-{hi} ({strand})" in t, timeout=120)
        xl.wait_for_bokeh_plot(page, "flipper_logo")
        assert xl.bokeh_source_data(page, "flipper_instances_source", "left") == [lo - 0.5]
        xl.screenshot(page, "discovery_after_click")
    assert warnings == [], warnings
