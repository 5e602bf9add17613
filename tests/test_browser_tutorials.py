"""Every tutorial in a real JupyterLab in Debian's Chromium: all cells run without an error
output and the browser console stays clean; one screenshot per notebook is kept.

Skipped without Playwright or Chromium, except under ``CI=true`` where that is a failure.
"""

from pathlib import Path

import pytest

from xai_widgets.testing import lab as xl

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
NOTEBOOK_FILES = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.browser
@pytest.mark.parametrize("notebook", [p.name for p in NOTEBOOK_FILES])
def test_tutorial_runs_in_jupyterlab(lab, page, notebook):
    page.console_errors.clear()
    page.page_errors.clear()
    with xl.reporting(page, lab, notebook.removesuffix(".ipynb")):
        xl.open_notebook(page, lab, notebook)
        xl.run_all_cells(page, timeout=300)  # raises with the traceback of any error output
        page.wait_for_timeout(500)
        xl.screenshot(page, f"tutorial_{notebook.removesuffix('.ipynb')}")
