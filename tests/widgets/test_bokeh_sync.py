"""BatchedBokehModel: a view created later renders the current document, not the creation-time one;
the browser model is re-sent only when it lags behind, before a display (also of a container holding
the widget) and once after the changes that follow a display; a background thread may not change it,
a kernel subshell thread may."""

import json
import threading
from contextlib import contextmanager

import pytest
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from xai_widgets.widgets import _common
from xai_widgets.widgets._common import bokeh_widget, sync_views, update_source


class Sent:
    """Records the comm messages a widget sends (instead of a kernel)."""

    def __init__(self, widget):
        self.messages = []
        widget._send = lambda msg, buffers=None: self.messages.append(msg)

    def states(self):
        return [m["state"] for m in self.messages if m.get("method") == "update"]

    def patches(self):
        return [m["content"] for m in self.messages
                if m.get("method") == "custom" and m["content"].get("msg") == "patch"]


def bundle_data(state: str, source_id: str) -> dict:
    """The source's columns as a render_bundle (what a new view renders) holds them."""
    (doc,) = json.loads(state)["docs_json"].values()
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("id") == source_id and node.get("name") == "ColumnDataSource":
                found.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    (source,) = [f for f in found if "attributes" in f]
    entries = source["attributes"]["data"]["entries"]
    return {k: v["array"] if isinstance(v, dict) and "array" in v else v for k, v in entries}


@pytest.fixture
def widget():
    source = ColumnDataSource({"x": [0, 1, 2], "y": [5, 6, 7]}, name="s")
    p = figure()
    p.scatter("x", "y", source=source)
    w = bokeh_widget(p)
    yield w, source
    w.close()


def test_a_new_view_gets_the_current_document(widget):
    w, source = widget
    update_source(source, {"x": [0, 1, 2], "y": [5, 60, 7]})
    update_source(source, {"x": [0, 1, 2, 3], "y": [1, 2, 3, 4]})
    state = w.get_state("render_bundle")["render_bundle"]  # what a reloaded page requests
    assert bundle_data(state, source.id) == {"x": [0, 1, 2, 3], "y": [1, 2, 3, 4]}


def test_lagging_browser_model_is_resent_once(widget):
    w, source = widget
    sent = Sent(w)
    sync_views()
    assert sent.messages == []  # nothing changed since creation: nothing to send
    with w.batched():
        update_source(source, {"x": [0, 1, 2], "y": [5, 6, 70]})
    assert len(sent.patches()) >= 3 and sent.states() == []  # live views get the patch
    sync_views()  # a view created now must not show the old data
    (state,) = sent.states()
    assert bundle_data(state["render_bundle"], source.id)["y"] == [5, 6, 70]
    sync_views()
    w._repr_mimebundle_()
    assert len(sent.states()) == 1  # up to date: not sent again


def test_display_sends_the_current_document_first(widget):
    w, source = widget
    sent = Sent(w)
    update_source(source, {"x": [3], "y": [4]})
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    (state,) = sent.states()
    assert bundle_data(state["render_bundle"], source.id) == {"x": [3], "y": [4]}


def test_displaying_a_container_sends_the_current_document_first(widget):
    import ipywidgets as ipw

    w, source = widget
    sent = Sent(w)
    update_source(source, {"x": [8], "y": [9]})
    box = ipw.VBox([ipw.HBox([ipw.HTML("readout")]), ipw.VBox([w])])  # the widget two levels down
    bundle = _common._widget_mimebundle(box)  # what IPython calls for any ipywidget it displays
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    (state,) = sent.states()
    assert bundle_data(state["render_bundle"], source.id) == {"x": [8], "y": [9]}
    _common._widget_mimebundle(box)
    assert len(sent.states()) == 1  # displayed again unchanged: nothing to send


def test_ipython_displays_of_any_widget_go_through_the_sync(widget, monkeypatch):
    import types

    import IPython
    import ipywidgets as ipw
    from IPython.core.formatters import DisplayFormatter

    w, source = widget
    shell = types.SimpleNamespace(display_formatter=DisplayFormatter())  # IPython's, without a shell
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    _common._register_display_sync()
    _common._register_display_sync()  # once only
    assert shell.display_formatter.mimebundle_formatter.type_printers[ipw.Widget] is _common._widget_mimebundle
    sent = Sent(w)
    update_source(source, {"x": [1, 2], "y": [3, 4]})
    data, _ = shell.display_formatter.format(ipw.VBox([w]))  # how display() and a cell's value are formatted
    assert "application/vnd.jupyter.widget-view+json" in data
    (state,) = sent.states()
    assert bundle_data(state["render_bundle"], source.id) == {"x": [1, 2], "y": [3, 4]}


class FakeLoop:
    """A kernel event loop that runs callbacks when told to."""

    def __init__(self):
        self.callbacks, self.timeouts, self.now = [], {}, 0.0

    def add_callback(self, f, *args):
        self.callbacks.append((f, args))

    def call_later(self, delay, f):
        handle = object()
        self.timeouts[handle] = (self.now + delay, f)
        return handle

    def remove_timeout(self, handle):
        self.timeouts.pop(handle, None)

    def run(self, seconds):
        while self.callbacks:
            f, args = self.callbacks.pop(0)
            f(*args)
        self.now += seconds
        for handle, (when, f) in sorted(self.timeouts.items(), key=lambda item: item[1][0]):
            if when <= self.now:
                del self.timeouts[handle]
                f()


