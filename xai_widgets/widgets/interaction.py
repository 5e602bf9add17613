"""InteractionMap: which features of a sequence depend on which (DFIM or pairwise ISM)."""

from __future__ import annotations

import ipywidgets as ipw
import numpy as np
import torch
from torch import nn

from .._core import resolve_device
from ..methods.interactions import Feature, _as_features, dfim, mutated_importance, pairwise_ism
from ..methods.ism import saturation_mutagenesis
from ..plots import add_instance_boxes, instance_data, logo_data, logo_figure
from ..plots.tracks import attribution_track_figure, track_data
from ._common import as_sequence, bokeh_widget, update_source

MODES = ("dfim", "pairwise")

_HIGHLIGHT_JS = """
const k = cb_data.index.indices;
if (k.length == 0) { return; }
const d = cells.data, i = k[0];
highlight.data = {left: [d.source_left[i], d.target_left[i]], right: [d.source_right[i], d.target_right[i]],
                  motif: ["source " + d.source[i], "target " + d.target[i]], site: ["", ""],
                  color: ["#d95f02", "#1b9e77"]};
"""


def _cells(matrix: torch.Tensor, sources: list[Feature], targets: list[Feature]) -> dict:
    """One heatmap row per (source, target) with its value and both spans."""
    s_index, t_index = np.meshgrid(np.arange(len(sources)), np.arange(len(targets)), indexing="ij")
    s_index, t_index = s_index.ravel(), t_index.ravel()
    values = matrix.numpy().ravel()
    return {"source": [sources[i].label for i in s_index], "target": [targets[j].label for j in t_index],
            "value": np.nan_to_num(values, nan=0.0), "shown": [f"{v:.4f}" if np.isfinite(v) else "n/a" for v in values],
            "source_left": [sources[i].start - 0.5 for i in s_index], "source_right": [sources[i].end - 0.5 for i in s_index],
            "target_left": [targets[j].start - 0.5 for j in t_index], "target_right": [targets[j].end - 0.5 for j in t_index]}


