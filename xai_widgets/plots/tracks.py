"""Position-aligned tracks: the sequence, an ISM heatmap, an attribution track, boxes over motif
instances, and a prediction history. Each has a ``*_data`` builder of ``ColumnDataSource``
columns and a ``*_figure`` that draws from a source; figures given the same ``x_range`` pan
together."""

from __future__ import annotations

import numpy as np

from .._core import renamed_keywords
from ._common import BASE_COLORS, BASES, DIVERGING, as_map, as_track

_TOOLS = "xpan,xwheel_zoom,box_zoom,reset,save"


def _track(name: str, width: int, height: int, x_range, title=None, tools: str = _TOOLS, tap: bool = False,
           y_range=None):
    """A figure for a position track; ``tap`` adds a tap tool that reports clicks without
    selecting (so nothing fades), for widgets that handle ``bokeh.events.Tap``."""
    from bokeh.models import TapTool
    from bokeh.plotting import figure

    ranges = {} if x_range is None else {"x_range": x_range}
    if y_range is not None:
        ranges["y_range"] = y_range
    fig = figure(width=width, height=height, name=name, title=title, tools=tools,
                 active_scroll="xwheel_zoom" if "xwheel_zoom" in tools else None, **ranges)
    fig.toolbar.logo = None
    fig.xgrid.visible = False
    if tap:
        fig.add_tools(TapTool(behavior="inspect"))
    return fig


#: Pixels per position below which letters are unreadable: the sequence track then shows one
#: coloured cell per base instead (hover names it), and letters come back when zoomed in.
MIN_LETTER_PX = 7

_LETTERS_BY_ZOOM_JS = """
const readable = px_wide / Math.max(x_range.end - x_range.start, 1e-9) >= min_px;
letters.visible = readable;
cells.visible = !readable;
"""


def sequence_figure(source, *, width: int = 900, height: int = 60, x_range=None, name: str = "sequence"):
    """The sequence as letters of height 1 (draw from ``logo_data(X)``), readable at any zoom.

    Letters are drawn only while a position is at least :data:`MIN_LETTER_PX` pixels wide;
    zoomed further out the track shows one cell per position in its base's colour (hover
    names the base). Zooming in brings the letters back.

    Parameters
    ----------
    source : bokeh.models.ColumnDataSource
        :func:`~xai_widgets.plots.logo_data` columns of a one-hot sequence.
    width : int, optional
        Pixels; default 900.
    height : int, optional
        Pixels; default 60.
    x_range : bokeh.models.Range, optional
        Default None: a new range over the data. Share one with the other tracks.
    name : str, optional
        Bokeh name of the figure; default ``"sequence"``. Its renderers are
        ``{name}_letters`` and ``{name}_cells``.

    Returns
    -------
    bokeh.plotting.figure
    """
    from bokeh.models import CustomJS, HoverTool
    from bokeh.transform import factor_cmap

    from .logo import draw_letters

    fig = _track(name, width, height, x_range, tap=True)
    letters = draw_letters(fig, source, name=name)
    letters.name = f"{name}_letters"
    cells = fig.rect(x="position", y=0.5, width=1, height=1, source=source, line_color=None, name=f"{name}_cells",
                     fill_color=factor_cmap("base", [BASE_COLORS[b] for b in BASES], list(BASES)))
    fig.add_tools(HoverTool(renderers=[letters, cells], tooltips=[("position", "@position"), ("base", "@base")]))
    fig.y_range.start, fig.y_range.end = -0.1, 1.1
    fig.yaxis.visible = False
    fig.ygrid.visible = False
    positions = np.asarray(source.data.get("position", []), dtype=float)
    if (x_range is not None and getattr(x_range, "start", None) is not None
            and getattr(x_range, "end", None) is not None):
        span = float(x_range.end - x_range.start)
    else:
        span = float(np.ptp(positions)) + 1.0 if len(positions) else 1.0
    letters.visible = letters_readable(span, width)
    cells.visible = not letters.visible
    toggle = CustomJS(args={"letters": letters, "cells": cells, "x_range": fig.x_range, "px_wide": width,
                            "min_px": MIN_LETTER_PX}, code=_LETTERS_BY_ZOOM_JS)
    fig.x_range.js_on_change("start", toggle)
    fig.x_range.js_on_change("end", toggle)
    return fig


