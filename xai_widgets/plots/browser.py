"""The headless Chromium that figure export (:mod:`.export`) and the browser tests
(:mod:`xai_widgets.testing`) share: the package has one browser stack.

Playwright never downloads a browser here: Chromium is found on ``PATH`` (Debian:
``apt-get install chromium``) or named by the ``XW_CHROMIUM`` environment variable.
"""

from __future__ import annotations

import os
import shutil

__all__ = ["CHROMIUM_ARGS", "find_chromium"]

#: Command-line flags for Chromium: no sandbox (we may be root in a container),
#: no GPU, and no background network traffic or component updates.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    """Locate a Chromium (or Chrome) executable.

    Returns
    -------
    str or None
        The path given by the ``XW_CHROMIUM`` environment variable if set,
        else the first of ``chromium``, ``chromium-browser``, ``google-chrome``
        ... found on ``PATH``; ``None`` if there is none.
    """
    env = os.environ.get("XW_CHROMIUM")
    if env:
        return env if os.path.exists(env) else shutil.which(env)
    for name in _CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None
