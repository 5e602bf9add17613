"""Talk to the BokehJS documents a page renders: find plots, click them at data coordinates, read
their data sources and time a click -> kernel -> browser round trip."""

from __future__ import annotations

import re
import statistics
import time
from typing import Any

#: BokehJS turns a second tap within this many seconds into a ``DoubleTap``
#: (``UIGestures.doubletap_threshold`` is 300 ms), so :func:`click_bokeh`
#: spaces clicks on a plot at least this far apart.
BOKEH_TAP_INTERVAL = 0.35


# `window.Bokeh.index` (BokehJS 3.x) is a ViewManager wrapped in a Proxy: it is
# iterable over the root views, `index.roots` lists them, `index.all_views()`
# walks every view (roots and descendants), and `index[id]` gives the root view
# of model `id`.  jupyter_bokeh's BokehView renders through
# `embed.add_document_standalone`, which registers its root views there too.
# Older layouts (a plain {id: view} dict, views exposing `child_views`) are
# walked by hand.
_JS_BOKEH = r"""
const xwAllViews = () => {
  const B = window.Bokeh;
  if (B == null || B.index == null) return [];
  const idx = B.index;
  const seen = new Set();
  const walk = (v) => {
    if (v == null || seen.has(v)) return;
    seen.add(v);
    let kids = [];
    try {
      if (typeof v.children === "function") kids = [...v.children()];
      else if (v.child_views != null) {
        kids = Array.isArray(v.child_views) ? v.child_views : Object.values(v.child_views);
      }
    } catch (e) {}
    for (const k of kids) walk(k);
  };
  let roots;
  if (typeof idx.all_views === "function") {
    for (const v of idx.all_views()) walk(v);
    return [...seen];
  }
  if (Array.isArray(idx.roots)) roots = idx.roots;
  else if (typeof idx[Symbol.iterator] === "function") roots = [...idx];
  else roots = Object.values(idx);
  for (const v of roots) walk(v);
  return [...seen];
};
const xwVisible = (el) => {
  if (el == null || !el.isConnected) return false;
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0;
};
const xwCanvasEl = (view) => (view.canvas_view ?? view.canvas)?.el ?? view.el;
const xwPlotViews = (name) => xwAllViews().filter((v) =>
  v.model != null && v.model.name === name && v.frame != null && v.frame.x_scale != null);
const xwPlotView = (name) => {
  const views = xwPlotViews(name).filter((v) => xwVisible(xwCanvasEl(v)));
  return views.length > 0 ? views[views.length - 1] : null;
};
const xwRootView = (view) => { let v = view; while (v.parent != null) v = v.parent; return v; };
const xwDocuments = () => {
  const docs = [];
  const add = (d) => { if (d != null && !docs.includes(d)) docs.push(d); };
  for (const v of xwAllViews()) if (xwVisible(v.el)) add(v.model?.document);
  for (const d of (window.Bokeh?.documents ?? [])) add(d);
  return docs;
};
const xwFindModel = (name) => {
  const docs = xwDocuments();
  for (let i = docs.length - 1; i >= 0; i--) {
    const doc = docs[i];
    let found = null;
    try { found = doc.get_model_by_name(name); } catch (e) {
      const all = doc._all_models ?? doc.all_models;
      for (const m of (all?.values?.() ?? all ?? [])) if (m.name === name) found = m;
    }
    if (found != null) return found;
  }
  return null;
};
const xwColumn = (source, column) => {
  const data = source.data;
  const col = data instanceof Map ? data.get(column) : data?.[column];
  if (col == null) return null;
  return Array.from(col, (v) => (typeof v === "number" || typeof v === "string" || v == null) ? v : String(v));
};
const xwToPage = (name, x, y) => {
  const view = xwPlotView(name);
  if (view == null) {
    const n = xwPlotViews(name).length;
    throw new Error(`no rendered Bokeh plot named ${JSON.stringify(name)} (${n} hidden views; `
                    + `${xwAllViews().length} views in Bokeh.index)`);
  }
  const sx = view.frame.x_scale.compute(x);
  const sy = view.frame.y_scale.compute(y);
  const bbox = view.frame.bbox;
  const inside = bbox == null || (sx >= bbox.left && sx <= bbox.right && sy >= bbox.top && sy <= bbox.bottom);
  if (!inside) throw new Error(`data point (${x}, ${y}) is outside the frame of plot ${JSON.stringify(name)}`);
  const el = xwCanvasEl(view);
  let r = el.getBoundingClientRect();
  let px = r.left + sx, py = r.top + sy;
  if (px < 0 || py < 0 || px >= window.innerWidth || py >= window.innerHeight) {
    el.scrollIntoView({block: "center", inline: "center"});
    r = el.getBoundingClientRect();
    px = r.left + sx; py = r.top + sy;
  }
  const hit = document.elementFromPoint(px, py);
  const root = xwRootView(view).el;
  const onPlot = hit != null && (hit === root || root.contains(hit));
  return {px, py, onPlot, hit: hit == null ? null : `${hit.tagName}.${hit.className}`};
};
"""


