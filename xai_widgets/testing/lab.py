"""Drive notebooks and widgets in a real JupyterLab, in headless Chromium.

The helpers here start a throw-away JupyterLab server (:func:`running_lab`),
open a Playwright page in the system Chromium (:func:`chromium_page`), open and
run a notebook (:func:`open_notebook`, :func:`run_all_cells`), and then talk to
the rendered widgets: click a Bokeh plot at *data* coordinates
(:func:`click_bokeh`), read what the browser-side Bokeh document holds
(:func:`bokeh_source_data`), wait for an ipywidgets text (:func:`wait_for_text`)
and time a click -> kernel -> browser round trip (:func:`measure_round_trip_ms`).

Playwright never downloads a browser here: Chromium is found on ``PATH``
(Debian: ``apt-get install chromium``).  All timeouts are in **seconds**.

This module gathers the harness in one namespace (``from xai_widgets.testing import lab as xl``);
the code lives by seam: :mod:`.server` (JupyterLab), :mod:`.page` (Chromium pages and
screenshots), :mod:`.notebook` (running and querying notebooks), :mod:`.bokehjs` (plots and data
sources in the page) and :mod:`.sync` (the browser's sources against the kernel's).

Typical use::

    with running_lab(notebook_dir) as lab, chromium_page() as page:
        open_notebook(page, lab, "demo.ipynb")
        run_all_cells(page)
        wait_for_bokeh_plot(page, "pad")
        click_bokeh(page, "pad", 3, 7)
        wait_for_text(page, ".xw-readout", "clicks: 1")
        assert not page.page_errors
"""

from __future__ import annotations

from ..plots import browser as chromium
from .bokehjs import (
    BOKEH_TAP_INTERVAL,
    bokeh_data_to_page,
    bokeh_source_data,
    click_bokeh,
    measure_round_trip_ms,
    wait_for_bokeh_plot,
)
from .notebook import (
    BARE_BOKEH_CELLS,
    NotebookError,
    kernel_value,
    notebook_errors,
    open_notebook,
    reload_notebook,
    reporting,
    restart_kernel,
    run_all_cells,
    run_cell,
    save_notebook,
    scroll_through_notebook,
    wait_for_text,
    write_notebook,
)
from .page import artifacts_dir, browser_unavailable_reason, chromium_page, screenshot
from .server import LabServer, running_lab
from .sync import assert_browser_matches_kernel, browser_sources, kernel_sources, python_sources

CHROMIUM_ARGS, find_chromium = chromium.CHROMIUM_ARGS, chromium.find_chromium

__all__ = [
    "BARE_BOKEH_CELLS",
    "BOKEH_TAP_INTERVAL",
    "CHROMIUM_ARGS",
    "LabServer",
    "NotebookError",
    "artifacts_dir",
    "bokeh_data_to_page",
    "assert_browser_matches_kernel",
    "bokeh_source_data",
    "browser_sources",
    "kernel_sources",
    "kernel_value",
    "python_sources",
    "reload_notebook",
    "reporting",
    "restart_kernel",
    "run_cell",
    "save_notebook",
    "scroll_through_notebook",
    "browser_unavailable_reason",
    "chromium_page",
    "click_bokeh",
    "find_chromium",
    "measure_round_trip_ms",
    "notebook_errors",
    "open_notebook",
    "run_all_cells",
    "running_lab",
    "screenshot",
    "wait_for_bokeh_plot",
    "wait_for_text",
    "write_notebook",
]
