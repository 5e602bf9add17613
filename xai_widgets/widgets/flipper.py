"""NucleotideFlipper: edit a sequence base by base and watch the prediction and attribution change.

The view of :class:`~xai_widgets.widgets.core.FlipperCore`, which holds the state."""

from __future__ import annotations

import functools
import html
import threading
import time
from contextlib import nullcontext

import ipywidgets as ipw
import numpy as np
import traitlets
from torch import nn

from ..contract import card
from ..data import one_hot
from ..methods import get_method
from ..plots import (
    add_instance_boxes,
    heatmap_data,
    history_data,
    history_figure,
    instance_data,
    ism_heatmap_figure,
    logo_data,
    logo_figure,
    output_unit,
    readout_html,
    sequence_figure,
    set_heatmap_scale,
    symmetric_limit,
)
from ._common import as_sequence, bokeh_widget, kernel_io_loop, target_options, update_source
from .core import FlipperCore, FlipperState

__all__ = ["FlipperState", "NucleotideFlipper"]

#: What the ISM heatmap's colours show, and what fixes their scale (its colour bar says both).
HEATMAP_LABEL, HEATMAP_SCALE = "ISM: change in the output if that base is substituted", "the starting sequence"


def _locked(method):
    """Run ``method`` holding the widget's lock (edits and deferred chunks do not interleave);
    while it waits for the lock, :attr:`NucleotideFlipper._waiting` says so, and deferred chunks
    step aside (a released lock is not handed over: the event loop would take it again first)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._waiting_lock:
            self._waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._waiting_lock:
                self._waiting -= 1
        try:
            return method(self, *args, **kwargs)
        finally:
            self._lock.release()

    return wrapper


class _FromCore:
    """A read-only attribute of the view that is its core's: defined (and documented) once, in
    :class:`~xai_widgets.widgets.core.FlipperCore`."""

    def __init__(self, name: str, doc: str | None = None):
        self.name = name
        self.__doc__ = doc or getattr(FlipperCore, name).__doc__

    def __get__(self, view, owner=None):
        return self if view is None else getattr(view.core, self.name)

    def __set__(self, view, value):
        raise AttributeError(f"{self.name} is the core's state: change it through the view's methods and traitlets")


def _edit_of_core(name: str):
    """The view's ``name``: :class:`~xai_widgets.widgets.core.FlipperCore`'s method of that name
    (its signature, docstring and return value), run holding the view's lock, then the view
    redrawn unless the core returned False (no edit)."""
    core_method = getattr(FlipperCore, name)

    @functools.wraps(core_method)
    def method(self, *args, **kwargs):
        result = core_method(self.core, *args, **kwargs)
        if result is not False:
            self._show_sequence()
        return result

    method.__qualname__ = f"NucleotideFlipper.{name}"
    return _locked(method)


class NucleotideFlipper(ipw.VBox):
    """Click bases to edit a sequence; prediction, attribution logo and ISM heatmap follow.

    Clicking a letter of the sequence track turns it into the next base (A>C>G>T>A); clicking a
    heatmap cell substitutes that cell's base at that position. Every edit is recomputed (ISM by
    the fast incremental path where the model allows) and redrawn: the edited sequence and the
    prediction first, then, when the figures show at most half the sequence
    (:meth:`visible_span`), the ISM heatmap and logo of the visible window, then the rest. In a
    kernel the rest is computed in deferred steps (:attr:`defer`, :attr:`rest_delay`,
    :attr:`chunk_seconds`, :attr:`flush_seconds`) that a new click interrupts; reading
    :attr:`ism` or :attr:`attribution` completes them at once. Python state is the truth:
    :attr:`X`, :attr:`sequence`, :attr:`history`, :attr:`ism` and :attr:`attribution` (kept by
    :attr:`core`, a :class:`~xai_widgets.widgets.core.FlipperCore`).

    Settable state is in traitlets (``observe`` and ``link`` work on each): :attr:`sequence`
    (setting it is one edit), :attr:`target`, :attr:`method` and :attr:`span` (the knock-out and
    restore span).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    sequence : str or torch.Tensor, shape (4, L) or (1, 4, L)
    target : int or str, optional
        Output to explain (index, or name for models with output names); default None: the
        model's only output (a multi-output model raises ``ValueError``: pass ``target=``).
    method : str, optional
        Attribution shown as the logo; default ``"ism"``. An interactive method of the registry
        (:func:`xai_widgets.methods.method_names`) that applies to the model: the menu offers
        :attr:`available_methods`, a method you register appears there too.
    instances : iterable of tuple, optional
        Motif instances ``(name, start, end[, strand])`` to mark, e.g.
        ``task.instances.for_sequence(i)``; default ``()``: none.
    target_names : list of str, optional
        Labels for the target dropdown; default None: the model's output names
        (:func:`xai_widgets.contract.output_names`: its ``output_names``, else a zoo card's), else
        ``output i``.
    window : int, optional
        Positions visible at first (centred on the first instance, if any), default 100; zoom
        with the mouse wheel, pan by dragging.
    method_options : dict, optional
        Keyword arguments per method, e.g. ``{"integrated_gradients": {"n_steps": 32}}``, each
        replacing that method's interactive defaults (the registry's
        :attr:`~xai_widgets.methods.AttributionMethod.defaults`); default None.
    batch_size : int, optional
        Batch size of the computations; default None: the memory rule.
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available.
    random_state : int, optional
        Seed of the knock-out shuffles; default 0.
    width : int, optional
        Pixels; default 900.

    Examples
    --------
    >>> flipper = NucleotideFlipper(zoo.load("basset_exp_motif_presence"), "ACGT" * 50, target=1)  # doctest: +SKIP
    >>> flipper.edit(10, "G"); flipper.prediction                                        # doctest: +SKIP
    """

    sequence = traitlets.Unicode()
    target = traitlets.Union([traitlets.Int(), traitlets.Unicode()])  # a name becomes its index
    method = traitlets.Unicode("ism")
    span = traitlets.Tuple(traitlets.Int(), traitlets.Int())

    def __init__(self, model: nn.Module, sequence, *, target=None, method: str = "ism", instances=(),
                 target_names=None, window: int = 100, method_options: dict | None = None,
                 batch_size: int | None = None, device="auto", random_state: int = 0, width: int = 900):
        from bokeh.events import DoubleTap, Tap
        from bokeh.layouts import column
        from bokeh.models import ColumnDataSource, Range1d

        self.core = FlipperCore(model, as_sequence(sequence), target=target, method=method,
                                method_options=method_options, batch_size=batch_size, device=device,
                                random_state=random_state)
        self.timings: dict[str, float] = {}
        self._lock = threading.RLock()  # clicks may arrive on a subshell thread while a deferred chunk runs
        self._waiting_lock, self._waiting = threading.Lock(), 0  # calls waiting for _lock
        self._generation = 0  # counts refreshes: deferred chunks of an older one stop
        loop = kernel_io_loop()
        #: ``defer(delay, f, *args)`` runs ``f(*args)`` after ``delay`` seconds on the kernel's event
        #: loop (None outside a kernel: the rest of the maps is computed at once).
        self.defer = None if loop is None else (
            lambda delay, f, *args: loop.add_callback(loop.call_later, delay, f, *args))  # from any thread
        self._pending = None  # while deferred steps run: when their refresh started
        #: The rest of the maps starts this long after the visible window's (seconds): a click
        #: within it drops the rest of the state it leaves, so a burst of clicks competes with no
        #: computation of states already left behind.
        self.rest_delay = 0.25
        #: Deferred ISM spans grow while one takes less than this (seconds).
        self.chunk_seconds = 0.1
        #: While the rest is computed, the heatmap of what is done is sent at most this often (seconds).
        self.flush_seconds = 0.5
        options = target_options(model, self.core.n_outputs, target_names)
        length = self.original.shape[2]

        # Bokeh: sources, figures on one shared x range, tap callbacks
        self.sources = {name: ColumnDataSource(name=f"flipper_{name}_source")
                        for name in ("sequence", "logo", "heatmap", "instances", "history")}
        instances = list(instances)
        self.sources["instances"].data = instance_data(instances)
        shown = min(window, length)
        first_site = next(iter(instances), None)
        left = 0 if first_site is None else (first_site[1] + first_site[2] - shown) // 2  # centred on it
        left = max(0, min(left, length - shown))
        x_range = Range1d(left - 0.5, left + shown - 0.5, bounds=(-0.5, length - 0.5))
        self.figures = {
            "sequence": sequence_figure(self.sources["sequence"], width=width, x_range=x_range,
                                        name="flipper_sequence"),
            "logo": logo_figure(source=self.sources["logo"], width=width, x_range=x_range, name="flipper_logo"),
            "heatmap": ism_heatmap_figure(self.sources["heatmap"], width=width, x_range=x_range,
                                          name="flipper_heatmap", title="ISM: click a cell to make that edit",
                                          label=HEATMAP_LABEL, fixed_by=HEATMAP_SCALE),
            "history": history_figure(self.sources["history"], width=width, name="flipper_history"),
        }
        for name in ("sequence", "logo", "heatmap"):
            add_instance_boxes(self.figures[name], self.sources["instances"], names=name == "logo")
        # BokehJS reports a second tap within 300 ms as a DoubleTap (and no Tap): both are clicks
        for event in (Tap, DoubleTap):
            self.figures["sequence"].on_event(event, self.on_sequence_tap)
            self.figures["heatmap"].on_event(event, self.on_heatmap_tap)

        # ipywidgets controls
        self.target_dropdown = ipw.Dropdown(options=options, value=self.core.target, description="target",
                                            layout=ipw.Layout(width="260px"))
        self.method_dropdown = ipw.Dropdown(options=[(get_method(m).label, m) for m in self.available_methods],
                                            value=self.core.method, description="logo",
                                            layout=ipw.Layout(width="280px"))
        self.readout = ipw.HTML().add_class("xw-readout")
        self.buttons = {name: ipw.Button(description=name, layout=ipw.Layout(width="80px"))
                        for name in ("undo", "redo", "reset")}
        span = (first_site[1], first_site[2]) if first_site else (0, min(10, length))
        self.span_slider = ipw.IntRangeSlider(value=span, min=0, max=length, description="span",
                                              layout=ipw.Layout(width="420px"))
        self.buttons["knock out"] = ipw.Button(description="knock out", tooltip="shuffle the span (dinucleotides)")
        self.buttons["restore"] = ipw.Button(description="restore", tooltip="put the starting bases back in the span")
        self.buttons["undo"].on_click(lambda _: self.undo())
        self.buttons["redo"].on_click(lambda _: self.redo())
        self.buttons["reset"].on_click(lambda _: self.reset())
        self.buttons["diagnose"] = ipw.Button(
            description="diagnose", tooltip="check whether the attributions of this model can be trusted here")
        self.diagnosis_box = ipw.HTML().add_class("xw-diagnosis")
        self.buttons["diagnose"].on_click(lambda _: self.diagnose())
        self.buttons["knock out"].on_click(lambda _: self.knock_out(*self.span))
        self.buttons["restore"].on_click(lambda _: self.restore(*self.span))

        self.plot = None
        with self.hold_trait_notifications():
            self.target, self.method, self.sequence, self.span = (self.core.target, self.core.method,
                                                                  self.core.sequence, span)
        traitlets.link((self.target_dropdown, "value"), (self, "target"))
        traitlets.link((self.method_dropdown, "value"), (self, "method"))
        traitlets.link((self.span_slider, "value"), (self, "span"))
        self.observe(self._on_setting, names=["target", "method"])
        self.observe(self._on_sequence, names="sequence")
        self._refresh()
        self.plot = bokeh_widget(column(*(self.figures[n] for n in ("sequence", "logo", "heatmap", "history"))))
        controls = ipw.HBox([self.target_dropdown, self.method_dropdown, self.readout])
        edits = ipw.HBox([*(self.buttons[n] for n in ("undo", "redo", "reset")), self.span_slider,
                          self.buttons["knock out"], self.buttons["restore"], self.buttons["diagnose"]])
        super().__init__([controls, edits, self.plot, self.diagnosis_box])
        self.add_class("xw-flipper")

    # ---- public state (kept by the core) ------------------------------------------------
    model = _FromCore("model", "The model explained.")
    device = _FromCore("device", "The device the model runs on.")
    original = _FromCore("original", "The starting sequence, one-hot ``(1, 4, L)``.")
    X = _FromCore("X")
    history = _FromCore("history")
    prediction = _FromCore("prediction")
    diagnosis = _FromCore("diagnosis", "The last :meth:`diagnose` result, or None.")
    available_methods = _FromCore("available_methods", "The attribution methods that apply to the model.")
    method_options = _FromCore("method_options", "Keyword arguments per method (:data:`DEFAULT_METHOD_OPTIONS` "
                                                 "updated with ``method_options``).")

    @property
    def ism(self):
        """ISM result of the current sequence for :attr:`target` (the heatmap)."""
        self._complete_now()
        return self.core.ism

    @property
    def attribution(self):
        """The logo's map ``(4, L)``: :attr:`method`'s ``.values`` for the current sequence."""
        self._complete_now()
        return self.core.attribution

    def _complete_now(self) -> None:
        """If deferred steps are still computing the current maps, finish them now (Python
        state is the truth: a cell reading :attr:`ism` right after an edit gets the new one)."""
        with self._lock:
            if self._pending is not None:
                self._generation += 1  # the deferred steps stop
                self._finish(self._pending)

    def __repr__(self) -> str:
        return (f"NucleotideFlipper(model={type(self.model).__name__}, L={self.X.shape[2]}, target={self.target}, "
                f"method={self.method!r}, edits={self.core.cursor})")

    # ---- edits: the core's, then the view is redrawn (unless the core made none) ----------
    edit = _edit_of_core("edit")
    flip = _edit_of_core("flip")
    knock_out = _edit_of_core("knock_out")
    restore = _edit_of_core("restore")
    undo = _edit_of_core("undo")
    redo = _edit_of_core("redo")
    reset = _edit_of_core("reset")

    def diagnose(self):
        """Run :func:`xai_widgets.methods.diagnose` on the current sequence and target; show its verdict.

        Returns
        -------
        Diagnosis
            Also kept as :attr:`diagnosis` and shown below the plots.
        """
        diagnosis = self.core.diagnose()
        colour = "#1a7f37" if diagnosis.ok else "#b42318"
        self.diagnosis_box.value = (f"<pre style='color:{colour};font-size:11px;line-height:1.3'>"
                                    f"{html.escape(diagnosis.summary())}</pre>")
        return diagnosis

    # ---- click callbacks (Bokeh Tap events carry data coordinates) ----------------------
    def on_sequence_tap(self, event) -> None:
        """A click on the sequence track: flip the base under the pointer."""
        position = int(round(event.x))
        if 0 <= position < self.X.shape[2]:
            self.flip(position)

    def on_heatmap_tap(self, event) -> None:
        """A click on a heatmap cell: substitute that row's base at that column's position."""
        position, row = int(round(event.x)), int(round(event.y))
        if 0 <= position < self.X.shape[2] and 0 <= row < 4:
            self.edit(position, 3 - row)

    # ---- traits -------------------------------------------------------------------------
    @traitlets.validate("target", "method")
    def _check_setting(self, proposal):  # the core checks its settings (check_target, check_method)
        return getattr(self.core, f"check_{proposal['trait'].name}")(proposal["value"])

    @traitlets.validate("sequence")
    def _check_sequence(self, proposal):
        value = proposal["value"].upper()
        if len(value) != self.original.shape[2]:
            raise ValueError(f"the sequence must keep its length {self.original.shape[2]}; got {len(value)}")
        one_hot(value)  # raises for letters other than ACGT
        return value

    @traitlets.validate("span")
    def _check_span(self, proposal):
        return self.core.check_span(*proposal["value"])

    @_locked
    def _on_setting(self, _) -> None:
        self.core.target, self.core.method = self.target, self.method
        self._refresh()

    @_locked
    def _on_sequence(self, change) -> None:
        """``sequence`` set from outside (not by an edit here): make it one edit."""
        if change["new"] != self.core.sequence:
            self.core.set_sequence(one_hot(change["new"]))
            self._refresh()

    def _show_sequence(self) -> None:
        """After an edit of the core: the ``sequence`` trait follows, then the figures."""
        self.sequence = self.core.sequence  # the observer sees it equal to the core's: no new edit
        self._refresh()

    # ---- internals ----------------------------------------------------------------------
    def _refresh(self) -> None:
        """Show the current state: first the sequence, history and prediction (one forward pass,
        already done); then, when the visible window is at most half the sequence and its ISM is
        not memoised, the heatmap (and an ISM logo) of that window (:meth:`FlipperCore.ism_at`);
        then the whole heatmap and logo (:meth:`_finish`).

        In a kernel the rest after the window is computed in chunks, each a callback on the
        kernel's event loop (:attr:`defer`), so that a click in between is handled after at most
        one chunk; an edit or setting change drops the chunks of the previous state."""
        with self._lock:
            self._generation += 1
            started = time.perf_counter()
            X, states = self.X, self.core.states
            with self._batched():
                update_source(self.sources["sequence"], logo_data(X))
                predictions = [float(s.predictions[self.target]) for s in states]
                update_source(self.sources["history"], history_data(predictions, [s.label for s in states],
                                                                    current=self.core.cursor))
                self.readout.value = readout_html(self.prediction, predictions[0], output=self.target_dropdown.label,
                                                  unit=output_unit(card(self.model).get("task", {}).get("kind")))
            shown = time.perf_counter()
            self.timings = {"sequence_ms": (shown - started) * 1000}
            window = self.visible_span()
            if window is None or self.plot is None or self.core.has_result("ism"):
                self._finish(started)
                return
            self._show_window(*window, logo=True)
            self.timings["visible_ms"] = (time.perf_counter() - started) * 1000
            if self.defer is None:
                self._finish(started)  # the rest at once
            else:
                self._pending = started
                self.defer(self.rest_delay, self._continue, self._generation, *window, window[1] - window[0], True,
                           started, time.perf_counter())

    def _continue(self, generation: int, left: int, right: int, width: int, rightward: bool, started: float,
                  sent: float) -> None:
        """One deferred step of :meth:`_refresh`: the ISM of the next span beside ``[left, right)``
        (right and left in turn), or the whole maps once every position is done. ``width`` doubles
        while a span takes under :attr:`chunk_seconds`, so a click waits for at most about that.
        The heatmap of ``[left, right)`` is sent when :attr:`flush_seconds` have passed since the
        last message (``sent``), so long computations fill in as they go."""
        state = (generation, left, right, width, rightward, started, sent)
        if self._waiting:  # an edit waits for the lock: let it go first
            self.defer(0.005, self._continue, *state)
            return
        with self._lock:
            if generation != self._generation:
                return  # a newer state is being shown
            length = self.X.shape[2]
            if left == 0 and right == length:
                self._finish(started)
                return
            step = time.perf_counter()
            if right < length and (rightward or left == 0):
                span = (right, min(length, right + width))
                right = span[1]
            else:
                span = (max(0, left - width), left)
                left = span[0]
            self.core.ism_at(*span)
            now = time.perf_counter()
            if now - step < self.chunk_seconds:
                width *= 2
            if now - sent > self.flush_seconds:
                self._show_window(left, right)
                sent = time.perf_counter()
            self.defer(0, self._continue, generation, left, right, width, not rightward, started, sent)

    def _finish(self, started: float) -> None:
        """Compute (or complete) the whole ISM and the logo's map; send both with exact colour limits."""
        self._pending = None
        computing = time.perf_counter()
        ism, attribution = self.core.compute()
        computed = time.perf_counter()
        with self._batched():
            # copies: _show_window writes into them, and the core's memoised results must stay intact
            self._shown_delta = ism.delta[0].numpy().astype(np.float32)
            self._shown_logo = attribution.numpy().astype(np.float32)
            # one colour scale per target, fixed at the starting sequence's largest change: colours
            # compare across edits (the starting sequence's ISM is cached by the core)
            start = self.core.result("ism", self.core.original).delta[0]
            set_heatmap_scale(self.figures["heatmap"], symmetric_limit(start.numpy()), label=HEATMAP_LABEL,
                              fixed_by=HEATMAP_SCALE)
            update_source(self.sources["logo"], logo_data(self._shown_logo))
            update_source(self.sources["heatmap"], heatmap_data(self._shown_delta))
        done = time.perf_counter()
        self.timings.update({"compute_ms": (computed - computing) * 1000, "maps_ms": (done - computed) * 1000,
                             "total_ms": (done - started) * 1000})
        self.timings.setdefault("visible_ms", self.timings["total_ms"])

    def visible_span(self, margin: int = 8) -> tuple[int, int] | None:
        """Positions ``[start, end)`` the figures show now (their shared x range, plus ``margin``
        on each side), or None when that is more than half the sequence (then all is one step)."""
        length = self.X.shape[2]
        x_range = self.figures["sequence"].x_range
        start = max(0, int(np.floor(x_range.start + 0.5)) - margin)
        end = min(length, int(np.ceil(x_range.end - 0.5)) + 1 + margin)
        return (start, end) if start < end and 2 * (end - start) <= length else None

    def _show_window(self, start: int, end: int, logo: bool = False) -> None:
        """Send the heatmap of ``[start, end)`` of the current sequence (and with ``logo``, an ISM
        logo's); the rest of each figure keeps the previous values until the whole maps follow."""
        delta, attribution = (values.numpy() for values in self.core.window_maps(start, end))
        length = self.X.shape[2]
        with self._batched():
            self._shown_delta[:, start:end] = delta  # on the fixed colour scale set at the start
            # heatmap rows are ordered by base, then position (heatmap_data): one slice per base
            rows = [slice(b * length + start, b * length + end) for b in range(4)]
            self.sources["heatmap"].patch({"value": [(row, delta[b]) for b, row in enumerate(rows)]})
            if logo and self.method == "ism":
                self._shown_logo[:, start:end] = attribution
                update_source(self.sources["logo"], logo_data(self._shown_logo))

    def _batched(self):
        return self.plot.batched() if self.plot is not None else nullcontext()
