"""AttentionOverlay: click a position and see where its attention token looks, layer by layer.

The view of :class:`~xai_widgets.widgets.core.AttentionCore`, which holds the state."""

from __future__ import annotations

from contextlib import nullcontext

import ipywidgets as ipw
import torch
import traitlets
from torch import nn

from ..plots import attention_panel, heat_strip_data, padded_limits, query_data, symmetric_limit, track_data
from ._common import as_sequence, bokeh_widget, target_options, update_source
from .core import AttentionCore

_MEAN = "mean"  # the dropdown value of "all layers" / "mean of heads" (the trait is None)
_TO_TRAIT = (lambda v: None if v == _MEAN else v, lambda v: _MEAN if v is None else v)


class AttentionOverlay(ipw.VBox):
    """Attention maps over a sequence: per query position, layer and head, beside ISM importance.

    Click (tap) a letter of the sequence or a cell of the heat strip to make that position the
    query: the strip then shows the attention of the query's token over the sequence. With no
    query (the "clear query" button) it shows the attention each position receives, averaged
    over queries. Both come from :func:`~xai_widgets.methods.attention.attention_importance`
    (tokens spread over their receptive fields); the dropdowns pick one layer or head, or
    their mean. The toggle shows ISM importance (``|ISM|`` per position) below.

    Settable state is in traitlets: :attr:`query_position`, :attr:`layer`, :attr:`head`,
    :attr:`show_ism` and :attr:`target`; computed state: :attr:`maps`, :attr:`attention` (what
    the strip draws), :attr:`ism_importance` (kept by :attr:`core`, an
    :class:`~xai_widgets.widgets.core.AttentionCore`).

    Parameters
    ----------
    model : torch.nn.Module
        A model with ``attention_maps`` (e.g. ``zoo.load("attention_motif_presence")``).
    sequence : str or torch.Tensor, shape (4, L) or (1, 4, L)
    target : int or str, optional
        Output ISM explains (index, or name); default None: the model's only output (a
        multi-output model raises ``ValueError``: pass ``target=``).
    instances : iterable of tuple, optional
        Motif instances ``(name, start, end[, strand])`` to shade, e.g.
        ``task.instances.for_sequence(i)``; default ``()``: none.
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available.
    width : int, optional
        Pixels; default 900.

    Examples
    --------
    >>> overlay = AttentionOverlay(zoo.load("attention_motif_presence"), task.X[0], target=3)  # doctest: +SKIP
    >>> overlay.query_position = 57; overlay.layer = 1; overlay.attention.argmax()    # doctest: +SKIP
    """

    query_position = traitlets.Int(None, allow_none=True)
    layer = traitlets.Int(None, allow_none=True)
    head = traitlets.Int(None, allow_none=True)
    show_ism = traitlets.Bool(False)
    target = traitlets.Union([traitlets.Int(), traitlets.Unicode()])  # a name becomes its index

    def __init__(self, model: nn.Module, sequence, *, target=None, instances=(), device="auto", width: int = 900):
        from bokeh.events import DoubleTap, Tap
        from bokeh.models import Range1d

        self.core = AttentionCore(model, as_sequence(sequence), target=target, device=device)
        self.model, self.device, self.X, self.maps = model, self.core.device, self.core.X, self.core.maps
        self.attention: torch.Tensor | None = None
        self.ism_importance: torch.Tensor | None = None
        self.target = self.core.target

        length = self.X.shape[2]
        panel = attention_panel(self.X, torch.zeros(length), ism=None, instances=instances, stride=self.maps.stride,
                                width=width, name="attention")
        self.figures, self.sources = panel.figures, panel.sources
        # the ISM track is hidden (and all zeros) until shown: an explicit y range, set from the
        # scores when they come (BokehJS cannot derive one and warns "could not set initial ranges")
        self.figures["ism"].y_range = Range1d(*padded_limits([], include_zero=True))
        self._strip_colors = self.figures["strip"].select_one({"name": "attention_strip_colors"})
        # BokehJS reports a second tap within 300 ms as a DoubleTap (and no Tap): both are clicks
        for event in (Tap, DoubleTap):
            for role in ("sequence", "strip"):
                self.figures[role].on_event(event, self.on_sequence_tap)

        n_layers, n_heads = self.maps.n_layers, self.maps.n_heads
        self.layer_dropdown = ipw.Dropdown(
            options=[(f"layer {i}", i) for i in range(n_layers)] + [("all layers (mean)", _MEAN)], value=_MEAN,
            description="layer", layout=ipw.Layout(width="220px"))
        self.head_dropdown = ipw.Dropdown(
            options=[(f"head {i}", i) for i in range(n_heads)] + [("mean of heads", _MEAN)], value=_MEAN,
            description="head", layout=ipw.Layout(width="220px"))
        self.ism_toggle = ipw.ToggleButton(value=False, description="show ISM importance",
                                           layout=ipw.Layout(width="180px"))
        self.clear_button = ipw.Button(description="clear query", tooltip="show the attention each position receives")
        self.clear_button.on_click(lambda _: setattr(self, "query_position", None))
        self.target_dropdown = ipw.Dropdown(options=target_options(model, self.core.n_outputs), value=self.target,
                                            description="ISM of", layout=ipw.Layout(width="240px"))
        self.readout = ipw.HTML().add_class("xw-attention-readout")
        traitlets.link((self.target_dropdown, "value"), (self, "target"))
        traitlets.link((self.layer_dropdown, "value"), (self, "layer"), transform=_TO_TRAIT)
        traitlets.link((self.head_dropdown, "value"), (self, "head"), transform=_TO_TRAIT)
        traitlets.link((self.ism_toggle, "value"), (self, "show_ism"))
        self.observe(lambda _: self._refresh(), names=["query_position", "layer", "head", "show_ism", "target"])

        self.plot = None
        self._refresh()
        self.plot = bokeh_widget(panel.layout)
        controls = ipw.HBox([self.layer_dropdown, self.head_dropdown, self.ism_toggle, self.target_dropdown,
                             self.clear_button])
        super().__init__([controls, self.readout, self.plot])
        self.add_class("xw-attention")

    def __repr__(self) -> str:
        return (f"AttentionOverlay(model={type(self.model).__name__}, L={self.X.shape[2]}, "
                f"layers={self.maps.n_layers}, heads={self.maps.n_heads}, target={self.target}, "
                f"query={self.query_position}, layer={self.layer}, head={self.head})")

    # ---- validation of the settable state -------------------------------------------------
    @traitlets.validate("layer")
    def _check_layer(self, proposal):
        return self.core.check_layer(proposal.value)

    @traitlets.validate("head")
    def _check_head(self, proposal):
        return self.core.check_head(proposal.value)

    @traitlets.validate("query_position")
    def _check_query(self, proposal):
        return self.core.check_query(proposal.value)

    @traitlets.validate("target")
    def _check_target(self, proposal):
        return self.core.check_target(proposal.value)

    # ---- click callbacks (Bokeh Tap events carry data coordinates) ------------------------
    def on_sequence_tap(self, event) -> None:
        """A click on the sequence or the strip: that position becomes the query (clicks
        outside the positions that attention tokens cover are ignored)."""
        position = int(round(event.x))
        if self.core.covers(position):
            self.query_position = position

    # ---- internals ------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Recompute the drawn attention (and ISM once, when first shown) and redraw in one message."""
        query = self.query_position
        self.core.target = self.target
        self.attention = self.core.attention(layer=self.layer, head=self.head, query=query)
        if self.show_ism:
            self.ism_importance = self.core.ism_importance()
        peak = int(self.attention.argmax())
        parts = [f"query {query}" if query is not None else "attention received (mean over queries)",
                 f"layer {_label(self.layer)}", f"head {_label(self.head)}",
                 f"max attention {float(self.attention[peak]):.3f} at {peak}"]
        if self.show_ism:
            parts.append(f"r with |ISM| ({self.target}) {self.core.agreement(self.attention):.2f}")
        with self._batched():
            update_source(self.sources["strip"], heat_strip_data(self.attention))
            self._strip_colors.high = symmetric_limit(self.attention.numpy())
            update_source(self.sources["query"], query_data(query, stride=self.maps.stride))
            self.figures["strip"].title.text = parts[0]
            self.figures["ism"].visible = self.show_ism
            if self.show_ism:
                update_source(self.sources["ism"], track_data(self.ism_importance))
                ism_range = self.figures["ism"].y_range
                ism_range.start, ism_range.end = padded_limits(self.ism_importance.numpy(), include_zero=True)
            self.readout.value = " · ".join(parts)

    def _batched(self):
        return self.plot.batched() if self.plot is not None else nullcontext()


def _label(index: int | None) -> str:
    return "mean" if index is None else str(index)