def letters_readable(span: float, width: int) -> bool:
    """Whether letters of ``span`` positions drawn across ``width`` pixels are readable.

    Parameters
    ----------
    span : float
        Positions shown.
    width : int
        Pixels across (the figure's width).

    Returns
    -------
    bool
        ``width / span >= MIN_LETTER_PX``.
    """
    return width / max(float(span), 1e-9) >= MIN_LETTER_PX


def heatmap_data(delta, start: int = 0) -> dict:
    """Columns for :func:`ism_heatmap_figure`: one row per (base, position), row ``y = 3 - base``.

    Parameters
    ----------
    delta : torch.Tensor or numpy.ndarray, shape (4, L) or (1, 4, L)
        Prediction change of each substitution (e.g. ``ISMResult.delta[i]``).
    start : int, optional
        Coordinate of the first position; default 0.

    Returns
    -------
    dict
        ``position``, ``y``, ``base`` (the substituted base) and ``value``, ``4 * L`` rows.
    """
    delta = as_map(delta, "delta")
    length = delta.shape[1]
    base_index = np.repeat(np.arange(4), length)
    return {"position": np.tile(np.arange(start, start + length), 4), "y": 3 - base_index,
            "base": np.array(list(BASES))[base_index].tolist(), "value": delta.reshape(-1)}


def symmetric_limit(values) -> float:
    """The largest absolute value (at least 1e-6): colour limits symmetric about zero.

    Parameters
    ----------
    values : array-like
        Any shape.

    Returns
    -------
    float
    """
    return max(float(np.abs(np.asarray(values)).max(initial=0.0)), 1e-6)


def padded_limits(values, *, pad: float = 0.05, include_zero: bool = False) -> tuple[float, float]:
    """``(start, end)`` of an explicit axis range holding every finite value, widened by ``pad``
    of the span on each side (by 0.5 when the span is 0); ``(0, 1)`` when no value is finite.

    Widgets give their figures explicit ``Range1d`` ranges and set them with this when the data
    change: BokehJS cannot derive a range from an empty or hidden source (it warns "could not
    set initial ranges").

    Parameters
    ----------
    values : array-like
        Any shape; NaN and infinite values are ignored.
    pad : float, optional
        Fraction of the span added on each side; default 0.05.
    include_zero : bool, optional
        Also hold 0 (for bars drawn from 0); default False.

    Returns
    -------
    (float, float)
    """
    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if include_zero:
        values = np.append(values, 0.0)
    if len(values) == 0:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    margin = pad * (high - low) or 0.5
    return low - margin, high + margin


#: Colours of values beyond a fixed colour scale (darker than the palette's ends).
BEYOND_LOW, BEYOND_HIGH = "#053061", "#67001f"


def color_bar(mapper, *, title: str, name: str, width: int = 320):
    """A horizontal colour bar for ``mapper``, to add below a figure (keeps its plot area's width,
    so tracks on a shared x range stay aligned).

    Parameters
    ----------
    mapper : bokeh.models.ColorMapper
    title : str
        What the colours mean, with the unit and how the scale is set.
    name : str
        Bokeh name of the colour bar.
    width : int, optional
        Pixels; default 320.

    Returns
    -------
    bokeh.models.ColorBar
    """
    from bokeh.models import BasicTicker, ColorBar

    return ColorBar(color_mapper=mapper, orientation="horizontal", width=width, height=9, title=title, name=name,
                    ticker=BasicTicker(desired_num_ticks=7), title_text_font_size="11px",
                    title_text_font_style="normal", major_label_text_font_size="10px", padding=4,
                    location="top_left")


