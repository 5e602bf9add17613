"""The tutorials of the 2-hour path (tutorials/README.md) in a real JupyterLab in Debian's
Chromium: all cells run without an error output, and the browser console stays clean of errors and
Bokeh warnings; one screenshot per notebook is kept. The other notebooks are executed by nbval and
by tests/course/test_course_checks.py, and each of their widgets has its own browser test; running every
notebook in the browser too would add about ten minutes to the test command.

Skipped without Playwright or Chromium, except under ``CI=true`` where that is a failure.
"""


import pytest

from tests.helpers import REPO
from xai_widgets.testing import lab as xl

TUTORIALS = REPO / "tutorials"
TWO_HOUR_PATH = ("00", "01", "04", "05", "08")  # tutorials/README.md, "Paths"
NOTEBOOK_FILES = sorted(p for p in TUTORIALS.glob("[0-9][0-9]_*.ipynb") if p.name[:2] in TWO_HOUR_PATH)


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
