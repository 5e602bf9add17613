"""Export figures as PNG or SVG files through Playwright driving the system's headless Chromium.

The figure is written as a standalone page (:func:`bokeh.embed.file_html` with INLINE
resources: nothing is fetched), opened in Debian's Chromium (the one the browser tests use, found
by :func:`xai_widgets.plots.browser.find_chromium`; Playwright never downloads a browser here), and
once BokehJS reports the document idle

- PNG: a screenshot of the page clipped to the figure's box (``scale`` sets the device pixel
  ratio, so ``scale=2`` gives a high-DPI image of the same layout);
- SVG: BokehJS's own SVG export of the figure (every plot switched to the SVG backend for the
  render, as :func:`bokeh.io.export_svg` does; the figure is left as it was).

Both need the ``playwright`` Python package (``pip install 'xai-widgets[export]'``, no
``playwright install``) and a Chromium on PATH (``apt-get install chromium``, or set
``XW_CHROMIUM`` to its path).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path

from .browser import CHROMIUM_ARGS, find_chromium

RENDER_TIMEOUT_S = 30.0
"""Seconds to wait for BokehJS to load and render a figure."""

_PAGE = """\
{% block preamble %}
<style>html, body { margin: 0; padding: 0; border: 0; }</style>
{% endblock %}
"""

_IDLE = """() => new Promise(resolve => {
  const doc = Bokeh.documents[0];
  if (doc.is_idle) resolve(true); else doc.idle.connect(() => resolve(true));
})"""

_BOX = """() => {
  const {x, y, width, height} = Bokeh.index.roots[0].el.getBoundingClientRect();
  return [x + window.scrollX, y + window.scrollY, width, height];
}"""

_SVG = """() => {
  const view = Bokeh.index.roots[0];
  if (typeof view.export !== "function") return null;
  return view.export("svg").ctx.get_serialized_svg(true);
}"""


def _unavailable() -> str | None:
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package (pip install 'xai-widgets[export]'; no `playwright install` "
                       "needed)")
    if find_chromium() is None:
        missing.append("a Chromium on PATH (apt-get install chromium, or set XW_CHROMIUM to its path)")
    return "exporting a figure needs " + " and ".join(missing) if missing else None


@contextmanager
def _figure_page(fig, *, scale: float = 1.0):
    """A Playwright page showing ``fig`` (rendered and idle) at device pixel ratio ``scale``."""
    reason = _unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number; got {scale!r}")
    from bokeh.embed import file_html
    from bokeh.resources import INLINE
    from playwright.sync_api import sync_playwright

    html = file_html(fig, INLINE, title="figure", template=_PAGE)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(device_scale_factor=scale, viewport={"width": 1600, "height": 1200})
            page.set_default_timeout(RENDER_TIMEOUT_S * 1000)
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.set_content(html, wait_until="load")
            try:
                page.wait_for_function("() => typeof Bokeh !== 'undefined' && Bokeh.documents.length > 0 "
                                       "&& Bokeh.index.roots.length > 0")
                page.evaluate(_IDLE)
            except Exception as err:
                raise RuntimeError(f"BokehJS did not render the figure within {RENDER_TIMEOUT_S:g} s"
                                   + (f"; page errors: {errors}" if errors else "")) from err
            if errors:
                raise RuntimeError(f"rendering the figure raised in the browser: {errors}")
            yield page
        finally:
            browser.close()


def save_png(fig, path, *, scale: float = 1.0) -> Path:
    """Render ``fig`` (a figure or layout) to a PNG file; returns the path.

    Parameters
    ----------
    fig : bokeh.models.LayoutDOM
    path : str or pathlib.Path
    scale : float
        Pixel scale factor, default 1.0 (2 for high-DPI output): the image is
        ``scale`` times the figure's size in CSS pixels.

    Raises
    ------
    RuntimeError
        If Playwright or Chromium is missing (the message says how to install them), or the
        figure does not render.
    """
    with _figure_page(fig, scale=scale) as page:
        x, y, width, height = page.evaluate(_BOX)
        if width < 1 or height < 1:
            raise RuntimeError(f"the figure rendered with an empty box ({width} x {height} CSS pixels)")
        page.set_viewport_size({"width": max(1600, math.ceil(x + width)), "height": max(1200, math.ceil(y + height))})
        page.evaluate(_IDLE)
        page.screenshot(path=str(path), clip={"x": x, "y": y, "width": width, "height": height}, type="png")
    return Path(path)


def save_svg(fig, path) -> Path:
    """Render ``fig`` (a figure or layout) to an SVG file; returns the path.

    Every plot of ``fig`` is drawn with Bokeh's SVG backend for the export (its
    ``output_backend`` is restored afterwards), and BokehJS serialises the figure's view.

    Parameters
    ----------
    fig : bokeh.models.LayoutDOM
    path : str or pathlib.Path

    Raises
    ------
    RuntimeError
        If Playwright or Chromium is missing, the figure does not render, or BokehJS cannot
        export this kind of figure as SVG (then use :func:`save_png`).
    """
    from bokeh.models import Plot

    plots = list(fig.select({"type": Plot}))
    backends = [plot.output_backend for plot in plots]
    try:
        for plot in plots:
            plot.output_backend = "svg"
        with _figure_page(fig) as page:
            svg = page.evaluate(_SVG)
    finally:
        for plot, backend in zip(plots, backends):
            plot.output_backend = backend
    if not svg:
        raise RuntimeError(f"BokehJS cannot export a {type(fig).__name__} as SVG; save it as PNG (save_png) instead")
    path = Path(path)
    path.write_text(svg, encoding="utf-8")
    return path