def heatmap_scale_title(limit: float, *, label: str = "change in prediction", fixed_by: str | None = None) -> str:
    """The colour bar title of an ISM heatmap: what the colours mean and how the scale is set.

    Parameters
    ----------
    limit : float
        The colour scale spans ``[-limit, limit]``.
    label : str, optional
        What a cell's colour measures; default ``"change in prediction"``.
    fixed_by : str, optional
        Default None: the scale is this map's own largest change. Otherwise what fixed it
        (e.g. ``"the starting sequence"``): the scale stays put across edits and larger
        changes get the darkest colour.

    Returns
    -------
    str
    """
    if fixed_by is None:
        return f"{label} (scale ±{limit:.3g}: this map's largest change)"
    return f"{label} (scale fixed at ±{limit:.3g}, {fixed_by}'s largest change; beyond it: darkest)"


def ism_heatmap_figure(source, *, width: int = 900, height: int = 170, x_range=None, name: str = "heatmap",
                       title: str | None = None, limit: float | None = None, label: str = "change in prediction",
                       fixed_by: str | None = None):
    """A 4 x L heatmap of substitution effects, blue (down) to red (up), A on top, with a colour
    bar below; hover and tap.

    Parameters
    ----------
    source : bokeh.models.ColumnDataSource
        :func:`heatmap_data` columns.
    width : int, optional
        Pixels; default 900.
    height : int, optional
        Pixels, the colour bar included; default 170.
    x_range : bokeh.models.Range, optional
        Default None: a new range. Share one with the other tracks.
    name : str, optional
        Bokeh name; default ``"heatmap"``. The colour mapper is ``{name}_colors``, the colour
        bar ``{name}_colorbar``.
    title : str, optional
        Default None: no title.
    limit : float, optional
        Default None: the largest absolute value in ``source`` (:func:`symmetric_limit`). The
        colours span ``[-limit, limit]``; values beyond get :data:`BEYOND_LOW`/:data:`BEYOND_HIGH`.
    label : str, optional
        What the colours measure, for the colour bar; default ``"change in prediction"``.
    fixed_by : str, optional
        Default None. See :func:`heatmap_scale_title`; change the scale later with
        :func:`set_heatmap_scale`.

    Returns
    -------
    bokeh.plotting.figure
    """
    from bokeh.models import HoverTool, LinearColorMapper

    fig = _track(name, width, height, x_range, title=title, tap=True)
    limit = symmetric_limit(source.data.get("value", [0])) if limit is None else float(limit)
    mapper = LinearColorMapper(palette=list(DIVERGING), low=-limit, high=limit, low_color=BEYOND_LOW,
                               high_color=BEYOND_HIGH, name=f"{name}_colors")
    cells = fig.rect(x="position", y="y", width=1, height=1, source=source, line_color=None,
                     fill_color={"field": "value", "transform": mapper})
    fig.add_tools(HoverTool(renderers=[cells], tooltips=[("position", "@position"), ("to", "@base"),
                                                          ("change", "@value{+0.0000}")]))
    fig.add_layout(color_bar(mapper, title=heatmap_scale_title(limit, label=label, fixed_by=fixed_by),
                             name=f"{name}_colorbar", width=min(420, width - 120)), "below")
    fig.y_range.start, fig.y_range.end = -0.5, 3.5
    fig.yaxis.ticker = [0, 1, 2, 3]
    fig.yaxis.major_label_overrides = {3: "A", 2: "C", 1: "G", 0: "T"}
    fig.ygrid.visible = False
    return fig


