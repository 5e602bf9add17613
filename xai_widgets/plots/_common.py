"""Colours, array coercion and notebook set-up shared by the plot builders."""

from __future__ import annotations

import numpy as np

from ..data.encoding import ALPHABET

#: The bases in one-hot row order (the package's one alphabet).
BASES = ALPHABET
BASE_COLORS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}
#: Blue (negative) to white to red (positive), for signed maps.
DIVERGING = ("#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b")

#: Kernel client sessions (browser pages) BokehJS was sent to; ``None`` outside a kernel.
_pages_with_bokehjs: set = set()


def _as_float_array(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)


def as_map(values, name: str = "values") -> np.ndarray:
    """A ``(4, L)`` float array from a tensor or array of shape ``(4, L)`` or ``(1, 4, L)``."""
    values = _as_float_array(values)
    if values.ndim == 3 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 2 or values.shape[0] != 4:
        raise ValueError(f"{name} must have shape (4, L) or (1, 4, L) (rows A, C, G, T); got {values.shape}. "
                         "Pick one sequence with values[i].")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return values


def as_track(values, name: str = "scores") -> np.ndarray:
    """A ``(L,)`` float array from a tensor or array of shape ``(L,)`` or ``(1, L)``."""
    values = _as_float_array(values)
    if values.ndim == 2 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 1:
        raise ValueError(f"{name} must have shape (L,) or (1, L); got {values.shape}")
    return values


def _frontend_session():
    """The session id of the browser page (kernel client) whose request is being handled, or
    ``None`` outside a kernel: a reloaded page is a new client with a new id."""
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:
        return None
    if not Kernel.initialized():
        return None
    parent = Kernel.instance().get_parent() or {}
    return parent.get("header", {}).get("session")


def setup_notebook() -> None:
    """Load BokehJS into the notebook from the installed package (INLINE).

    Without this, figures and ``BokehModel`` widgets render nothing; with Bokeh's default CDN
    resources they render nothing offline. Every call sends BokehJS, so a page reloaded and
    re-run gets it again (widgets call :func:`ensure_bokehjs`, which sends it once per page).
    """
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE

    output_notebook(INLINE, hide_banner=True)
    _send_render_guard()
    _pages_with_bokehjs.add(_frontend_session())


#: Run in the page after BokehJS: jupyter_bokeh 4 rebuilds a widget view (when its document is
#: re-sent) by clearing the document it may still be rendering, and BokehJS >= 3.8's
#: ``add_document_standalone`` then reads the cleared document's ``config`` and rejects
#: ("configuration is missing", an uncaught error in the page; the rebuilt view is fine). A
#: cleared document answers with an empty configuration instead. Idempotent.
RENDER_GUARD_JS = """
(function xwRenderGuard(tries) {
  const Bokeh = window.Bokeh;
  if (Bokeh == null || typeof Bokeh.require !== "function") {
    if (tries < 2400) setTimeout(() => xwRenderGuard(tries + 1), 25);
    return;
  }
  const {Document} = Bokeh.require("document");
  if (Document.prototype.xwRenderGuard) return;
  const config = Object.getOwnPropertyDescriptor(Document.prototype, "config");
  if (config == null || config.get == null) return;  // a BokehJS without document configuration
  Object.defineProperty(Document.prototype, "config", {
    configurable: true,
    get() { return this._config == null ? {notifications: null} : config.get.call(this); },
    set: config.set,
  });
  Document.prototype.xwRenderGuard = true;
})(0);
"""


def _send_render_guard() -> None:
    """Publish :data:`RENDER_GUARD_JS` the way Bokeh publishes its loader (in a kernel only)."""
    try:
        from IPython import get_ipython
        from IPython.display import publish_display_data
    except ImportError:
        return
    if get_ipython() is None:
        return
    from bokeh.io.notebook import JS_MIME_TYPE, LOAD_MIME_TYPE

    publish_display_data({JS_MIME_TYPE: RENDER_GUARD_JS, LOAD_MIME_TYPE: RENDER_GUARD_JS})


def bokeh_models_in(widget, cls=None) -> list:
    """The Bokeh widgets in an ipywidget tree: ``widget`` and every widget its traits hold
    (``children``, and any other widget-valued trait), depth first.

    Parameters
    ----------
    widget : ipywidgets.Widget
    cls : type, optional
        Default None: ``jupyter_bokeh.BokehModel`` (every Bokeh widget); a subclass to find only those.
    """
    from ipywidgets import Widget

    if cls is None:
        from jupyter_bokeh import BokehModel as cls
    seen, stack, found = set(), [widget], []
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        if isinstance(w, cls):
            found.append(w)
            continue
        for name in getattr(w, "keys", ()):
            value = getattr(w, name, None)
            if isinstance(value, Widget):
                stack.append(value)
            elif isinstance(value, (list, tuple)):
                stack.extend(v for v in value if isinstance(v, Widget))
    return found


def ensure_bokehjs() -> None:
    """:func:`setup_notebook` unless this browser page (kernel client session) already got BokehJS."""
    if _frontend_session() not in _pages_with_bokehjs:
        setup_notebook()


def show(obj) -> None:
    """Show a Bokeh figure or layout in the notebook (resources INLINE)."""
    from bokeh.io import show as bokeh_show

    ensure_bokehjs()
    bokeh_show(obj)
