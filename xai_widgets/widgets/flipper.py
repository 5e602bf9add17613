"""NucleotideFlipper: edit a sequence base by base and watch the prediction and attribution change."""

from __future__ import annotations

import html
import time
from collections import OrderedDict
from contextlib import nullcontext
from dataclasses import dataclass

import ipywidgets as ipw
import numpy as np
import torch
import traitlets
from torch import nn

from .._core import predict, resolve_device
from ..data.encoding import decode
from ..data.shuffle import differing_shuffle
from ..methods import (
    diagnose,
    ISMResult,
    capabilities,
    deep_lift_shap,
    gradient_x_input,
    integrated_gradients,
    saliency,
    saturation_mutagenesis,
)
from ..plots import (
    add_instance_boxes,
    heatmap_data,
    history_data,
    history_figure,
    instance_data,
    ism_heatmap_figure,
    logo_data,
    logo_figure,
    readout_html,
    sequence_figure,
    symmetric_limit,
)
from ._common import as_sequence, bokeh_widget, target_options, update_source

BASES = "ACGT"

#: Attribution methods the logo can show, with the ``capabilities`` key that says if they apply.
ATTRIBUTION_METHODS = {
    "ism": "saturation_mutagenesis",
    "saliency": "saliency",
    "gradient_x_input": "gradient_x_input",
    "integrated_gradients": "integrated_gradients",
    "deep_lift_shap": "deep_lift_shap",
}
_METHOD_LABELS = {"ism": "ISM (centred)", "saliency": "saliency (gradient)", "gradient_x_input": "gradient x input",
                  "integrated_gradients": "integrated gradients", "deep_lift_shap": "DeepSHAP"}
#: Defaults chosen for interactive speed; override with ``method_options``.
DEFAULT_METHOD_OPTIONS = {
    "integrated_gradients": {"baseline": "shuffle", "n_baselines": 4, "n_steps": 16, "random_state": 0},
    "deep_lift_shap": {"n_shuffles": 10, "random_state": 0},
}


@dataclass(frozen=True)
class FlipperState:
    """One entry of the edit history.

    Attributes
    ----------
    X : torch.Tensor, shape (1, 4, L)
        The sequence after this edit.
    label : str
        What changed (``"start"``, ``"12 A>G"``, ``"knock-out 10-20"``, ...).
    predictions : torch.Tensor, shape (T,)
        All model outputs for ``X``.
    """

    X: torch.Tensor
    label: str
    predictions: torch.Tensor

    @property
    def sequence(self) -> str:
        return decode(self.X)[0]


