"""Helpers for tests and benchmarks (not needed at run time by widget users).

:mod:`xai_widgets.testing.lab` drives widgets in a real JupyterLab opened in
headless Chromium through Playwright. The browser itself (:func:`find_chromium`,
:data:`CHROMIUM_ARGS`, defined in :mod:`xai_widgets.plots.browser`) is the one figure export
(:mod:`xai_widgets.plots.export`) uses, so the package has one browser stack; ``testing`` sits
above ``plots`` and ``plots`` never imports it.
"""

from .lab import CHROMIUM_ARGS, find_chromium

__all__ = ["CHROMIUM_ARGS", "find_chromium", "lab"]
