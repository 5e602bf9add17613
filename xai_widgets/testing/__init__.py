"""Helpers for tests and benchmarks (not needed at run time by widget users).

:mod:`xai_widgets.testing.lab` drives widgets in a real JupyterLab opened in
headless Chromium through Playwright. The browser itself (:func:`find_chromium`,
:data:`CHROMIUM_ARGS`) is shared with figure export (:mod:`xai_widgets.plots.export`),
so the package has one browser stack.
"""

from .lab import CHROMIUM_ARGS, find_chromium

__all__ = ["CHROMIUM_ARGS", "find_chromium", "lab"]
