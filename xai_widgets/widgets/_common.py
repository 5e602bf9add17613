"""Pieces every widget shares: input coercion and Bokeh hosting."""

from __future__ import annotations

import json
import threading
import time
import weakref
from contextlib import contextmanager
from functools import cache

import numpy as np
import torch

from ..contract import output_names
from ..data.encoding import check_one_hot, one_hot
from ..plots import bokeh_models_in


def as_sequence(sequence) -> torch.Tensor:
    """One sequence as a one-hot ``(1, 4, L)`` float tensor, from a string or a tensor.

    Parameters
    ----------
    sequence : str or torch.Tensor, shape (4, L) or (1, 4, L)
    """
    if isinstance(sequence, str):
        return one_hot(sequence)
    if not isinstance(sequence, torch.Tensor):
        raise TypeError(f"sequence must be a string or a one-hot tensor (4, L); got {type(sequence).__name__}")
    X = sequence[None] if sequence.ndim == 2 else sequence
    if X.ndim != 3 or X.shape[0] != 1:
        raise ValueError(f"pass one sequence: shape (4, L) or (1, 4, L); got {tuple(sequence.shape)}")
    return check_one_hot(X.detach().float().cpu().clone())


def target_options(model, n_outputs: int, target_names=None) -> list[tuple[str, int]]:
    """``(label, index)`` pairs for a target dropdown, labelled ``"t: name"``: the names given, else
    the model's (:func:`xai_widgets.contract.output_names`), else ``output t``."""
    if target_names is None:
        target_names = output_names(model)
    if target_names is None or len(target_names) != n_outputs:
        target_names = [f"output {t}" for t in range(n_outputs)]
    return [(f"{t}: {name}", t) for t, name in enumerate(target_names)]


def update_source(source, data: dict, max_patched_rows: int = 64) -> None:
    """Send only what changed: patch a few rows, replace changed columns, or assign everything.

    When ``data`` has the same columns and length as ``source.data``, columns that are equal
    are skipped, columns with at most ``max_patched_rows`` changed rows are patched, and the
    rest are replaced together in one update; otherwise ``source.data`` is assigned whole.
    A click then sends a few numbers to the browser instead of every column.
    """
    current = source.data
    lengths = {len(v) for v in current.values()}
    if set(current) != set(data) or lengths != {len(v) for v in data.values()}:
        source.data = data
        return
    patches, replaced = {}, {}
    for key, new in data.items():
        old, new_array = np.asarray(current[key]), np.asarray(new)
        changed = np.flatnonzero(old != new_array)
        if not len(changed):
            continue
        if len(changed) <= max_patched_rows:
            patches[key] = [(int(i), new_array[i].item()) for i in changed]
        else:
            replaced[key] = new
    if replaced:
        source.data.update(replaced)
    if patches:
        source.patch(patches)


def bokeh_widget(layout):
    """Wrap a Bokeh layout as an ipywidget (BokehJS loaded INLINE first); see :class:`BatchedBokehModel`."""
    from ..plots import ensure_bokehjs

    ensure_bokehjs()
    return _batched_bokeh_model_class()(layout)


def kernel_io_loop():
    """The running IPython kernel's event loop (its main thread), or ``None`` outside a kernel.

    ``io_loop.add_callback(f)`` is the thread-safe way for a worker thread to have ``f`` run on
    the kernel's thread, where widget and Bokeh state may be written.
    """
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:
        return None
    if not Kernel.initialized():
        return None
    return getattr(Kernel.instance(), "io_loop", None)


def _is_kernel_thread(owner: int) -> bool:
    """Whether the current thread may change widget state: the thread that created the widget,
    the main thread, or an ipykernel subshell thread (which runs widget callbacks when the
    frontend sends comm messages to a subshell)."""
    current = threading.current_thread()
    if current.ident == owner or current is threading.main_thread():
        return True
    try:
        from ipykernel.subshell import SubshellThread
    except ImportError:
        return False
    return isinstance(current, SubshellThread)


def _current_render_bundle(value, widget) -> str:
    """``render_bundle`` as sent to the browser: the document as it is now, not as it was created."""
    from bokeh.core.json_encoder import serialize_json

    model = getattr(widget, "_model", None)
    return serialize_json(value if model is None else widget._model_to_traits(model))


