"""SpacingSweep: place two motifs at every spacing and orientation, and see where the model cares."""

from __future__ import annotations

import queue
import threading
import time
from functools import lru_cache

import ipywidgets as ipw
import numpy as np
import torch
from torch import nn

from .._core import resolve_device
from ..data.motifs import Motif, bundled_motifs, get_motif, jaspar_motifs
from ..methods.gia import ORIENTATIONS, b_start, backgrounds, insert_motifs, spacing_sweep
from ..methods.ism import saturation_mutagenesis
from ..plots import add_instance_boxes, instance_data, logo_data, logo_figure
from ..plots.sweep import sweep_data, sweep_figure
from ..plots.tracks import padded_limits
from ._common import bokeh_widget, kernel_io_loop, update_source


@lru_cache(maxsize=1)
def motif_names() -> tuple[str, ...]:
    """Names offered in the motif boxes: the bundled set, then every JASPAR 2024 CORE vertebrate."""
    names = list(bundled_motifs())
    return tuple(dict.fromkeys(names + sorted(m.name for m in jaspar_motifs())))


def resolve_motif(text: str):
    """A motif name (bundled set or JASPAR) as a :class:`Motif`, or an ACGT string as a consensus."""
    text = text.strip()
    if text and set(text.upper()) <= set("ACGT") and len(text) >= 4:
        try:
            return get_motif(text)
        except (KeyError, ValueError):
            return text.upper()
    try:
        return get_motif(text)
    except (KeyError, ValueError) as error:
        raise ValueError(f"unknown motif {text!r}: type a name from the list (bundled or JASPAR) or an ACGT "
                         "consensus of at least 4 bases") from error


def _model_length(model: nn.Module) -> int | None:
    return getattr(model, "card", {}).get("task", {}).get("length")


