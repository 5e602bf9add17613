"""SpacingSweep: place two motifs at every spacing and orientation, and see where the model cares.

The view of :class:`~xai_widgets.widgets.core.SweepCore`, which computes."""

from __future__ import annotations

import queue
import threading
import time

import ipywidgets as ipw
import numpy as np
import traitlets
from torch import nn

from ..data import ORIENTATIONS
from ..plots import (
    add_instance_boxes,
    instance_data,
    logo_data,
    logo_figure,
    padded_limits,
    sweep_data,
    sweep_figure,
)
from ._common import bokeh_widget, kernel_io_loop, update_source
from .core import SweepCore
from .core.sweep import motif_names, resolve_motif

__all__ = ["SpacingSweep", "motif_names", "resolve_motif"]


def sweep_columns(parts) -> dict:
    """The columns of the sweep figure from the core's parts (one orientation each); orientations
    not run are NaN, so they are drawn empty."""
    columns = {"spacing": parts[0].spacings.numpy()}
    for part in parts:
        columns.update({k: v for k, v in sweep_data(part).items() if k != "spacing"})
    for orientation in ORIENTATIONS:
        for key in ("effect", "lo", "hi"):
            columns.setdefault(f"{key}_{orientation}", np.full(len(columns["spacing"]), np.nan))
    return columns


