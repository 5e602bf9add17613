"""Feature x feature interaction heatmaps (DFIM, pairwise ISM): one cell per (source, target)
feature pair, with a colour bar; hovering a cell can highlight both features on another figure.

The InteractionMap widget draws with these builders, so its heatmap and a static figure
(:func:`interaction_figure`) share one code path.
"""

from __future__ import annotations

import numpy as np

#: Titles and colour-bar labels by kind of map.
KINDS = {
    "dfim": ("DFIM: does mutating a source change a target?", "|change of the target's importance|"),
    "pairwise": ("pairwise ISM: epistasis of two positions", "max |epistasis| of a substitution pair"),
}

#: BokehJS hover callback: the hovered cell's two feature spans go to the ``highlight`` source
#: (source in orange, target in green).
HIGHLIGHT_JS = """
const k = cb_data.index.indices;
if (k.length == 0) { return; }
const d = cells.data, i = k[0];
highlight.data = {left: [d.source_left[i], d.target_left[i]], right: [d.source_right[i], d.target_right[i]],
                  motif: ["source " + d.source[i], "target " + d.target[i]], site: ["", ""],
                  color: ["#d95f02", "#1b9e77"]};
"""

#: Approximate width of a title character in pixels (Bokeh's 13 px bold sans-serif).
TITLE_CHAR_PX = 7.5


def interaction_data(matrix, features) -> dict:
    """Columns for :func:`interaction_heatmap_figure`: one row per (source, target) pair.

    Parameters
    ----------
    matrix : torch.Tensor or numpy.ndarray, shape (F, F)
        ``matrix[s, t]``: the interaction of source feature ``s`` with target feature ``t``
        (NaN where undefined, e.g. a feature with itself).
    features : sequence
        ``F`` features with ``label``, ``start`` and ``end`` (end exclusive), e.g.
        :class:`xai_widgets.methods.Feature`.

    Returns
    -------
    dict
        ``source``, ``target`` (labels), ``value`` (NaN as 0 for the colours), ``shown`` (the
        value as text, ``"n/a"`` for NaN) and the spans ``source_left``/``_right``,
        ``target_left``/``_right``.
    """
    if hasattr(matrix, "detach"):
        matrix = matrix.detach().cpu().numpy()
    matrix = np.asarray(matrix, dtype=float)
    n = len(features)
    if matrix.shape != (n, n):
        raise ValueError(f"matrix must have shape (F, F) = ({n}, {n}) for {n} features; got {matrix.shape}")
    s_index, t_index = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    s_index, t_index = s_index.ravel(), t_index.ravel()
    values = matrix.ravel()
    return {"source": [features[i].label for i in s_index], "target": [features[j].label for j in t_index],
            "value": np.nan_to_num(values, nan=0.0), "shown": [f"{v:.4f}" if np.isfinite(v) else "n/a" for v in values],
            "source_left": [features[i].start - 0.5 for i in s_index],
            "source_right": [features[i].end - 0.5 for i in s_index],
            "target_left": [features[j].start - 0.5 for j in t_index],
            "target_right": [features[j].end - 0.5 for j in t_index]}


def title_fits(title: str, fig) -> bool:
    """Whether ``title`` fits in the plot area of ``fig`` (:data:`TITLE_CHAR_PX` per character).

    Parameters
    ----------
    title : str
    fig : bokeh.plotting.figure
        Its ``width`` less its left border and a 40-pixel toolbar is the room.

    Returns
    -------
    bool
    """
    room = fig.width - (fig.min_border_left or 0) - 40
    return len(title) * TITLE_CHAR_PX <= room


def interaction_heatmap_figure(source, labels, *, kind: str = "dfim", highlight=None, limit: float | None = None,
                               name: str = "interaction_heatmap"):
    """A feature x feature heatmap (sources down, targets across), 0 to ``limit`` in Viridis,
    with a colour bar; hover shows the pair and its score.

    Parameters
    ----------
    source : bokeh.models.ColumnDataSource
        :func:`interaction_data` columns.
    labels : sequence of str
        Feature labels in matrix order.
    kind : {"dfim", "pairwise"}, optional
        Sets the title and the colour bar's label (:data:`KINDS`); default ``"dfim"``.
    highlight : bokeh.models.ColumnDataSource, optional
        Default None. Otherwise hovering a cell writes both features' spans into it
        (:data:`HIGHLIGHT_JS`; columns ``left``, ``right``, ``motif``, ``site``, ``color``).
    limit : float, optional
        Top of the colour scale; default None: the largest value in ``source``.
    name : str, optional
        Bokeh name; default ``"interaction_heatmap"``. The colour bar is ``{name}_colorbar``.

    Returns
    -------
    bokeh.plotting.figure
    """
    from bokeh.models import (
        BasicTicker,
        ColorBar,
        CustomJS,
        FactorRange,
        HoverTool,
        LinearColorMapper,
    )
    from bokeh.plotting import figure

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {tuple(KINDS)}; got {kind!r}")
    title, bar_label = KINDS[kind]
    labels = list(labels)
    if limit is None:
        limit = float(np.max(np.asarray(source.data.get("value", [0.0]), dtype=float), initial=0.0))
    limit = max(float(limit), 1e-9)
    mapper = LinearColorMapper(palette="Viridis256", low=0, high=limit, name=f"{name}_colors")
    side = min(560, max(320, 60 + 40 * len(labels)))
    fig = figure(width=side + 200, height=side + 60, name=name, tools="reset,save", min_border_left=110,
                 min_border_bottom=90, x_range=FactorRange(*labels), y_range=FactorRange(*reversed(labels)),
                 title=title)
    fig.toolbar.logo = None
    rects = fig.rect(x="target", y="source", width=1, height=1, source=source, line_color="white",
                     fill_color={"field": "value", "transform": mapper})
    fig.xaxis.axis_label, fig.yaxis.axis_label = "target feature", "source feature (mutated)"
    fig.xaxis.major_label_orientation = 0.9
    bar = ColorBar(color_mapper=mapper, name=f"{name}_colorbar", ticker=BasicTicker(desired_num_ticks=6),
                   title=bar_label, title_text_font_size="11px", title_text_font_style="normal",
                   major_label_text_font_size="10px", width=12, padding=6)
    fig.add_layout(bar, "right")
    hover = HoverTool(renderers=[rects], tooltips=[("source", "@source"), ("target", "@target"), ("score", "@shown")])
    if highlight is not None:
        hover.callback = CustomJS(args={"cells": source, "highlight": highlight}, code=HIGHLIGHT_JS)
    fig.add_tools(hover)
    return fig


def interaction_figure(matrix, features, *, kind: str = "dfim", name: str = "interaction_heatmap"):
    """A static interaction heatmap of ``matrix`` (e.g. ``dfim(...).scores`` with its features).

    Parameters
    ----------
    matrix : torch.Tensor or numpy.ndarray, shape (F, F)
    features : sequence
        ``F`` features with ``label``, ``start`` and ``end``.
    kind : {"dfim", "pairwise"}, optional
        Default ``"dfim"``.
    name : str, optional
        Bokeh name; default ``"interaction_heatmap"``.

    Returns
    -------
    bokeh.plotting.figure
    """
    from bokeh.models import ColumnDataSource

    source = ColumnDataSource(interaction_data(matrix, features), name=f"{name}_source")
    return interaction_heatmap_figure(source, [f.label for f in features], kind=kind, name=name)