_live_models = weakref.WeakSet()

#: After a widget is displayed, changes sent within this many seconds may reach the browser
#: before its new view listens (JupyterLab creates views asynchronously): they are followed by
#: one re-send of the whole document (:meth:`BatchedBokehModel.sync_views`).
HEAL_WINDOW = 15.0
#: ... once the document has been quiet this long (seconds), so that a burst of changes (the
#: flipper's deferred steps, a sweep's blocks) costs one redraw, not one each.
HEAL_QUIET = 1.0


def sync_views() -> None:
    """Send the current document to every BatchedBokehModel whose browser model lags behind.

    Every live view then redraws from it. Displays do this by themselves (a display of any
    ipywidget syncs the Bokeh widgets inside it first, see :func:`_register_display_sync`);
    call this after building a view in a way IPython's display does not see (e.g. adding the
    widget to the ``children`` of a container already on screen).
    """
    for model in list(_live_models):
        model.sync_views()


def _widget_mimebundle(widget):
    """IPython's mimebundle printer for every ipywidget: the Bokeh widgets inside it send their
    current document (if theirs lags behind) before the display message that creates the views."""
    for model in bokeh_models_in(widget, _batched_bokeh_model_class()):
        model._before_display()
    return widget._repr_mimebundle_()


def _register_display_sync() -> None:
    """Have IPython call :func:`_widget_mimebundle` for every ipywidget it displays (``display``
    and a cell's last expression both go through its mimebundle formatter)."""
    try:
        from IPython import get_ipython
        from ipywidgets import Widget
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.mimebundle_formatter
    if formatter.type_printers.get(Widget) is not _widget_mimebundle:
        formatter.for_type(Widget, _widget_mimebundle)