class NucleotideFlipper(ipw.VBox):
    """Click bases to edit a sequence; prediction, attribution logo and ISM heatmap follow.

    Clicking a letter of the sequence track turns it into the next base (A>C>G>T>A); clicking a
    heatmap cell substitutes that cell's base at that position. Every edit is recomputed (ISM by
    the fast incremental path where the model allows) and redrawn. Python state is the truth:
    :attr:`X`, :attr:`sequence`, :attr:`history`, :attr:`ism` and :attr:`attribution`.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    sequence : str or torch.Tensor, shape (4, L) or (1, 4, L)
    target : int, optional
        Output to explain (default 0).
    method : str
        Attribution shown as the logo, one of :data:`ATTRIBUTION_METHODS`.
    instances : iterable of tuple, optional
        Motif instances ``(name, start, end[, strand])`` to mark, e.g.
        ``task.instances.for_sequence(i)``.
    target_names : list of str, optional
        Labels for the target dropdown (a zoo model's card provides them).
    window : int
        Positions visible at first (centred on the first instance, if any); zoom with the
        mouse wheel, pan by dragging.
    method_options : dict, optional
        Keyword arguments per method, e.g. ``{"integrated_gradients": {"n_steps": 32}}``.
    batch_size : int
        Batch size of the ISM computation.
    device : str or torch.device
        ``"auto"``: CUDA when available.
    random_state : int
        Seed of the knock-out shuffles.
    width : int
        Pixels.

    Examples
    --------
    >>> flipper = NucleotideFlipper(zoo.load("basset_exp_motif_presence"), "ACGT" * 50)  # doctest: +SKIP
    >>> flipper.edit(10, "G"); flipper.prediction                                        # doctest: +SKIP
    """

    method = traitlets.Unicode("ism")
    target = traitlets.Int(0)

    def __init__(self, model: nn.Module, sequence, *, target: int | None = None, method: str = "ism",
                 instances=(), target_names=None, window: int = 100, method_options: dict | None = None,
                 batch_size: int = 1024, device="auto", random_state: int = 0, width: int = 900):
        from bokeh.events import DoubleTap, Tap
        from bokeh.layouts import column
        from bokeh.models import ColumnDataSource, Range1d

        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        self.model = model
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.random_state = random_state
        self.original = as_sequence(sequence)
        self.method_options = {**DEFAULT_METHOD_OPTIONS, **(method_options or {})}
        self._cache: OrderedDict = OrderedDict()
        first = predict(model, self.original, device=self.device)[0]
        self._states = [FlipperState(self.original, "start", first)]
        self._cursor = 0
        self._n_knockouts = 0
        self.timings: dict[str, float] = {}
        self.ism = None
        self.attribution = None

        supported = capabilities(model, self.original)
        self.available_methods = [m for m, key in ATTRIBUTION_METHODS.items() if supported[key] == "yes"]
        self._check_method(method)
        options = target_options(model, len(first), target_names)
        target = 0 if target is None else target
        if not 0 <= target < len(first):
            raise ValueError(f"target {target} is out of range: the model has {len(first)} output(s)")
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
                                          name="flipper_heatmap", title="ISM: click a cell to make that edit"),
            "history": history_figure(self.sources["history"], width=width, name="flipper_history"),
        }
        for name in ("sequence", "logo", "heatmap"):
            add_instance_boxes(self.figures[name], self.sources["instances"])
        self._color_mapper = self.figures["heatmap"].select_one({"name": "flipper_heatmap_colors"})
        # BokehJS reports a second tap within 300 ms as a DoubleTap (and no Tap): both are clicks
        for event in (Tap, DoubleTap):
            self.figures["sequence"].on_event(event, self.on_sequence_tap)
            self.figures["heatmap"].on_event(event, self.on_heatmap_tap)

        # ipywidgets controls
        self.target_dropdown = ipw.Dropdown(options=options, value=target, description="target",
                                            layout=ipw.Layout(width="260px"))
        self.method_dropdown = ipw.Dropdown(options=[(_METHOD_LABELS[m], m) for m in self.available_methods],
                                            value=method, description="logo", layout=ipw.Layout(width="280px"))
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
        self.buttons["diagnose"] = ipw.Button(description="diagnose",
                                              tooltip="check whether the attributions of this model can be trusted here")
        self.diagnosis = None
        self.diagnosis_box = ipw.HTML().add_class("xw-diagnosis")
        self.buttons["diagnose"].on_click(lambda _: self.diagnose())
        self.buttons["knock out"].on_click(lambda _: self.knock_out(*self.span_slider.value))
        self.buttons["restore"].on_click(lambda _: self.restore(*self.span_slider.value))
        traitlets.link((self.target_dropdown, "value"), (self, "target"))
        traitlets.link((self.method_dropdown, "value"), (self, "method"))
        self.observe(lambda _: self._refresh(), names=["target", "method"])

        self.plot = None
        with self.hold_trait_notifications():
            self.target, self.method = target, method
        self._refresh()
        self.plot = bokeh_widget(column(*(self.figures[n] for n in ("sequence", "logo", "heatmap", "history"))))
        controls = ipw.HBox([self.target_dropdown, self.method_dropdown, self.readout])
        edits = ipw.HBox([*(self.buttons[n] for n in ("undo", "redo", "reset")), self.span_slider,
                          self.buttons["knock out"], self.buttons["restore"], self.buttons["diagnose"]])
        super().__init__([controls, edits, self.plot, self.diagnosis_box])
        self.add_class("xw-flipper")

    # ---- public state -------------------------------------------------------------------
    @property
    def X(self) -> torch.Tensor:
        """The current sequence, one-hot ``(1, 4, L)``."""
        return self._states[self._cursor].X

    @property
    def sequence(self) -> str:
        """The current sequence as a string."""
        return self._states[self._cursor].sequence

    @property
    def history(self) -> list[FlipperState]:
        """States from the start to the current one (undone states are not included)."""
        return self._states[: self._cursor + 1]

    @property
    def prediction(self) -> float:
        """The model's output ``target`` for the current sequence."""
        return float(self._states[self._cursor].predictions[self.target])

    def __repr__(self) -> str:
        return (f"NucleotideFlipper(model={type(self.model).__name__}, L={self.X.shape[2]}, target={self.target}, "
                f"method={self.method!r}, edits={self._cursor})")

    # ---- edits --------------------------------------------------------------------------
    def edit(self, position: int, base) -> None:
        """Substitute ``base`` (``"A"``..``"T"`` or 0..3) at ``position``; a no-op if already there."""
        length = self.X.shape[2]
        if not 0 <= position < length:
            raise ValueError(f"position {position} is outside the sequence (0..{length - 1})")
        index = BASES.find(base.upper()) if isinstance(base, str) and len(base) == 1 else base
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < 4:
            raise ValueError(f"base must be one of A, C, G, T or 0..3; got {base!r}")
        index, old = int(index), int(self.X[0, :, position].argmax())
        if old == index:
            return
        X = self.X.clone()
        X[0, :, position] = 0
        X[0, index, position] = 1
        self._push(X, f"{position} {BASES[old]}>{BASES[index]}")

    def diagnose(self):
        """Run :func:`xai_widgets.methods.diagnose` on the current sequence and target; show its verdict.

        Returns
        -------
        Diagnosis
            Also kept as :attr:`diagnosis` and shown below the plots.
        """
        self.diagnosis = diagnose(self.model, self.X, target=self.target, device=self.device,
                                  random_state=self.random_state)
        colour = "#1a7f37" if self.diagnosis.ok else "#b42318"
        self.diagnosis_box.value = (f"<pre style='color:{colour};font-size:11px;line-height:1.3'>"
                                    f"{html.escape(self.diagnosis.summary())}</pre>")
        return self.diagnosis

    def flip(self, position: int) -> None:
        """Turn the base at ``position`` into the next one (A>C>G>T>A)."""
        self.edit(position, (int(self.X[0, :, position].argmax()) + 1) % 4)

    def knock_out(self, start: int, end: int) -> None:
        """Replace ``[start, end)`` by a shuffle of itself that differs from it
        (:func:`~xai_widgets.data.shuffle.differing_shuffle`); each call draws anew."""
        start, end = self._check_span(start, end)
        seed = self.random_state + self._n_knockouts
        self._n_knockouts += 1
        X = self.X.clone()
        X[:, :, start:end] = differing_shuffle(self.X[:, :, start:end], random_state=seed)
        self._push(X, f"knock-out {start}-{end}")

    def restore(self, start: int, end: int) -> None:
        """Put the starting sequence's bases back in ``[start, end)``."""
        start, end = self._check_span(start, end)
        X = self.X.clone()
        X[:, :, start:end] = self.original[:, :, start:end]
        self._push(X, f"restore {start}-{end}")

    def undo(self) -> None:
        """Go back one edit (no-op at the start)."""
        if self._cursor > 0:
            self._cursor -= 1
            self._refresh()

    def redo(self) -> None:
        """Re-apply an undone edit (no-op when there is none)."""
        if self._cursor < len(self._states) - 1:
            self._cursor += 1
            self._refresh()

    def reset(self) -> None:
        """Back to the starting sequence, clearing the history."""
        self._states = self._states[:1]
        self._cursor = 0
        self._refresh()

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

    # ---- internals ----------------------------------------------------------------------
    def _check_method(self, method: str) -> None:
        if method not in ATTRIBUTION_METHODS:
            raise ValueError(f"method must be one of {list(ATTRIBUTION_METHODS)}; got {method!r}")
        if method not in self.available_methods:
            reason = capabilities(self.model)[ATTRIBUTION_METHODS[method]]
            raise ValueError(f"{method} does not apply to {type(self.model).__name__}: {reason}")

    def _check_span(self, start: int, end: int) -> tuple[int, int]:
        if not 0 <= start < end <= self.X.shape[2]:
            raise ValueError(f"need 0 <= start < end <= {self.X.shape[2]}; got start={start}, end={end}")
        return int(start), int(end)

    def _push(self, X: torch.Tensor, label: str) -> None:
        predictions = predict(self.model, X, device=self.device)[0]
        self._states = self._states[: self._cursor + 1] + [FlipperState(X, label, predictions)]
        self._cursor += 1
        self._refresh()

    def _cached(self, key, compute):
        """Memoise ``compute()`` under ``key`` (the 64 most recent results)."""
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        value = self._cache[key] = compute()
        if len(self._cache) > 64:
            self._cache.popitem(last=False)
        return value

    def _ism_all_targets(self, X: torch.Tensor):
        """ISM of ``X`` for every output at once (the fast path evaluates all outputs anyway);
        its ``reference`` is the prediction of every output."""
        return self._cached(("ism", X.numpy().tobytes()), lambda: saturation_mutagenesis(
            self.model, X, target="all", batch_size=self.batch_size, device=self.device))

    def _compute(self, X: torch.Tensor):
        """ISM result for the current target and the logo's map ``(4, L)`` for ``X``."""
        every = self._ism_all_targets(X)
        t = self.target
        ism = ISMResult(every.delta[:, t], every.prediction[:, t], X, every.path, t)
        if self.method == "ism":
            return ism, ism.values[0]
        function = {"saliency": saliency, "gradient_x_input": gradient_x_input,
                    "integrated_gradients": integrated_gradients, "deep_lift_shap": deep_lift_shap}[self.method]
        options = self.method_options.get(self.method, {})
        values = self._cached((self.method, t, X.numpy().tobytes()), lambda: function(
            self.model, X, target=t, device=self.device, **options).values[0])
        return ism, values

    def _refresh(self) -> None:
        """Show the current state in two messages: first the sequence, history and prediction
        (one forward pass, already done), then the ISM heatmap and attribution logo."""
        if self.method not in self.available_methods:
            self._check_method(self.method)
        started = time.perf_counter()
        X = self.X
        with self._batched():
            update_source(self.sources["sequence"], logo_data(X))
            predictions = [float(s.predictions[self.target]) for s in self._states]
            update_source(self.sources["history"], history_data(predictions, [s.label for s in self._states],
                                                                self._cursor))
            self.readout.value = readout_html(self.prediction, predictions[0], f"prediction ({self.target})")
        shown = time.perf_counter()
        self.ism, self.attribution = self._compute(X)
        computed = time.perf_counter()
        with self._batched():
            limit = symmetric_limit(self.ism.delta[0].numpy())
            self._color_mapper.update(low=-limit, high=limit)
            update_source(self.sources["logo"], logo_data(self.attribution))
            update_source(self.sources["heatmap"], heatmap_data(self.ism.delta[0]))
        done = time.perf_counter()
        self.timings = {"sequence_ms": (shown - started) * 1000, "compute_ms": (computed - shown) * 1000,
                        "maps_ms": (done - computed) * 1000}

    def _batched(self):
        return self.plot.batched() if self.plot is not None else nullcontext()