def wait_for_bokeh_plot(page: Any, figure_name: str, *, timeout: float = 30) -> None:
    """Wait until a Bokeh plot whose model ``name`` is ``figure_name`` is rendered with a non-empty canvas.

    Parameters
    ----------
    page : playwright.sync_api.Page
    figure_name : str
        ``figure(name=...)`` given in Python.
    timeout : float
        Seconds to wait.
    """
    page.wait_for_function(
        "(name) => {" + _JS_BOKEH + """
          const v = xwPlotView(name);
          return v != null && v.frame.bbox != null && v.frame.bbox.width > 0
                 && (v.is_idle === undefined || v.is_idle);
        }""",
        arg=figure_name,
        timeout=timeout * 1000,
        polling=100,
    )


def bokeh_data_to_page(page: Any, figure_name: str, x: float, y: float) -> tuple[float, float]:
    """Convert data coordinates of a rendered Bokeh plot to page (viewport) pixels.

    Uses the plot view's frame scales (``view.frame.x_scale.compute``) and the
    canvas' bounding rectangle; scrolls the plot into view if the point is
    outside the viewport.

    Parameters
    ----------
    page : playwright.sync_api.Page
    figure_name : str
        ``name`` of the figure model; the last visible view of it is used.
    x, y : float
        Data coordinates; must lie inside the plot frame.

    Returns
    -------
    (float, float)
        CSS pixel coordinates, for ``page.mouse``.

    Raises
    ------
    RuntimeError
        If the plot is not found, the point lies outside its frame, or the
        point is covered by another element.
    """
    try:
        res = page.evaluate("([name, x, y]) => {" + _JS_BOKEH + "return xwToPage(name, x, y); }", [figure_name, x, y])
    except Exception as exc:  # playwright.Error; keep the JS message
        raise RuntimeError(re.sub(r"^.*?Error: ", "", str(exc).splitlines()[0])) from exc
    if not res["onPlot"]:
        raise RuntimeError(f"point ({x}, {y}) of plot {figure_name!r} is covered by {res['hit']}")
    return res["px"], res["py"]


def click_bokeh(page: Any, figure_name: str, x: float, y: float, *, min_interval: float = BOKEH_TAP_INTERVAL) -> None:
    """Click a Bokeh plot at data coordinates ``(x, y)``.

    Clicks on the same page are spaced at least ``min_interval`` seconds apart,
    since BokehJS reports a second click within 300 ms as a ``DoubleTap``
    instead of a ``Tap``.

    Parameters
    ----------
    page : playwright.sync_api.Page
    figure_name : str
        ``name`` of the figure model.
    x, y : float
        Data coordinates.
    min_interval : float
        Minimum seconds since the previous :func:`click_bokeh` on this page.
    """
    px, py = bokeh_data_to_page(page, figure_name, x, y)
    last = getattr(page, "_xw_last_click", None)
    if last is not None:
        wait = min_interval - (time.monotonic() - last)
        if wait > 0:
            time.sleep(wait)
    page.mouse.click(px, py)
    page._xw_last_click = time.monotonic()


