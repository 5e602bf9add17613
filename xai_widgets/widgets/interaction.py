"""InteractionMap: which features of a sequence depend on which (DFIM or pairwise ISM).

The view of :class:`~xai_widgets.widgets.core.InteractionCore`, which holds the state."""

from __future__ import annotations

import ipywidgets as ipw
import numpy as np
import traitlets
from torch import nn

from ..plots import (
    add_instance_boxes,
    before_after_figures,
    instance_data,
    interaction_data,
    interaction_heatmap_figure,
    logo_data,
    logo_figure,
    track_data,
)
from ._common import as_sequence, bokeh_widget, update_source
from .core import InteractionCore
from .core.interaction import MODES  # noqa: F401 (re-exported: the modes this widget offers)


class InteractionMap(ipw.VBox):
    """A feature x feature interaction heatmap linked to the sequence's attribution logo.

    ``mode="dfim"``: Deep Feature Interaction Maps between features (motif instances, spans or
    positions; default the given ``instances``): cell (source, target) is how much the target's
    importance changes when the source is mutated (:func:`~xai_widgets.methods.dfim`).
    ``mode="pairwise"``: pairwise ISM over ``window``: cell (i, j) is the largest epistasis of
    any pair of substitutions at positions i and j (:func:`~xai_widgets.methods.pairwise_ism`).

    Hover a cell to highlight both features on the logo; click it to plot the importance of
    every position before and after mutating the source (the target is shaded).

    The settable state is the traitlet :attr:`selected`, the ``(source, target)`` cell shown
    (or None); the numbers are kept by :attr:`core`, an
    :class:`~xai_widgets.widgets.core.InteractionCore`.

    Parameters
    ----------
    model : torch.nn.Module
    sequence : str or torch.Tensor, shape (4, L) or (1, 4, L)
    features : list, optional
        DFIM features; default None: ``instances``.
    instances : list of tuple, optional
        Motif instances ``(name, start, end[, strand])`` to mark (and to use as features); default ``()``:
        none.
    window : (int, int), optional
        Pairwise-ISM window (required for ``mode="pairwise"``; at most 40 positions); default None.
    mode : {"dfim", "pairwise"}, optional
        Default ``"dfim"``.
    target : int or str, optional
        Output explained; default None: the model's only output (a multi-output model raises
        ``ValueError``: pass ``target=``).
    n_null : int, optional
        DFIM null size; default 10.
    n_draws : int, optional
        Mutated copies per source; default 8.
    device : str or torch.device, optional
        Default ``"auto"``.
    random_state : int, optional
        Seed of the mutations; default 0.
    width : int, optional
        Pixels; default 900.
    progress : bool, optional
        Progress bars; default True.
    """

    selected = traitlets.Tuple(None, allow_none=True)

    def __init__(self, model: nn.Module, sequence, *, features=None, instances=(), window=None, mode: str = "dfim",
                 target=None, n_null: int = 10, n_draws: int = 8, device="auto", random_state: int = 0,
                 width: int = 900, progress: bool = True):
        from bokeh.events import DoubleTap, Tap
        from bokeh.layouts import column, row
        from bokeh.models import ColumnDataSource, Range1d

        instances = list(instances)
        self.core = core = InteractionCore(model, as_sequence(sequence), features=features, instances=instances,
                                           window=window, mode=mode, target=target, n_null=n_null, n_draws=n_draws,
                                           device=device, random_state=random_state, progress=progress)
        self.model, self.device, self.target, self.mode, self.X = model, core.device, core.target, mode, core.X
        self.result, self.features, self.matrix, self.importance = core.result, core.features, core.matrix, \
            core.importance
        length, matrix = self.X.shape[2], self.matrix

        cells = ColumnDataSource(interaction_data(matrix, self.features), name="interaction_cells_source")
        highlight = ColumnDataSource(instance_data([]) | {"color": []}, name="interaction_highlight_source")
        self.heatmap = interaction_heatmap_figure(cells, [f.label for f in self.features], kind=mode,
                                                  highlight=highlight, name="interaction_heatmap")
        for event in (Tap, DoubleTap):
            self.heatmap.on_event(event, self.on_cell_tap)

        x_range = Range1d(-0.5, length - 0.5, bounds=(-0.5, length - 0.5))
        self.sources = {"cells": cells, "highlight": highlight,
                        "logo": ColumnDataSource(logo_data(core.values), name="interaction_logo_source"),
                        "instances": ColumnDataSource(instance_data(instances), name="interaction_instances_source"),
                        "before": ColumnDataSource(track_data(self.importance), name="interaction_before_source"),
                        "after": ColumnDataSource(track_data(np.zeros(length)), name="interaction_after_source"),
                        "chosen": ColumnDataSource(instance_data([]), name="interaction_chosen_source")}
        self.logo = logo_figure(source=self.sources["logo"], width=width, x_range=x_range, name="interaction_logo",
                                title="ISM attribution; hover a cell to highlight its features")
        add_instance_boxes(self.logo, self.sources["instances"], names=True)
        self.logo.vstrip(x0="left", x1="right", source=highlight, fill_color="color", fill_alpha=0.25,
                         line_color="color")
        self.tracks = before_after_figures(self.sources["before"], self.sources["after"], width=width, height=110,
                                           x_range=x_range, name="interaction")
        for fig in self.tracks.values():
            add_instance_boxes(fig, self.sources["chosen"], color="#1b9e77")
        self.readout = ipw.HTML("<i>click a cell: importance before and after mutating its source</i>")
        self.readout.add_class("xw-interaction-readout")
        self.plot = bokeh_widget(column(row(self.heatmap), self.logo, self.tracks["before"], self.tracks["after"]))
        self.observe(self._on_selected, names="selected")
        super().__init__([self.readout, self.plot])
        self.add_class("xw-interaction")

    def __repr__(self) -> str:
        return (f"InteractionMap(model={type(self.model).__name__}, mode={self.mode!r}, "
                f"features={len(self.features)}, selected={self.selected})")

    def on_cell_tap(self, event) -> None:
        """A click on a cell (categorical axes: factor k spans [k, k + 1))."""
        n = len(self.features)
        target, source = int(np.floor(event.x)), n - 1 - int(np.floor(event.y))  # y factors are reversed
        if 0 <= source < n and 0 <= target < n:
            self.select(source, target)

    @property
    def after(self):
        """Importance of every position after mutating the selected cell's source, or None."""
        return self.core.after

    @traitlets.validate("selected")
    def _check_selected(self, proposal):
        return None if proposal["value"] is None else self.core.check_cell(*proposal["value"])

    def select(self, source: int, target: int) -> None:
        """Show every position's importance before and after mutating feature ``source``."""
        self.selected = (source, target)

    def _on_selected(self, change) -> None:
        if change["new"] is None:
            return
        shown = self.core.select(*change["new"])
        src, tgt = shown["source"], shown["target"]
        with self.plot.batched():
            update_source(self.sources["after"], track_data(self.after))
            update_source(self.sources["chosen"], instance_data([(f"target {tgt.label}", tgt.start, tgt.end)]))
        self.readout.value = (f"source <b>{src.label}</b> mutated → target <b>{tgt.label}</b>: importance "
                              f"<span class='xw-before'>{shown['before']:.4f}</span> → "
                              f"<span class='xw-after'>{shown['after']:.4f}</span> (score {shown['score']:.4f})")
