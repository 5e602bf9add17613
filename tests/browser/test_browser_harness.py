"""The browser harness (:mod:`xai_widgets.testing.lab`) on a bare jupyter_bokeh notebook.

A Bokeh figure inside an ipywidgets VBox is tapped in a real JupyterLab, in
headless Chromium; the kernel appends each tap to a ``ColumnDataSource`` and
updates an ``HTML`` readout, and the test checks both in the browser.

Skipped when Playwright or Chromium is missing, except under ``CI=true`` where
that is a failure.  Screenshots go to ``$XW_BROWSER_ARTIFACTS`` (default
``test-artifacts/browser/``).
"""

import pytest

from xai_widgets.testing import lab as xl

NOTEBOOK = "bare_bokeh.ipynb"
NOTEBOOKS = {NOTEBOOK: xl.BARE_BOKEH_CELLS}


@pytest.mark.browser
def test_bokeh_taps_reach_kernel_and_come_back(lab, page):
    with xl.reporting(page, lab, "bare_bokeh"):
        xl.open_notebook(page, lab, NOTEBOOK)
        xl.run_all_cells(page)
        xl.wait_for_bokeh_plot(page, "pad")
        xl.wait_for_text(page, ".xw-readout", "clicks: 0")
        xl.screenshot(page, "bare_bokeh_before")

        xl.click_bokeh(page, "pad", 3, 7)
        xl.wait_for_text(page, ".xw-readout", "clicks: 1")
        (x0,) = xl.bokeh_source_data(page, "clicks", "x")
        (y0,) = xl.bokeh_source_data(page, "clicks", "y")
        assert abs(x0 - 3) < 0.3 and abs(y0 - 7) < 0.3

        # As fast as BokehJS still reports separate taps (see click_bokeh).
        points = [(1 + 0.8 * i, 9 - 0.7 * i) for i in range(10)]
        for x, y in points:
            xl.click_bokeh(page, "pad", x, y)
        xl.wait_for_text(page, ".xw-readout", "clicks: 11")
        xs = xl.bokeh_source_data(page, "clicks", "x")
        ys = xl.bokeh_source_data(page, "clicks", "y")
        assert len(xs) == len(ys) == 11
        for (x, y), bx, by in zip(points, xs[1:], ys[1:]):
            assert abs(bx - x) < 0.3 and abs(by - y) < 0.3
        xl.screenshot(page, "bare_bokeh_after")


def test_unavailable_reason_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("XW_CHROMIUM", raising=False)
    assert xl.find_chromium() is None
    reason = xl.browser_unavailable_reason()
    assert reason is not None and "apt-get install chromium" in reason


def test_find_chromium_honours_env(monkeypatch, tmp_path):
    exe = tmp_path / "my-chromium"
    exe.write_text("")
    monkeypatch.setenv("XW_CHROMIUM", str(exe))
    assert xl.find_chromium() == str(exe)
