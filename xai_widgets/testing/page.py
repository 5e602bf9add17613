"""A headless Chromium page through Playwright, screenshots and the check around a browser test.

The browser is :func:`xai_widgets.plots.browser.find_chromium`'s, launched with
:data:`~xai_widgets.plots.browser.CHROMIUM_ARGS` (the one figure export uses).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..plots import browser as chromium


def browser_unavailable_reason() -> str | None:
    """Say why browser tests cannot run here, if they cannot.

    Returns
    -------
    str or None
        ``None`` when the Playwright Python package imports and a Chromium is
        found; otherwise a message naming what is missing and how to install it.
    """
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Playwright Python package (`pip install playwright`; no `playwright install` needed)")
    if chromium.find_chromium() is None:
        missing.append(
            "a Chromium browser on PATH (`apt-get install chromium`, or set XW_CHROMIUM to its path)"
        )
    if not missing:
        return None
    return "browser tests need " + " and ".join(missing)


def artifacts_dir() -> Path:
    """Directory for screenshots and logs, created if needed.

    Returns
    -------
    pathlib.Path
        ``$XW_BROWSER_ARTIFACTS`` if set, else ``<repo>/test-artifacts/browser``
        (``./test-artifacts/browser`` when the package is not in a checkout).
    """
    env = os.environ.get("XW_BROWSER_ARTIFACTS")
    if env:
        path = Path(env)
    else:
        repo = Path(__file__).resolve().parents[2]
        root = repo if (repo / "pyproject.toml").exists() else Path.cwd()
        path = root / "test-artifacts" / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def chromium_page(*, viewport: tuple[int, int] = (1400, 1000), timeout: float = 30) -> Iterator[Any]:
    """Open a headless Chromium page through Playwright (sync API).

    Parameters
    ----------
    viewport : (int, int)
        Width and height in CSS pixels.
    timeout : float
        Default timeout for Playwright actions, in seconds.

    Yields
    ------
    playwright.sync_api.Page
        With three extra list attributes, filled as the page runs:
        ``page.console_errors`` (text of every ``console.error`` message, with
        its source location), ``page.page_errors`` (uncaught exceptions and
        unhandled rejections, as ``"Name: message"``) and ``page.bokeh_warnings``
        (BokehJS's ``console.warn`` lines, ``[bokeh 3.x] ...``, such as "data
        source has columns of inconsistent lengths").
    """
    reason = browser_unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium.find_chromium(), headless=True,
                                     args=chromium.CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            context.set_default_timeout(timeout * 1000)
            page = context.new_page()
            page.console_errors = []
            page.page_errors = []
            page.bokeh_warnings = []

            def on_console(msg: Any) -> None:
                if msg.type == "warning" and "[bokeh" in msg.text:
                    page.bokeh_warnings.append(msg.text)
                if msg.type == "error":
                    loc = msg.location or {}
                    where = f" ({loc.get('url', '')}:{loc.get('lineNumber', '')})" if loc.get("url") else ""
                    page.console_errors.append(msg.text + where)

            def on_pageerror(err: Any) -> None:
                page.page_errors.append(f"{getattr(err, 'name', 'Error')}: {getattr(err, 'message', err)}")

            def on_dialog(dialog: Any) -> None:
                # a reload or navigation is what the test asked for: leave (beforeunload), and
                # record every dialog so that a test can see one it did not expect
                page.dialogs.append(f"{dialog.type}: {dialog.message}")
                dialog.accept() if dialog.type == "beforeunload" else dialog.dismiss()

            page.dialogs = []
            page.on("console", on_console)
            page.on("pageerror", on_pageerror)
            page.on("dialog", on_dialog)
            yield page
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a PNG of the viewport under :func:`artifacts_dir`.

    Parameters
    ----------
    page : playwright.sync_api.Page
    name : str
        File stem; characters other than letters, digits, ``-_.`` become ``_``.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).removesuffix(".png")
    path = artifacts_dir() / f"{stem}.png"
    page.screenshot(path=str(path))
    return path
