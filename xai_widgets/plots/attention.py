"""Attention over a sequence: a heat strip (one cell per input position), a marker for the query
token, and a panel that stacks the sequence, the strip and an ISM importance track.

Scores come from :func:`xai_widgets.methods.attention.attention_importance`; the builders only
turn them into ``ColumnDataSource`` columns.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._common import as_map, as_track
from .logo import logo_data
from .tracks import (
    _track,
    add_instance_boxes,
    attribution_track_figure,
    color_bar,
    instance_data,
    sequence_figure,
    symmetric_limit,
    track_data,
)

#: Pixels added below the sequence's bases for the motif names.
NAME_BAND_PX = 18


def _palette() -> tuple:
    from bokeh.palettes import Oranges256

    return tuple(reversed(Oranges256))  # light (no attention) to dark


def heat_strip_data(values, start: int = 0) -> dict:
    """Columns for :func:`heat_strip_figure`: ``position`` and ``value``, one row per position.

    Parameters
    ----------
    values : torch.Tensor or numpy.ndarray, shape (L,) or (1, L)
        A score per input position, e.g. ``attention_importance(maps)[i]``.
    start : int, optional
        Coordinate of the first position; default 0.

    Returns
    -------
    dict
    """
    values = as_track(values, "values")
    if not np.isfinite(values).all():
        raise ValueError("values contains NaN or infinite values")
    return {"position": np.arange(start, start + len(values)), "value": values}


def heat_strip_figure(source, *, width: int = 900, height: int = 130, x_range=None, name: str = "strip",
                      title: str | None = None, label: str = "attention (scale: 0 to the largest value shown)"):
    """One cell per position coloured by its value, light (0) to dark (the maximum); hover and tap.

    The colour mapper is ``fig.select_one({"name": f"{name}_colors"})``; set its ``high`` to
    :func:`~xai_widgets.plots.tracks.symmetric_limit` of the values when they change.

    Parameters
    ----------
    source : bokeh.models.ColumnDataSource
        :func:`heat_strip_data` columns.
    width : int, optional
        Pixels; default 900.
    height : int, optional
        Pixels, the colour bar included; default 130.
    x_range : bokeh.models.Range, optional
        Default None: a new range. Share one with the other tracks.
    name : str, optional
        Bokeh name; default ``"strip"``.
    title : str, optional
        Default None: no title.
    label : str, optional
        Title of the colour bar (named ``{name}_colorbar``); default
        ``"attention (scale: 0 to the largest value shown)"``.

    Returns
    -------
    bokeh.plotting.figure
    """
    from bokeh.models import HoverTool, LinearColorMapper

    fig = _track(name, width, height, x_range, title=title, tap=True)
    mapper = LinearColorMapper(palette=list(_palette()), low=0.0,
                               high=symmetric_limit(source.data.get("value", [0])), name=f"{name}_colors")
    cells = fig.rect(x="position", y=0.5, width=1, height=1, source=source, line_color=None,
                     fill_color={"field": "value", "transform": mapper})
    fig.add_tools(HoverTool(renderers=[cells], tooltips=[("position", "@position"), ("attention", "@value{0.0000}")]))
    fig.add_layout(color_bar(mapper, title=label, name=f"{name}_colorbar", width=min(420, width - 120)), "below")
    fig.y_range.start, fig.y_range.end = 0, 1
    fig.yaxis.visible = False
    fig.ygrid.visible = False
    return fig


def query_data(position: int | None, *, stride: int = 1, start: int = 0) -> dict:
    """Columns for :func:`add_query_marker`: the span ``left``/``right`` of the token that
    contains input ``position`` (tokens of ``stride`` positions); no rows for None.

    Parameters
    ----------
    position : int or None
        Input position of the query.
    stride : int, optional
        Input positions per token; default 1.
    start : int, optional
        Coordinate of the first position; default 0.

    Returns
    -------
    dict
    """
    if position is None:
        return {"left": [], "right": [], "position": []}
    first = position // stride * stride
    return {"left": [start + first - 0.5], "right": [start + first + stride - 0.5], "position": [start + position]}


def add_query_marker(fig, source, *, color: str = "#111111") -> None:
    """Outline the query token (from :func:`query_data`) across the full height of ``fig``.

    Parameters
    ----------
    fig : bokeh.plotting.figure
    source : bokeh.models.ColumnDataSource
        :func:`query_data` columns.
    color : str, optional
        Default ``"#111111"``.
    """
    fig.vstrip(x0="left", x1="right", source=source, fill_color=color, fill_alpha=0.08, line_color=color,
               line_width=2, level="overlay")


class AttentionPanel(NamedTuple):
    """What :func:`attention_panel` builds: the layout, and its figures and sources by role.

    ``figures``: ``sequence``, ``strip``, ``ism``. ``sources``: those three plus ``instances``
    and ``query``. Figures are named ``{name}_{role}``, sources ``{name}_{role}_source``.
    """

    layout: object
    figures: dict
    sources: dict


def attention_panel(X, attention, *, ism=None, instances=(), query: int | None = None, stride: int = 1,
                    start: int = 0, width: int = 900, name: str = "attention",
                    title: str = "attention") -> AttentionPanel:
    """The sequence, an attention heat strip and an ISM importance track on one x range.

    Parameters
    ----------
    X : torch.Tensor or numpy.ndarray, shape (4, L) or (1, 4, L)
        The one-hot sequence.
    attention : torch.Tensor or numpy.ndarray, shape (L,)
        Attention per position (:func:`~xai_widgets.methods.attention.attention_importance`).
    ism : torch.Tensor or numpy.ndarray, shape (L,), optional
        ISM importance per position; default None: the ISM figure is built but hidden.
    instances : iterable, optional
        Motif instances to shade and name (see :func:`~xai_widgets.plots.tracks.instance_data`);
        default ``()``: none.
    query : int, optional
        Input position of the query whose token is outlined; default None: no outline.
    stride : int, optional
        Input positions per attention token (``AttentionMaps.stride``); default 1.
    start : int, optional
        Coordinate of the first position; default 0.
    width : int, optional
        Pixels; default 900.
    name : str, optional
        Prefix of the figure and source names; default ``"attention"``.
    title : str, optional
        Title of the heat strip; default ``"attention"``.

    Returns
    -------
    AttentionPanel
        ``show(panel.layout)`` displays it.
    """
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, Range1d

    length = as_map(X, "X").shape[1]
    attention = as_track(attention, "attention")
    if len(attention) != length:
        raise ValueError(f"attention has {len(attention)} positions but X has {length}")
    columns = {"sequence": logo_data(X, start), "strip": heat_strip_data(attention, start),
               "ism": track_data(np.zeros(length) if ism is None else ism, start),
               "instances": instance_data(instances, start), "query": query_data(query, stride=stride, start=start)}
    sources = {role: ColumnDataSource(data, name=f"{name}_{role}_source") for role, data in columns.items()}
    x_range = Range1d(start - 0.5, start + length - 0.5, bounds=(start - 0.5, start + length - 0.5))
    figures = {
        "sequence": sequence_figure(sources["sequence"], width=width, x_range=x_range, name=f"{name}_sequence"),
        "strip": heat_strip_figure(sources["strip"], width=width, x_range=x_range, name=f"{name}_strip",
                                   title=title),
        "ism": attribution_track_figure(sources["ism"], width=width, x_range=x_range, name=f"{name}_ism",
                                        y_label="|ISM|"),
    }
    figures["ism"].visible = ism is not None
    # the ISM track may be hidden: the sequence names the motifs, in a band below its bases
    sequence = figures["sequence"]
    units_per_px = (sequence.y_range.end - sequence.y_range.start) / (sequence.height - 30)  # 30 px: the x axis
    sequence.height += NAME_BAND_PX
    sequence.y_range.start -= NAME_BAND_PX * units_per_px
    for role in ("sequence", "ism"):
        add_instance_boxes(figures[role], sources["instances"], names=role == "sequence")
    for role in ("sequence", "strip"):
        add_query_marker(figures[role], sources["query"])
    # the heat strip sits above the sequence it describes, the ISM track below
    layout = column(figures["strip"], figures["sequence"], figures["ism"])
    return AttentionPanel(layout, figures, sources)