class SpacingSweep(ipw.VBox):
    """Motif A fixed in the middle, motif B at every spacing, in the chosen orientation pairs.

    **Run** sweeps in the background (the progress bar advances; **Cancel** stops it and keeps
    the widget usable) and plots the mean effect ``f(A+B) - f(background)`` against spacing with
    95 % bands. Click a spacing to see an example sequence with both motifs placed, and its ISM
    attribution logo. Every number comes from :func:`~xai_widgets.methods.gia.spacing_sweep`.

    Settable state is in traitlets: :attr:`motif_a`, :attr:`motif_b`, :attr:`orientations`,
    :attr:`spacings`, :attr:`n_backgrounds`, :attr:`target` and :attr:`spacing` (the example
    shown); :attr:`status` (``"idle"``, ``"running"``, ``"done"``, ``"cancelled"``, ``"error"``)
    is observable. The worker thread computes only (:class:`~xai_widgets.widgets.core.SweepCore`)
    and hands every result to the kernel's thread, which sets the traits and the figures.

    Parameters
    ----------
    model : torch.nn.Module
    motif_a, motif_b : str, optional
        Motif names (bundled set or JASPAR) or ACGT consensus strings; default ``"Spi1"`` and ``"Irf1"``.
    spacings : (int, int), optional
        Inclusive range of spacings (bases between A and B; negative: B upstream of A); default (-30, 30).
    orientations : sequence of {"++", "+-", "-+", "--"}, optional
        Default all four, ``ORIENTATIONS``.
    n_backgrounds : int, optional
        Default 100.
    background_sequences : torch.Tensor, shape (M, 4, L), optional
        Data to dinucleotide-shuffle into backgrounds; default None: random DNA at 50 % GC.
    length : int, optional
        Sequence length; default None: a zoo model's, or that of ``background_sequences``.
    target : int or str, optional
        Output swept; default None: the model's only output (a multi-output model raises
        ``ValueError``: pass ``target=``).
    device : str or torch.device, optional
        Default ``"auto"``.
    random_state : int, optional
        Seed of the backgrounds and insertions; default 0.
    width : int, optional
        Pixels; default 900.
    run : bool, optional
        Start a sweep at once (in the background); default True.
    """

    motif_a = traitlets.Unicode()
    motif_b = traitlets.Unicode()
    orientations = traitlets.Tuple()
    spacings = traitlets.Tuple(traitlets.Int(), traitlets.Int())
    n_backgrounds = traitlets.Int()
    target = traitlets.Union([traitlets.Int(), traitlets.Unicode()])  # a name becomes its index
    spacing = traitlets.Int(None, allow_none=True)
    status = traitlets.Unicode("idle")


    def __init__(self, model: nn.Module, *, motif_a: str = "Spi1", motif_b: str = "Irf1", spacings=(-30, 30),
                 orientations=ORIENTATIONS, n_backgrounds: int = 100, background_sequences=None,
                 length: int | None = None, target=None, device="auto", random_state: int = 0,
                 width: int = 900, run: bool = True):
        from bokeh.events import DoubleTap, Tap
        from bokeh.layouts import column
        from bokeh.models import ColumnDataSource, Range1d

        self.core = SweepCore(model, background_sequences=background_sequences, length=length, target=target,
                              device=device, random_state=random_state)
        self.model, self.device, self.length = model, self.core.device, self.core.length
        self.random_state, self.background_sequences = random_state, background_sequences
        self.result = None
        self.example = None
        self.peak = None
        self._inputs = None
        self._cancel = threading.Event()
        self._thread = None
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()

        names = list(motif_names())
        self.motif_a_box = ipw.Combobox(value=motif_a, options=names, description="motif A", ensure_option=False)
        self.motif_b_box = ipw.Combobox(value=motif_b, options=names, description="motif B", ensure_option=False)
        self.orientation_boxes = {o: ipw.Checkbox(value=o in orientations, description=o, indent=False,
                                                  layout=ipw.Layout(width="50px")) for o in ORIENTATIONS}
        self.spacing_slider = ipw.IntRangeSlider(value=tuple(spacings), min=-100, max=100, description="spacing")
        self.background_slider = ipw.IntSlider(value=n_backgrounds, min=10, max=1000, step=10,
                                               description="backgrounds", style={"description_width": "initial"})
        self.run_button = ipw.Button(description="run", button_style="primary")
        self.cancel_button = ipw.Button(description="cancel", disabled=True)
        self.progress = ipw.IntProgress(value=0, min=0, max=1, layout=ipw.Layout(width="200px"))
        self.readout = ipw.HTML().add_class("xw-sweep-readout")
        self.run_button.on_click(lambda _: self.run())
        self.cancel_button.on_click(lambda _: self.cancel())
        with self.hold_trait_notifications():
            self.motif_a, self.motif_b, self.spacings = motif_a, motif_b, tuple(spacings)
            self.orientations = tuple(o for o in ORIENTATIONS if o in orientations)
            self.n_backgrounds, self.target = n_backgrounds, self.core.target
        traitlets.link((self.motif_a_box, "value"), (self, "motif_a"))
        traitlets.link((self.motif_b_box, "value"), (self, "motif_b"))
        traitlets.link((self.spacing_slider, "value"), (self, "spacings"))
        traitlets.link((self.background_slider, "value"), (self, "n_backgrounds"))
        for box in self.orientation_boxes.values():
            box.observe(lambda _: setattr(self, "orientations", tuple(o for o, b in self.orientation_boxes.items()
                                                                      if b.value)), names="value")
        self.observe(self._show_orientations, names="orientations")
        self.observe(lambda change: setattr(self.core, "target", change["new"]), names="target")
        self.observe(self._on_spacing, names="spacing")

        empty_curves = {"spacing": [], **{f"{key}_{o}": [] for o in ORIENTATIONS for key in ("effect", "lo", "hi")}}
        self.sources = {"sweep": ColumnDataSource(empty_curves, name="sweep_curve_source"),
                        "example": ColumnDataSource(logo_data(np.zeros((4, self.length))),  # no letters
                                                    name="sweep_example_source"),
                        "sites": ColumnDataSource(instance_data([]), name="sweep_sites_source")}
        self.figures = {"sweep": sweep_figure(self.sources["sweep"], ORIENTATIONS, width=width, name="sweep"),
                        "example": logo_figure(source=self.sources["example"], width=width, height=170,
                                               name="sweep_example", title="click a spacing for an example")}
        add_instance_boxes(self.figures["example"], self.sources["sites"], names=True)
        # explicit ranges, set from the curve when it arrives: BokehJS cannot derive ranges from an
        # empty source (it warns), and the empty state shows the spacings to be swept
        low, high = spacings
        self.figures["sweep"].x_range = Range1d(low - 0.5, high + 0.5)
        self.figures["sweep"].y_range = Range1d(0, 1)
        self.figures["sweep"].title.text = "run the sweep, then click a spacing for an example"
        # the example's empty state: no letters, the sequence's positions on x (set from the
        # example's letters when one is shown)
        self.figures["example"].x_range = Range1d(-0.5, self.length - 0.5)
        self.figures["example"].y_range = Range1d(-1, 1)
        for event in (Tap, DoubleTap):
            self.figures["sweep"].on_event(event, self.on_sweep_tap)
        self.plot = bokeh_widget(column(self.figures["sweep"], self.figures["example"]))
        controls = ipw.VBox([ipw.HBox([self.motif_a_box, self.motif_b_box, *self.orientation_boxes.values()]),
                             ipw.HBox([self.spacing_slider, self.background_slider]),
                             ipw.HBox([self.run_button, self.cancel_button, self.progress, self.readout])])
        super().__init__([controls, self.plot])
        self.add_class("xw-sweep")
        if run:
            self.run()

    def __repr__(self) -> str:
        return (f"SpacingSweep(model={type(self.model).__name__}, A={self.motif_a!r}, "
                f"B={self.motif_b!r}, status={self.status!r})")

    @traitlets.validate("target")
    def _check_target(self, proposal):
        return self.core.check_target(proposal["value"])

    @traitlets.validate("orientations")
    def _check_orientations(self, proposal):
        unknown = [o for o in proposal["value"] if o not in ORIENTATIONS]
        if unknown:
            raise ValueError(f"orientations must be among {ORIENTATIONS}; got {unknown}")
        return tuple(o for o in ORIENTATIONS if o in proposal["value"])

    def _show_orientations(self, change) -> None:
        for o, box in self.orientation_boxes.items():
            box.value = o in change["new"]

    # ---- running ----------------------------------------------------------------------------
    # The sweep runs in a worker thread, which never touches widget or Bokeh state: it posts
    # callables to ``self._inbox`` and asks the kernel's event loop to run them (``_drain``) on
    # the kernel's thread. ``wait`` (and ``run(wait=True)``) drain on the calling thread, which
    # is how results arrive outside a kernel.
    def run(self, wait: bool = False) -> None:
        """Start a sweep with the current settings (in a background thread unless ``wait``).

        In a notebook the curve appears when the sweep ends; elsewhere (no kernel) call
        :meth:`wait`, which shows it.
        """
        if self._thread is not None and self._thread.is_alive():
            return
        settings = self._settings()
        self._cancel.clear()
        self.status = "running"
        self.run_button.disabled, self.cancel_button.disabled = True, False
        self.progress.max, self.progress.value = len(settings[2]), 0
        self._thread = threading.Thread(target=self._sweep, args=settings, daemon=True)
        self._thread.start()
        if wait:
            self.wait()

    def cancel(self) -> None:
        """Stop a running sweep after the current block; the previous result stays shown."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> None:
        """Block until a running sweep ends, then show what it produced."""
        if self._thread is not None:
            self._thread.join(timeout)
        self._drain()

    def _post(self, function, *args) -> None:
        """From the worker: have ``function(*args)`` run on the kernel's thread."""
        self._inbox.put((function, args))
        loop = kernel_io_loop()
        if loop is not None:
            loop.add_callback(self._drain)

    def _drain(self) -> None:
        """On the kernel's thread: apply what the worker posted, in order."""
        while True:
            try:
                function, args = self._inbox.get_nowait()
            except queue.Empty:
                break
            function(*args)
        # a view being created as this runs (a display moments ago) may miss these changes: the
        # Bokeh widget re-sends its whole document once things are quiet (BatchedBokehModel)

    def _settings(self):
        return self.core.settings(self.motif_a, self.motif_b, self.orientations, self.spacings, self.n_backgrounds)

    def _sweep(self, motif_a, motif_b, orientations, spacings, bgs) -> None:
        """The worker: the core sweeps one orientation at a time (a cancel point between blocks);
        the result (or the cancellation, or the error) is posted to the kernel's thread."""
        started = time.perf_counter()
        try:
            parts = self.core.sweep(motif_a, motif_b, orientations, spacings, bgs, cancelled=self._cancel.is_set,
                                    on_block=lambda n: self._post(self._set_progress, n))
            if parts is None:
                self._post(self._finish, "cancelled", "<i>cancelled</i>: the previous result is still shown")
            else:
                self._post(self._show, parts, motif_a, motif_b, bgs, time.perf_counter() - started)
                self._post(self._finish, "done", None)
        except Exception as error:  # shown in the widget; the thread must not die silently
            self._post(self._finish, "error", f"<b>error</b>: {error}")
            raise

    def _set_progress(self, value: int) -> None:
        self.progress.value = value

    def _finish(self, status: str, message: str | None) -> None:
        self.status = status
        if message is not None:
            self.readout.value = message
        self.run_button.disabled, self.cancel_button.disabled = False, True

    def _show(self, parts, motif_a, motif_b, bgs, seconds: float) -> None:
        self._inputs = (motif_a, motif_b, bgs)
        self.result = parts
        self.spacing = None  # no example of the new result yet
        columns = sweep_columns(parts)
        bottom, top = padded_limits(np.concatenate([np.asarray(v, dtype=float) for k, v in columns.items()
                                                    if k != "spacing"]))
        with self.plot.batched():
            update_source(self.sources["sweep"], columns)
            figure = self.figures["sweep"]
            figure.x_range.start, figure.x_range.end = columns["spacing"][0] - 0.5, columns["spacing"][-1] + 0.5
            figure.y_range.start, figure.y_range.end = bottom, top
            figure.title.text = "click a spacing for an example"
        best, orientation, spacing, s = self.core.peak(parts)
        low, high = best.effect_ci[0, s].tolist()
        self.peak = (orientation, spacing)
        self.readout.value = (
            f"peak <b class='xw-peak'>{orientation} at {spacing}</b> bp: effect {float(best.effect[0, s]):+.3f} "
            f"[{low:+.3f}, {high:+.3f}], cooperativity {float(best.cooperativity[0, s]):.2f} "
            f"({len(bgs)} backgrounds, {seconds:.1f} s)")

    # ---- examples ---------------------------------------------------------------------------
    def on_sweep_tap(self, event) -> None:
        """A click on the curve: show an example at the nearest spacing, best orientation there."""
        if self.result:
            self.spacing = self.core.best_orientation(self.result, event.x)[1]

    def _on_spacing(self, change) -> None:
        if change["new"] is not None and self.result:
            orientation, spacing = self.core.best_orientation(self.result, change["new"])
            self.show_example(orientation, spacing)

    def show_example(self, orientation: str, spacing: int) -> None:
        """Both motifs placed in the first background at ``spacing``; logo of its ISM attribution."""
        self.example = self.core.example(self.result, self._inputs, orientation, spacing)
        letters = logo_data(self.example["values"])
        bottoms, heights = np.asarray(letters["bottom"], dtype=float), np.asarray(letters["value"], dtype=float)
        low, high = padded_limits(np.concatenate([bottoms, bottoms + heights]), include_zero=True)  # letter ends
        with self.plot.batched():
            update_source(self.sources["example"], letters)
            update_source(self.sources["sites"], instance_data(self.example["sites"]))
            self.figures["example"].y_range.start, self.figures["example"].y_range.end = low, high
            self.figures["example"].title.text = (f"example: {orientation} at spacing {spacing}, prediction "
                                                  f"{self.example['prediction']:.3f}")