class SpacingSweep(ipw.VBox):
    """Motif A fixed in the middle, motif B at every spacing, in the chosen orientation pairs.

    **Run** sweeps in the background (the progress bar advances; **Cancel** stops it and keeps
    the widget usable) and plots the mean effect ``f(A+B) - f(background)`` against spacing with
    95 % bands. Click a spacing to see an example sequence with both motifs placed, and its ISM
    attribution logo. Every number comes from :func:`~xai_widgets.methods.gia.spacing_sweep`.

    Parameters
    ----------
    model : torch.nn.Module
    motif_a, motif_b : str
        Motif names (bundled set or JASPAR) or ACGT consensus strings.
    spacings : (int, int)
        Inclusive range of spacings (bases between A and B; negative: B upstream of A).
    orientations : sequence of {"++", "+-", "-+", "--"}
    n_backgrounds : int
    background_sequences : torch.Tensor, shape (M, 4, L), optional
        Data to dinucleotide-shuffle into backgrounds; default random DNA at 50 % GC.
    length : int, optional
        Sequence length (default: a zoo model's, or that of ``background_sequences``).
    target : int
    device, random_state, width
    run : bool
        Start a sweep at once (in the background).
    """

    def __init__(self, model: nn.Module, *, motif_a: str = "Spi1", motif_b: str = "Irf1", spacings=(-30, 30),
                 orientations=ORIENTATIONS, n_backgrounds: int = 100, background_sequences=None,
                 length: int | None = None, target: int = 0, device="auto", random_state: int = 0,
                 width: int = 900, run: bool = True):
        from bokeh.events import DoubleTap, Tap
        from bokeh.layouts import column
        from bokeh.models import ColumnDataSource, Range1d

        self.model, self.device, self.target, self.random_state = model, resolve_device(device), target, random_state
        self.background_sequences = background_sequences
        self.length = length or (background_sequences.shape[2] if background_sequences is not None
                                 else _model_length(model))
        if self.length is None:
            raise ValueError("give length= (or background_sequences=): the model does not say its input length")
        self.result = None
        self.example = None
        self.status = "idle"
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
                                               description="backgrounds")
        self.run_button = ipw.Button(description="run", button_style="primary")
        self.cancel_button = ipw.Button(description="cancel", disabled=True)
        self.progress = ipw.IntProgress(value=0, min=0, max=1, layout=ipw.Layout(width="200px"))
        self.readout = ipw.HTML().add_class("xw-sweep-readout")
        self.run_button.on_click(lambda _: self.run())
        self.cancel_button.on_click(lambda _: self.cancel())

        empty_curves = {"spacing": [], **{f"{key}_{o}": [] for o in ORIENTATIONS for key in ("effect", "lo", "hi")}}
        self.sources = {"sweep": ColumnDataSource(empty_curves, name="sweep_curve_source"),
                        "example": ColumnDataSource(logo_data(np.zeros((4, self.length))),  # no letters
                                                    name="sweep_example_source"),
                        "sites": ColumnDataSource(instance_data([]), name="sweep_sites_source")}
        self.figures = {"sweep": sweep_figure(self.sources["sweep"], ORIENTATIONS, width=width, name="sweep"),
                        "example": logo_figure(source=self.sources["example"], width=width, height=170,
                                               name="sweep_example", title="click a spacing for an example")}
        add_instance_boxes(self.figures["example"], self.sources["sites"])
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
        return (f"SpacingSweep(model={type(self.model).__name__}, A={self.motif_a_box.value!r}, "
                f"B={self.motif_b_box.value!r}, status={self.status!r})")

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
        # this may run at any time, also while a browser view is being created (and would miss
        # the changes): have every view redraw from the current document
        self.plot.sync_views()

    def _settings(self):
        motif_a, motif_b = resolve_motif(self.motif_a_box.value), resolve_motif(self.motif_b_box.value)
        orientations = tuple(o for o, box in self.orientation_boxes.items() if box.value)
        if not orientations:
            raise ValueError("tick at least one orientation")
        low, high = self.spacing_slider.value
        bgs = backgrounds(self.background_slider.value, self.length, from_sequences=self.background_sequences,
                          random_state=self.random_state) if self.background_sequences is not None else \
            backgrounds(self.background_slider.value, self.length, random_state=self.random_state)
        return motif_a, motif_b, orientations, list(range(low, high + 1)), bgs

    def _sweep(self, motif_a, motif_b, orientations, spacings, bgs) -> None:
        """The worker: sweep one orientation at a time (a cancel point between blocks), then post
        the result (or the cancellation, or the error) to the kernel's thread."""
        started = time.perf_counter()
        parts = []
        try:
            for orientation in orientations:
                if self._cancel.is_set():
                    break
                parts.append(spacing_sweep(self.model, bgs, motif_a, motif_b, spacings=spacings,
                                           orientations=(orientation,), target=self.target, device=self.device,
                                           random_state=self.random_state))
                self._post(self._set_progress, len(parts))
            if self._cancel.is_set():
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
        columns = {"spacing": parts[0].spacings.numpy()}
        for part in parts:
            columns.update({k: v for k, v in sweep_data(part).items() if k != "spacing"})
        for orientation in ORIENTATIONS:  # orientations not run are drawn empty
            for key in ("effect", "lo", "hi"):
                columns.setdefault(f"{key}_{orientation}", np.full(len(columns["spacing"]), np.nan))
        bottom, top = padded_limits(np.concatenate([np.asarray(v, dtype=float) for k, v in columns.items()
                                                    if k != "spacing"]))
        with self.plot.batched():
            update_source(self.sources["sweep"], columns)
            figure = self.figures["sweep"]
            figure.x_range.start, figure.x_range.end = columns["spacing"][0] - 0.5, columns["spacing"][-1] + 0.5
            figure.y_range.start, figure.y_range.end = bottom, top
            figure.title.text = "click a spacing for an example"
        best = max(parts, key=lambda p: float(torch.nan_to_num(p.effect, nan=-np.inf).max()))
        orientation, spacing = best.peak()
        s = int((best.spacings == spacing).nonzero()[0])
        low, high = best.effect_ci[0, s].tolist()
        self.peak = (orientation, spacing)
        self.readout.value = (
            f"peak <b class='xw-peak'>{orientation} at {spacing}</b> bp: effect {float(best.effect[0, s]):+.3f} "
            f"[{low:+.3f}, {high:+.3f}], cooperativity {float(best.cooperativity[0, s]):.2f} "
            f"({len(bgs)} backgrounds, {seconds:.1f} s)")

    # ---- examples ---------------------------------------------------------------------------
    def on_sweep_tap(self, event) -> None:
        """A click on the curve: show an example at the nearest spacing, best orientation there."""
        if not self.result:
            return
        spacings = self.result[0].spacings
        s = int((spacings - round(event.x)).abs().argmin())
        effects = [float(torch.nan_to_num(p.effect[0, s], nan=-np.inf)) for p in self.result]
        part = self.result[int(np.argmax(effects))]
        self.show_example(part.orientations[0], int(spacings[s]))

    def show_example(self, orientation: str, spacing: int) -> None:
        """Both motifs placed in the first background at ``spacing``; logo of its ISM attribution."""
        motif_a, motif_b, bgs = self._inputs
        part = next(p for p in self.result if p.orientations[0] == orientation)
        width_a, width_b = (m.width if isinstance(m, Motif) else len(m) for m in (motif_a, motif_b))
        start_b = b_start(part.position_a, width_a, width_b, orientation, spacing)
        if not 0 <= start_b <= self.length - width_b:
            raise ValueError(f"motif B falls off the sequence at spacing {spacing} ({orientation})")
        X = insert_motifs(bgs[:1], [(motif_a, part.position_a, orientation[0]), (motif_b, start_b, orientation[1])],
                          random_state=self.random_state)
        ism = saturation_mutagenesis(self.model, X, target=self.target, device=self.device)
        self.example = {"X": X, "orientation": orientation, "spacing": spacing, "ism": ism,
                        "sites": [(part.motif_names[0], part.position_a, part.position_a + width_a, orientation[0]),
                                  (part.motif_names[1], start_b, start_b + width_b, orientation[1])]}
        letters = logo_data(ism.values[0])
        bottoms, heights = np.asarray(letters["bottom"], dtype=float), np.asarray(letters["value"], dtype=float)
        low, high = padded_limits(np.concatenate([bottoms, bottoms + heights]), include_zero=True)  # letter ends
        with self.plot.batched():
            update_source(self.sources["example"], letters)
            update_source(self.sources["sites"], instance_data(self.example["sites"]))
            self.figures["example"].y_range.start, self.figures["example"].y_range.end = low, high
            self.figures["example"].title.text = (f"example: {orientation} at spacing {spacing}, prediction "
                                                  f"{float(ism.prediction[0]):.3f}")
