"""Export figures as PNG or SVG files through a headless Chromium (selenium + chromedriver)."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update")


@contextmanager
def _webdriver():
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install 'xai-widgets[export]')")
    if missing:
        raise RuntimeError("exporting a figure needs a headless Chromium; missing: " + ", ".join(missing)
                           + ". On Debian/Ubuntu: apt-get install chromium chromium-driver")
    from bokeh.io.webdriver import create_chromium_webdriver

    driver = create_chromium_webdriver(list(CHROMIUM_FLAGS))
    try:
        yield driver
    finally:
        driver.quit()


def save_png(fig, path, *, scale: float = 1.0) -> Path:
    """Render ``fig`` (a figure or layout) to a PNG file; returns the path.

    Parameters
    ----------
    fig : bokeh.models.LayoutDOM
    path : str or pathlib.Path
    scale : float
        Pixel scale factor (2 for high-DPI output).
    """
    from bokeh.io import export_png

    with _webdriver() as driver:
        export_png(fig, filename=str(path), webdriver=driver, scale_factor=scale)
    return Path(path)


def save_svg(fig, path) -> Path:
    """Render ``fig`` to an SVG file (its canvases switch to the SVG backend); returns the path."""
    from bokeh.io import export_svg
    from bokeh.models import Plot

    for plot in fig.select({"type": Plot}):
        plot.output_backend = "svg"
    with _webdriver() as driver:
        export_svg(fig, filename=str(path), webdriver=driver)
    return Path(path)