def set_heatmap_scale(fig, limit: float, *, label: str = "change in prediction", fixed_by: str | None = None) -> None:
    """Set the colour scale of an :func:`ism_heatmap_figure` to ``[-limit, limit]`` and say so on
    its colour bar.

    Parameters
    ----------
    fig : bokeh.plotting.figure
        From :func:`ism_heatmap_figure`.
    limit : float
        Positive.
    label : str, optional
        Default ``"change in prediction"``.
    fixed_by : str, optional
        Default None (see :func:`heatmap_scale_title`).
    """
    from bokeh.models import ColorBar, LinearColorMapper

    limit = float(limit)
    if not limit > 0:
        raise ValueError(f"limit must be positive; got {limit}")
    mapper = fig.select_one({"type": LinearColorMapper})
    mapper.update(low=-limit, high=limit)
    fig.select_one({"type": ColorBar}).title = heatmap_scale_title(limit, label=label, fixed_by=fixed_by)


def track_data(scores, start: int = 0) -> dict:
    """Columns for :func:`attribution_track_figure`: ``position``, ``value``, ``color`` (sign).

    Parameters
    ----------
    scores : torch.Tensor or numpy.ndarray, shape (L,) or (1, L)
    start : int, optional
        Coordinate of the first position; default 0.

    Returns
    -------
    dict
    """
    scores = as_track(scores)
    return {"position": np.arange(start, start + len(scores)), "value": scores,
            "color": np.where(scores >= 0, DIVERGING[-1], DIVERGING[0]).tolist()}


def attribution_track_figure(source, *, width: int = 900, height: int = 110, x_range=None, y_range=None,
                             name: str = "track", y_label: str = "score", title: str | None = None):
    """One bar per position (red up, blue down), e.g. ``Attribution.per_position()[i]``.

    Parameters
    ----------
    source : bokeh.models.ColumnDataSource
        :func:`track_data` columns.
    width : int, optional
        Pixels; default 900.
    height : int, optional
        Pixels; default 110.
    x_range : bokeh.models.Range, optional
        Default None: a new range. Share one with the other tracks.
    y_range : bokeh.models.Range, optional
        Default None: a new range over this track's values. Share one between tracks whose
        heights are compared (:func:`before_after_figures`).
    name : str, optional
        Bokeh name; default ``"track"``.
    y_label : str, optional
        Default ``"score"``.
    title : str, optional
        Default None: no title.

    Returns
    -------
    bokeh.plotting.figure
    """
    from bokeh.models import HoverTool

    fig = _track(name, width, height, x_range, title=title, y_range=y_range)
    bars = fig.vbar(x="position", top="value", width=0.9, color="color", source=source)
    fig.add_tools(HoverTool(renderers=[bars], tooltips=[("position", "@position"), ("score", "@value{+0.0000}")]))
    fig.yaxis.axis_label = y_label
    return fig


def before_after_figures(before, after, *, width: int = 900, height: int = 110, x_range=None,
                         name: str = "track", labels: tuple[str, str] = ("before", "after")) -> dict:
    """Two :func:`attribution_track_figure` tracks on ONE y range, so bar heights compare.

    Parameters
    ----------
    before, after : bokeh.models.ColumnDataSource
        :func:`track_data` columns.
    width : int, optional
        Pixels; default 900.
    height : int, optional
        Pixels of each track; default 110.
    x_range : bokeh.models.Range, optional
        Default None: a new range shared by the two.
    name : str, optional
        Prefix of the figures' names ``{name}_before`` and ``{name}_after``; default ``"track"``.
    labels : (str, str), optional
        Y-axis labels; default ('before', 'after').

    Returns
    -------
    dict
        ``{"before": figure, "after": figure}``; both ``y_range`` are the same
        ``DataRange1d``, which spans the bars of both.
    """
    from bokeh.models import DataRange1d, Range1d

    if x_range is None:
        positions = np.concatenate([np.asarray(s.data.get("position", []), dtype=float) for s in (before, after)])
        low, high = (positions.min(), positions.max()) if len(positions) else (0.0, 0.0)
        x_range = Range1d(low - 0.5, high + 0.5)
    y_range = DataRange1d(name=f"{name}_y_range")
    figures = {role: attribution_track_figure(source, width=width, height=height, x_range=x_range, y_range=y_range,
                                              name=f"{name}_{role}", y_label=label)
               for role, source, label in zip(("before", "after"), (before, after), labels)}
    y_range.renderers = [r for fig in figures.values() for r in fig.renderers]
    return figures