@cache
def _batched_bokeh_model_class():
    from bokeh.protocol import Protocol
    from jupyter_bokeh import BokehModel
    from traitlets import Dict

    class BatchedBokehModel(BokehModel):
        """A ``jupyter_bokeh.BokehModel`` whose every browser view shows the current document.

        ``jupyter_bokeh`` sends a document change only to the views alive at that moment, and a
        view created later (a second display, a reloaded page) renders from ``render_bundle``,
        which it sets once, at creation. Here:

        - ``render_bundle`` is serialised from the document *as it is now* whenever the state
          is sent (a reloaded page requests it from the kernel);
        - :meth:`sync_views` sends it when the browser's model lags behind; it runs when this
          widget, or any ipywidget holding it, is displayed (before the display message), and
          once more :data:`HEAL_QUIET` seconds after the last change sent within
          :data:`HEAL_WINDOW` seconds of a display (such a change may reach the browser while
          the new view is being created, before it listens). Every live view then rebuilds
          itself from it (that is jupyter_bokeh's view code; a rebuilt view keeps sending
          clicks). It is not sent after every cell or click: a rebuild is a visible redraw, and
          jupyter_bokeh's view rebuilds by clearing the document it may still be rendering;
        - inside ``with model.batched():`` changes are collected and sent as one ``PATCH-DOC``
          message on exit, so BokehJS applies them together and redraws once;
        - changes may come from the kernel's threads only: the main thread (cells) and the
          subshell threads that run widget callbacks (JupyterLab 4.4+ with ipykernel 7 sends
          comm messages to a subshell, so a click is handled concurrently with a running cell);
          a change from any other thread raises ``RuntimeError``. A lock makes ``batched``
          blocks and each message's parts (jupyter_bokeh sends one PATCH-DOC as several comm
          messages) atomic across those threads.
        """

        render_bundle = Dict().tag(sync=True, to_json=_current_render_bundle)
        _pending = None
        _views_behind = False
        _closed = False
        _displayed_at = -float("inf")  # time.monotonic() of the last display
        _heal = None  # the pending re-send after a display (a timeout handle on the kernel's loop)

        def __init__(self, model, **kwargs):
            self._owner_thread = threading.get_ident()
            self._lock = threading.RLock()
            self._forwarded = {}  # source id: the data last forwarded from one view to all
            super().__init__(model, **kwargs)
            _live_models.add(self)
            _register_display_sync()

        def close(self) -> None:
            if self._closed:  # ipywidgets closes again on garbage collection; jupyter_bokeh would raise
                return
            self._closed = True
            _live_models.discard(self)
            super().close()

        def sync_views(self) -> None:
            """Send the whole current document to the browser if some change may not have reached
            every view (all views then redraw from it)."""
            with self._lock:
                if self._views_behind and self.comm is not None:
                    self._views_behind = False
                    self.send_state("render_bundle")

        def _repr_mimebundle_(self, **kwargs):
            self._before_display()
            return super()._repr_mimebundle_(**kwargs)

        def _before_display(self) -> None:
            """A view is about to be created: send the current document now, and heal after it."""
            self.sync_views()
            self._displayed_at = time.monotonic()

        def _schedule_heal(self) -> None:
            """On the kernel's loop: (re)arm one :meth:`sync_views` :data:`HEAL_QUIET` seconds from now."""
            loop = kernel_io_loop()
            if loop is None or self._closed:
                return

            def rearm():
                if self._heal is not None:
                    loop.remove_timeout(self._heal)
                self._heal = loop.call_later(HEAL_QUIET, heal)

            def heal():
                self._heal = None
                self.sync_views()

            loop.add_callback(rearm)  # from any kernel thread; the loop's own thread arms it

        @contextmanager
        def batched(self):
            with self._lock:
                outer, self._pending = self._pending, [] if self._pending is None else self._pending
                try:
                    yield
                finally:
                    if outer is None:  # the outermost block sends
                        events, self._pending = self._pending, None
                        if events:
                            self._send_patch(events)

        def _document_patched(self, event) -> None:
            if event.setter is self:  # came from one browser view
                self._forward_to_views(event)
                return
            if not _is_kernel_thread(self._owner_thread):
                # Bokeh's patch_curdoc (around this callback) pops its entry only when the callback
                # returns; pop it here, or curdoc() fails for the rest of the process
                from bokeh.io import doc as bokeh_doc

                if bokeh_doc._PATCHED_CURDOCS and bokeh_doc._PATCHED_CURDOCS[-1]() is self._document:
                    bokeh_doc._PATCHED_CURDOCS.pop()
                raise RuntimeError(
                    "a Bokeh widget's document was changed from a background thread; change it only on "
                    "the kernel's thread (hand results over with kernel_io_loop().add_callback)")
            with self._lock:
                if self._pending is not None:
                    self._pending.append(event)
                else:
                    self._send_patch([event])

        def _forward_to_views(self, event) -> None:
            """A data source changed in one view (a CustomJS callback, e.g. a hover highlight): send it
            to every view, so that all show what Python now holds. Only data sources: ranges and
            sizes are each view's own. The same value is not forwarded twice in a row, so the views'
            echoes of it end the exchange."""
            from bokeh.core.json_encoder import serialize_json
            from bokeh.document.events import ColumnsPatchedEvent, ColumnsStreamedEvent, ModelChangedEvent
            from bokeh.models import ColumnDataSource

            model = getattr(event, "model", None)
            if not isinstance(model, ColumnDataSource):
                return
            if isinstance(event, ModelChangedEvent) and event.attr != "data":
                return
            if not isinstance(event, (ModelChangedEvent, ColumnsPatchedEvent, ColumnsStreamedEvent)):
                return
            value = serialize_json(dict(model.data))
            with self._lock:
                if self._forwarded.get(model.id) == value:
                    return
                self._forwarded[model.id] = value
                event.setter = None
                self._send_patch([event])

        def _send_patch(self, events) -> None:
            with self._lock:  # the parts of one message must not interleave with another's
                # views alive now get the events; the browser model's render_bundle does not
                self._views_behind = True
                # the message layout of jupyter_bokeh 4 (header, metadata, content, then each buffer)
                msg = Protocol().create("PATCH-DOC", events)
                for part in (msg.header_json, msg.metadata_json, msg.content_json):
                    self.send({"msg": "patch", "payload": part})
                for buffer in msg.buffers:
                    self.send({"msg": "patch", "payload": json.dumps(buffer.ref)})
                    self.send({"msg": "patch"}, [buffer.to_bytes()])
            if time.monotonic() - self._displayed_at < HEAL_WINDOW:
                self._schedule_heal()

    return BatchedBokehModel
