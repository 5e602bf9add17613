"""Shared pytest configuration and the browser fixtures.

A browser test module defines ``NOTEBOOKS = {file name: [code cells]}`` (and/or
``NOTEBOOK_FILES``, paths of notebooks to copy); the module-scoped ``lab`` fixture writes them
to a temporary directory and serves it from JupyterLab on 127.0.0.1, and ``page`` is a headless
Debian Chromium page. Without Playwright or Chromium
the tests skip, except under ``CI=true`` where that is a failure.
"""

import os
import shutil

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: runs JupyterLab in Chromium")


@pytest.fixture(scope="module")
def lab(request, tmp_path_factory):
    from xai_widgets.testing import lab as xl

    reason = xl.browser_unavailable_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("lab")
    for name, cells in getattr(request.module, "NOTEBOOKS", {}).items():
        xl.write_notebook(root / name, cells)
    for path in getattr(request.module, "NOTEBOOK_FILES", []):
        shutil.copy(path, root)
    with xl.running_lab(root) as server:
        yield server


@pytest.fixture(scope="module")
def page(lab):
    from xai_widgets.testing import lab as xl

    with xl.chromium_page() as page:
        yield page