def instance_data(instances, start: int = 0) -> dict:
    """Columns for :func:`add_instance_boxes` from motif instances.

    Parameters
    ----------
    instances : iterable of tuple
        ``(name, start, end[, strand])`` with ``end`` exclusive and strand ``+1``/``-1`` or
        ``"+"``/``"-"``, e.g. ``task.instances.for_sequence(i)``.
    start : int, optional
        Coordinate of the first position; default 0.

    Returns
    -------
    dict
        ``left``, ``right`` (box edges), ``motif`` (name) and ``site`` (``"start-end (strand)"``).
    """
    rows = []
    for name, begin, end, *rest in instances:
        if not 0 <= int(begin) < int(end):
            raise ValueError(f"instance {name!r}: need 0 <= start < end; got start={begin}, end={end}")
        strand = rest[0] if rest else "+"
        strand = ("+" if strand > 0 else "-") if isinstance(strand, (int, np.integer)) else str(strand)
        rows.append((str(name), int(begin), int(end), strand))
    return {"left": [start + r[1] - 0.5 for r in rows], "right": [start + r[2] - 0.5 for r in rows],
            "motif": [r[0] for r in rows], "site": [f"{r[1]}-{r[2]} ({r[3]})" for r in rows]}


def add_instance_boxes(fig, source, *, color: str = "#7a4fd6", names: bool = False) -> None:
    """Shade motif instances across the full height of ``fig``; ``names`` writes each motif's
    name in its box's top-left corner.

    The boxes have no hover tool of their own: a tooltip over the whole box would cover the
    values of the cells and letters under the pointer, which is where students click.

    Parameters
    ----------
    fig : bokeh.plotting.figure
    source : bokeh.models.ColumnDataSource
        :func:`instance_data` columns.
    color : str, optional
        Default ``"#7a4fd6"`` (purple).
    names : bool, optional
        Default False. Name the boxes on one figure of a stack (the panels use the logo); the
        names sit at the bottom of the plot area.
    """
    from bokeh.models import LabelSet

    fig.vstrip(x0="left", x1="right", source=source, fill_color=color, fill_alpha=0.12, line_color=None,
               level="underlay")
    # the edges above the glyphs, so the boxes show also over opaque cells (a zoomed-out sequence)
    fig.vstrip(x0="left", x1="right", source=source, fill_color=None, line_color=color, line_alpha=0.8,
               line_width=1.5, line_dash="dashed", level="overlay")
    if names:
        fig.add_layout(LabelSet(x="left", y=0, y_units="screen", text="motif", source=source, x_offset=3, y_offset=3,
                                text_font_size="11px", text_font_style="bold", text_color=color,
                                text_baseline="bottom", background_fill_color="white", background_fill_alpha=0.75,
                                name=f"{fig.name}_instance_names"))


def history_data(predictions, labels=None, *, current: int | None = None) -> dict:
    """Columns for :func:`history_figure`: ``step``, ``prediction``, ``label``, ``alpha``, ``state``.

    Parameters
    ----------
    predictions : torch.Tensor or numpy.ndarray, shape (T,)
        The prediction after each edit, step 0 the starting sequence.
    labels : list of str, optional
        What each edit was; default None: empty labels.
    current : int, optional
        The undo position; default None: the last step. Later (redo-able) steps are faded
        (``alpha`` 0.3) and their ``state`` is ``"undone (redo)"``.

    Returns
    -------
    dict
    """
    predictions = as_track(predictions, "predictions")
    steps = np.arange(len(predictions))
    current = len(predictions) - 1 if current is None else current
    labels = [""] * len(predictions) if labels is None else list(labels)
    return {"step": steps, "prediction": predictions, "label": labels,
            "alpha": np.where(steps <= current, 1.0, 0.3),
            "state": ["done" if step <= current else "undone (redo)" for step in steps]}