def bokeh_source_data(page: Any, source_name: str, column: str) -> list:
    """Read a column of a named ``ColumnDataSource`` from the browser-side Bokeh document.

    Parameters
    ----------
    page : playwright.sync_api.Page
    source_name : str
        ``ColumnDataSource(name=...)`` given in Python.
    column : str
        Column name.

    Returns
    -------
    list
        The column's values (typed arrays become lists).

    Raises
    ------
    KeyError
        If no document holds such a source, or it lacks the column.
    """
    res = page.evaluate(
        "([name, column]) => {" + _JS_BOKEH + """
          const src = xwFindModel(name);
          if (src == null) return {error: `no Bokeh model named ${JSON.stringify(name)}`};
          const col = xwColumn(src, column);
          if (col == null) return {error: `${JSON.stringify(name)} has no column ${JSON.stringify(column)}`};
          return {values: col};
        }""",
        [source_name, column],
    )
    if "error" in res:
        raise KeyError(res["error"])
    return res["values"]


def measure_round_trip_ms(
    page: Any,
    figure_name: str,
    source_name: str,
    x: float,
    y: float,
    *,
    repeats: int = 10,
    jitter: float = 0.0,
    timeout: float = 30,
    samples: list[float] | None = None,
) -> float:
    """Median time from a click on a Bokeh plot to the redrawn browser-side source.

    For each repeat, the page records ``performance.now()`` in a capturing
    ``pointerdown`` listener, Playwright clicks the plot at ``(x, y)`` (plus
    ``jitter`` data units on alternating sides, if given), and the timer stops
    in the first animation frame after the named source changes (its
    ``change``, ``streaming`` or ``patching`` signal).  BokehJS schedules its
    repaint when the source changes, before that frame callback, so the time
    includes the kernel round trip, the patch and the canvas render.

    Parameters
    ----------
    page : playwright.sync_api.Page
    figure_name : str
        ``name`` of the figure to click.
    source_name : str
        ``name`` of the ``ColumnDataSource`` the kernel updates on each click.
    x, y : float
        Data coordinates to click.
    repeats : int
        Number of clicks.
    jitter : float
        Offset in data units, alternately added and subtracted, so that repeat
        clicks do not land on the same point.
    timeout : float
        Seconds to wait for each update.
    samples : list, optional
        If given, every round trip (ms) is appended to it.

    Returns
    -------
    float
        Median round trip, in milliseconds.
    """
    samples = [] if samples is None else samples
    start = len(samples)
    for i in range(repeats):
        dx = jitter * (1 if i % 2 == 0 else -1) * ((i // 2) % 3 + 1) / 3 if jitter else 0.0
        px, py = bokeh_data_to_page(page, figure_name, x + dx, y)
        armed = page.evaluate(
            "([name, timeout]) => {" + _JS_BOKEH + """
              const src = xwFindModel(name);
              if (src == null) return `no Bokeh model named ${JSON.stringify(name)}`;
              const state = {t0: null};
              window.addEventListener("pointerdown", (ev) => { state.t0 = performance.now(); },
                                      {capture: true, once: true});
              window.__xwRoundTrip = new Promise((resolve, reject) => {
                const signals = [src.change, src.streaming, src.patching].filter((s) => s != null);
                const timer = setTimeout(() => { done(); reject(new Error("no source change")); }, timeout * 1000);
                const done = () => { clearTimeout(timer); for (const s of signals) s.disconnect(slot, state); };
                const slot = () => {
                  if (state.t0 == null) return;  // not ours: before the click
                  done();
                  requestAnimationFrame(() => resolve(performance.now() - state.t0));
                };
                for (const s of signals) s.connect(slot, state);
              });
              window.__xwRoundTrip.catch(() => {});
              return null;
            }""",
            [source_name, timeout],
        )
        if armed is not None:
            raise KeyError(armed)
        last = getattr(page, "_xw_last_click", None)
        if last is not None and time.monotonic() - last < BOKEH_TAP_INTERVAL:
            time.sleep(BOKEH_TAP_INTERVAL - (time.monotonic() - last))
        page.mouse.click(px, py)
        page._xw_last_click = time.monotonic()
        samples.append(page.evaluate("() => window.__xwRoundTrip"))
    return statistics.median(samples[start:])