class InteractionMap(ipw.VBox):
    """A feature x feature interaction heatmap linked to the sequence's attribution logo.

    ``mode="dfim"``: Deep Feature Interaction Maps between features (motif instances, spans or
    positions; default the given ``instances``): cell (source, target) is how much the target's
    importance changes when the source is mutated (:func:`~xai_widgets.methods.dfim`).
    ``mode="pairwise"``: pairwise ISM over ``window``: cell (i, j) is the largest epistasis of
    any pair of substitutions at positions i and j (:func:`~xai_widgets.methods.pairwise_ism`).

    Hover a cell to highlight both features on the logo; click it to plot the importance of
    every position before and after mutating the source (the target is shaded).

    Parameters
    ----------
    model : torch.nn.Module
    sequence : str or torch.Tensor, shape (4, L) or (1, 4, L)
    features : list, optional
        DFIM features; default ``instances``.
    instances : list of tuple, optional
        Motif instances ``(name, start, end[, strand])`` to mark (and to use as features).
    window : (int, int), optional
        Pairwise-ISM window (required for ``mode="pairwise"``; at most 40 positions).
    mode : {"dfim", "pairwise"}
    target : int
    n_null, n_draws : int
        DFIM null size and mutated copies per source.
    device, random_state, width, progress
    """

    def __init__(self, model: nn.Module, sequence, *, features=None, instances=(), window=None, mode: str = "dfim",
                 target: int = 0, n_null: int = 10, n_draws: int = 8, device="auto", random_state: int = 0,
                 width: int = 900, progress: bool = True):
        from bokeh.events import DoubleTap, Tap
        from bokeh.layouts import column, row
        from bokeh.models import ColumnDataSource, CustomJS, FactorRange, HoverTool, LinearColorMapper, Range1d
        from bokeh.plotting import figure

        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
        self.model, self.device, self.target, self.mode = model, resolve_device(device), target, mode
        self.random_state, self.n_draws = random_state, n_draws
        self.X = as_sequence(sequence)
        length = self.X.shape[2]
        instances = list(instances)
        if mode == "dfim":
            specs = instances if features is None else list(features)
            self.features = _as_features(specs, length, "features")
            self.result = dfim(model, self.X, sources=self.features, target=target, n_null=n_null, n_draws=n_draws,
                               device=self.device, random_state=random_state, progress=progress)
            matrix = self.result.scores
        else:
            if window is None:
                raise ValueError("mode='pairwise' needs window=(start, end)")
            self.result = pairwise_ism(model, self.X, start=window[0], end=window[1], target=target,
                                       device=self.device, progress=progress)
            self.features = [Feature(f"pos {p}", p, p + 1) for p in self.result.positions.tolist()]
            matrix = self.result.per_position
        self.matrix = matrix
        ism = saturation_mutagenesis(model, self.X, target=target, device=self.device)
        self.importance = ism.values[0].sum(0)
        self.selected = None
        self.after = None

        labels = [f.label for f in self.features]
        cells = ColumnDataSource(_cells(matrix, self.features, self.features), name="interaction_cells_source")
        limit = max(float(np.nanmax(matrix.numpy(), initial=0.0)), 1e-9)
        mapper = LinearColorMapper(palette="Viridis256", low=0, high=limit)
        side = min(560, max(300, 60 + 40 * len(labels)))
        self.heatmap = figure(width=side + 140, height=side + 60, name="interaction_heatmap", tools="reset,save",
                              min_border_left=110, min_border_bottom=90,
                              x_range=FactorRange(*labels), y_range=FactorRange(*reversed(labels)),
                              title="DFIM: |change of target importance| when the source is mutated"
                              if mode == "dfim" else "pairwise ISM: max |epistasis|")
        self.heatmap.toolbar.logo = None
        rects = self.heatmap.rect(x="target", y="source", width=1, height=1, source=cells, line_color="white",
                                  fill_color={"field": "value", "transform": mapper})
        self.heatmap.xaxis.axis_label, self.heatmap.yaxis.axis_label = "target", "source"
        self.heatmap.xaxis.major_label_orientation = 0.9
        highlight = ColumnDataSource(instance_data([]) | {"color": []}, name="interaction_highlight_source")
        self.heatmap.add_tools(HoverTool(renderers=[rects], tooltips=[("source", "@source"), ("target", "@target"),
                                                                       ("score", "@shown")],
                                         callback=CustomJS(args={"cells": cells, "highlight": highlight},
                                                           code=_HIGHLIGHT_JS)))
        for event in (Tap, DoubleTap):
            self.heatmap.on_event(event, self.on_cell_tap)

        x_range = Range1d(-0.5, length - 0.5, bounds=(-0.5, length - 0.5))
        self.sources = {"cells": cells, "highlight": highlight,
                        "logo": ColumnDataSource(logo_data(ism.values[0]), name="interaction_logo_source"),
                        "instances": ColumnDataSource(instance_data(instances), name="interaction_instances_source"),
                        "before": ColumnDataSource(track_data(self.importance), name="interaction_before_source"),
                        "after": ColumnDataSource(track_data(np.zeros(length)), name="interaction_after_source"),
                        "chosen": ColumnDataSource(instance_data([]), name="interaction_chosen_source")}
        self.logo = logo_figure(source=self.sources["logo"], width=width, x_range=x_range, name="interaction_logo",
                                title="ISM attribution; hover a cell to highlight its features")
        add_instance_boxes(self.logo, self.sources["instances"])
        self.logo.vstrip(x0="left", x1="right", source=highlight, fill_color="color", fill_alpha=0.25,
                         line_color="color")
        self.tracks = {name: attribution_track_figure(self.sources[name], width=width, height=110, x_range=x_range,
                                                      name=f"interaction_{name}", y_label=name)
                       for name in ("before", "after")}
        for fig in self.tracks.values():
            add_instance_boxes(fig, self.sources["chosen"], color="#1b9e77")
        self.readout = ipw.HTML("<i>click a cell: importance before and after mutating its source</i>")
        self.readout.add_class("xw-interaction-readout")
        self.plot = bokeh_widget(column(row(self.heatmap), self.logo, self.tracks["before"], self.tracks["after"]))
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

    def select(self, source: int, target: int) -> None:
        """Show every position's importance before and after mutating feature ``source``."""
        src, tgt = self.features[source], self.features[target]
        self.selected = (source, target)
        self.after = mutated_importance(self.model, self.X, source=src, target=self.target, n_draws=self.n_draws,
                                        device=self.device, random_state=self.random_state)
        before_sum = float(self.importance[tgt.start : tgt.end].sum())
        after_sum = float(self.after[tgt.start : tgt.end].sum())
        with self.plot.batched():
            update_source(self.sources["after"], track_data(self.after))
            update_source(self.sources["chosen"], instance_data([(f"target {tgt.label}", tgt.start, tgt.end)]))
        self.readout.value = (f"source <b>{src.label}</b> mutated → target <b>{tgt.label}</b>: importance "
                              f"<span class='xw-before'>{before_sum:.4f}</span> → "
                              f"<span class='xw-after'>{after_sum:.4f}</span> (score {float(self.matrix[source, target]):.4f})")