def history_figure(source, *, width: int = 900, height: int = 150, name: str = "history",
                   y_label: str = "prediction"):
    """The prediction after each edit (step 0 is the starting sequence); the edit axis has
    integer ticks only.

    Parameters
    ----------
    source : bokeh.models.ColumnDataSource
        :func:`history_data` columns.
    width : int, optional
        Pixels; default 900.
    height : int, optional
        Pixels; default 150.
    name : str, optional
        Bokeh name; default ``"history"``.
    y_label : str, optional
        Default ``"prediction"``.

    Returns
    -------
    bokeh.plotting.figure
    """
    from bokeh.models import BasicTicker, HoverTool, NumeralTickFormatter

    fig = _track(name, width, height, None, tools="pan,wheel_zoom,reset,save")
    fig.line(x="step", y="prediction", source=source, color="#444444")
    dots = fig.scatter(x="step", y="prediction", source=source, size=7, fill_alpha="alpha", line_alpha="alpha",
                       color="#222222")
    fig.add_tools(HoverTool(renderers=[dots], tooltips=[("step", "@step"), ("edit", "@label"),
                                                         ("prediction", "@prediction{0.0000}"), ("", "@state")]))
    fig.xaxis.ticker = BasicTicker(min_interval=1, desired_num_ticks=10)
    fig.xaxis.formatter = NumeralTickFormatter(format="0")
    fig.xgrid.visible = True
    fig.xgrid.ticker = fig.xaxis.ticker
    # half a step beyond the first and last edits: no step -1 while only the start is drawn
    fig.x_range.update(range_padding=0.5, range_padding_units="absolute", bounds=(-0.5, None))
    fig.xaxis.axis_label = "edit (step 0: the starting sequence)"
    fig.yaxis.axis_label = y_label
    return fig


#: Readout units by a dataset's ``kind`` (see ``xai_widgets.data.Dataset``).
OUTPUT_UNITS = {"binary": "logit", "multilabel": "logit", "regression": "predicted value"}


def output_unit(kind: str | None) -> str:
    """What a model output is, in words, from its training data's ``kind``.

    Parameters
    ----------
    kind : str or None
        ``"binary"``, ``"multilabel"`` (outputs are logits) or ``"regression"``; None or
        anything else: ``"model output"``.

    Returns
    -------
    str
    """
    return OUTPUT_UNITS.get(kind, "model output")


@renamed_keywords(reference="initial")
def readout_html(prediction: float, initial: float | None = None, *, output: str = "prediction",
                 unit: str = "model output", digits: int = 4) -> str:
    """A short HTML readout naming what is shown: ``output (unit): value`` and the change from
    ``initial``.

    Parameters
    ----------
    prediction : float
    initial : float, optional
        Default None: no change shown. Otherwise the value for the starting sequence (the
        keyword was ``reference`` before; ``reference`` means DeepLIFT's reference sequences).
    output : str, optional
        The output's name (e.g. ``"GABPA"``); default ``"prediction"``.
    unit : str, optional
        What the number is (``"logit"``, ``"predicted value"``; :func:`output_unit`); default
        ``"model output"``.
    digits : int, optional
        Decimals shown; default 4.

    Returns
    -------
    str
    """
    text = (f"<b>{output}</b> <span style='color:#666'>({unit})</span>: "
            f"<span class='xw-value'>{prediction:.{digits}f}</span>")
    if initial is not None:
        text += f" <span style='color:#666'>({prediction - initial:+.{digits}f} vs. start)</span>"
    return text