def test_changes_right_after_a_display_are_followed_by_one_resend_when_quiet(widget, monkeypatch):
    w, source = widget
    loop = FakeLoop()
    monkeypatch.setattr(_common, "kernel_io_loop", lambda: loop)
    sent = Sent(w)
    w._repr_mimebundle_()  # displayed: a view is being created in the browser
    assert sent.states() == []  # nothing had changed
    for y in (10, 20, 30):  # e.g. the flipper's deferred steps, each may reach no view yet
        update_source(source, {"x": [0, 1, 2], "y": [5, 6, y]})
        loop.run(_common.HEAL_QUIET / 2)
    assert sent.states() == []  # still changing: the re-send waits
    loop.run(_common.HEAL_QUIET)
    (state,) = sent.states()  # one re-send, of the final document
    assert bundle_data(state["render_bundle"], source.id)["y"] == [5, 6, 30]
    loop.run(10 * _common.HEAL_QUIET)
    assert len(sent.states()) == 1


def test_changes_long_after_a_display_are_patches_only(widget, monkeypatch):
    w, source = widget
    loop = FakeLoop()
    monkeypatch.setattr(_common, "kernel_io_loop", lambda: loop)
    sent = Sent(w)
    w._repr_mimebundle_()
    monkeypatch.setattr(w, "_displayed_at", w._displayed_at - _common.HEAL_WINDOW - 1)  # a click, later
    update_source(source, {"x": [0, 1, 2], "y": [5, 6, 99]})
    loop.run(10 * _common.HEAL_QUIET)
    assert sent.patches() and sent.states() == []  # the live views got it; no redraw of every view


def test_a_change_from_another_thread_is_refused(widget):
    w, source = widget
    Sent(w)
    errors = []

    def change():
        try:
            source.data = {"x": [1], "y": [1]}
        except RuntimeError as error:
            errors.append(str(error))

    thread = threading.Thread(target=change)
    thread.start()
    thread.join()
    assert len(errors) == 1 and "background thread" in errors[0]


def test_update_source_keeps_columns_the_same_length(widget):
    w, source = widget
    lengths = []
    source.on_change("data", lambda attr, old, new: lengths.append({len(v) for v in source.data.values()}))
    update_source(source, {"x": [0, 1, 2, 3, 4], "y": [1, 2, 3, 4, 5]})
    update_source(source, {"x": [0, 1, 2, 3, 4], "y": [1, 2, 30, 4, 5]})
    assert lengths and all(len(s) == 1 for s in lengths)
    assert dict(source.data) == {"x": [0, 1, 2, 3, 4], "y": [1, 2, 30, 4, 5]}


@contextmanager
def subshell_thread(target):
    """An ipykernel subshell thread (where JupyterLab 4.4+ has widget clicks handled) running ``target``."""
    import zmq
    from ipykernel.subshell import SubshellThread

    context = zmq.Context()
    thread = SubshellThread("test", context)
    thread.run = target
    try:
        yield thread
    finally:
        thread.join()
        thread.shell_channel_to_subshell.close()
        thread.subshell_to_shell_channel.close()
        context.term()


def test_a_change_from_a_kernel_subshell_thread_is_sent(widget):
    w, source = widget
    sent = Sent(w)
    errors = []

    def change():
        try:
            update_source(source, {"x": [0, 1, 2], "y": [5, 6, 8]})
        except RuntimeError as error:
            errors.append(error)

    with subshell_thread(change) as thread:
        thread.start()
    assert errors == [] and len(sent.patches()) >= 3


def test_a_batched_block_is_not_interleaved_with_another_threads_change(widget):
    w, source = widget
    sent = Sent(w)
    started = threading.Event()

    def click_handler():  # on a subshell thread, while the main thread is inside a batched block
        started.set()
        update_source(source, {"x": [0, 1, 2], "y": [2, 2, 2]})

    with subshell_thread(click_handler) as thread:
        with w.batched():
            update_source(source, {"x": [0, 1, 2], "y": [1, 1, 1]})
            thread.start()
            started.wait()
            thread.join(0.5)
            assert thread.is_alive() and sent.messages == []  # the handler waits for the block to end
    contents = [json.loads(p["payload"]) for p in sent.patches() if "payload" in p]
    events = [c["events"] for c in contents if isinstance(c, dict) and "events" in c]
    assert len(events) == 2  # two whole messages, one after the other
    assert list(source.data["y"]) == [2, 2, 2]


def test_a_data_change_from_one_view_is_sent_to_every_view_once(widget):
    """A CustomJS callback in one view changed a source: the other views must show it too."""
    w, source = widget
    sent = Sent(w)
    change = {"event": "jsevent", "kind": "ModelChanged", "model": {"id": source.id}, "attr": "data",
              "new": {"type": "map", "entries": [["x", [9]], ["y", [8]]]}}
    w._sync_model(w, dict(change), [])
    assert dict(source.data) == {"x": [9], "y": [8]}
    contents = [json.loads(p["payload"]) for p in sent.patches() if "payload" in p]
    (events,) = [c["events"] for c in contents if isinstance(c, dict) and "events" in c]
    assert events[0]["model"]["id"] == source.id
    n = len(sent.messages)
    w._sync_model(w, dict(change), [])  # the views' echo of it: not sent again
    assert len(sent.messages) == n
