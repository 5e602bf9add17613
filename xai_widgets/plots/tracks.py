"""Position-aligned tracks: the sequence, an ISM heatmap, an attribution track, boxes over motif
instances, and a prediction history. Each has a ``*_data`` builder of ``ColumnDataSource``
columns and a ``*_figure`` that draws from a source; figures given the same ``x_range`` pan
together."""

from __future__ import annotations

import numpy as np

from ._common import BASES, DIVERGING, as_map, as_track

_TOOLS = "xpan,xwheel_zoom,box_zoom,reset,save"


def _track(name: str, width: int, height: int, x_range, title=None, tools: str = _TOOLS, tap: bool = False):
    """A figure for a position track; ``tap`` adds a tap tool that reports clicks without
    selecting (so nothing fades), for widgets that handle ``bokeh.events.Tap``."""
    from bokeh.models import TapTool
    from bokeh.plotting import figure

    ranges = {} if x_range is None else {"x_range": x_range}
    fig = figure(width=width, height=height, name=name, title=title, tools=tools,
                 active_scroll="xwheel_zoom" if "xwheel_zoom" in tools else None, **ranges)
    fig.toolbar.logo = None
    fig.xgrid.visible = False
    if tap:
        fig.add_tools(TapTool(behavior="inspect"))
    return fig


def sequence_figure(source, *, width: int = 900, height: int = 60, x_range=None, name: str = "sequence"):
    """The sequence as letters of height 1 (draw from ``logo_data(X)``); letters scale with zoom."""
    from bokeh.models import HoverTool

    from .logo import draw_letters

    fig = _track(name, width, height, x_range, tap=True)
    letters = draw_letters(fig, source, name)
    fig.add_tools(HoverTool(renderers=[letters], tooltips=[("position", "@position"), ("base", "@base")]))
    fig.y_range.start, fig.y_range.end = -0.1, 1.1
    fig.yaxis.visible = False
    fig.ygrid.visible = False
    return fig


def heatmap_data(delta, start: int = 0) -> dict:
    """Columns for :func:`ism_heatmap_figure`: one row per (base, position), row ``y = 3 - base``.

    Parameters
    ----------
    delta : torch.Tensor or numpy.ndarray, shape (4, L) or (1, 4, L)
        Prediction change of each substitution (e.g. ``ISMResult.delta[i]``).
    """
    delta = as_map(delta, "delta")
    length = delta.shape[1]
    base_index = np.repeat(np.arange(4), length)
    return {"position": np.tile(np.arange(start, start + length), 4), "y": 3 - base_index,
            "base": np.array(list(BASES))[base_index].tolist(), "value": delta.reshape(-1)}


def symmetric_limit(values) -> float:
    """The largest absolute value (at least 1e-6): colour limits symmetric about zero."""
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
    pad : float
        Fraction of the span added on each side; default 0.05.
    include_zero : bool
        Default False; True keeps 0 inside the range.
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


def ism_heatmap_figure(source, *, width: int = 900, height: int = 130, x_range=None, name: str = "heatmap",
                       title: str | None = None):
    """A 4 x L heatmap of substitution effects, blue (down) to red (up), A on top; hover and tap.

    The colour mapper is ``fig.select_one({"name": f"{name}_colors"})``; keep its ``low`` and
    ``high`` symmetric (:func:`symmetric_limit`) when the data change.
    """
    from bokeh.models import HoverTool, LinearColorMapper

    fig = _track(name, width, height, x_range, title=title, tap=True)
    limit = symmetric_limit(source.data.get("value", [0]))
    mapper = LinearColorMapper(palette=list(DIVERGING), low=-limit, high=limit, name=f"{name}_colors")
    cells = fig.rect(x="position", y="y", width=1, height=1, source=source, line_color=None,
                     fill_color={"field": "value", "transform": mapper})
    fig.add_tools(HoverTool(renderers=[cells], tooltips=[("position", "@position"), ("to", "@base"),
                                                          ("change", "@value{+0.0000}")]))
    fig.y_range.start, fig.y_range.end = -0.5, 3.5
    fig.yaxis.ticker = [0, 1, 2, 3]
    fig.yaxis.major_label_overrides = {3: "A", 2: "C", 1: "G", 0: "T"}
    fig.ygrid.visible = False
    return fig


def track_data(scores, start: int = 0) -> dict:
    """Columns for :func:`attribution_track_figure`: ``position``, ``value``, ``color`` (sign)."""
    scores = as_track(scores)
    return {"position": np.arange(start, start + len(scores)), "value": scores,
            "color": np.where(scores >= 0, DIVERGING[-1], DIVERGING[0]).tolist()}


def attribution_track_figure(source, *, width: int = 900, height: int = 110, x_range=None,
                             name: str = "track", y_label: str = "score"):
    """One bar per position (red up, blue down), e.g. ``Attribution.per_position()[i]``."""
    from bokeh.models import HoverTool

    fig = _track(name, width, height, x_range)
    bars = fig.vbar(x="position", top="value", width=0.9, color="color", source=source)
    fig.add_tools(HoverTool(renderers=[bars], tooltips=[("position", "@position"), ("score", "@value{+0.0000}")]))
    fig.yaxis.axis_label = y_label
    return fig


def instance_data(instances, start: int = 0) -> dict:
    """Columns for :func:`add_instance_boxes` from motif instances.

    Parameters
    ----------
    instances : iterable of tuple
        ``(name, start, end[, strand])`` with ``end`` exclusive and strand ``+1``/``-1`` or
        ``"+"``/``"-"``, e.g. ``task.instances.for_sequence(i)``.
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


def add_instance_boxes(fig, source, color: str = "#7a4fd6") -> None:
    """Shade motif instances across the full height of ``fig`` (hover names them)."""
    from bokeh.models import HoverTool

    strips = fig.vstrip(x0="left", x1="right", source=source, fill_color=color, fill_alpha=0.12,
                        line_color=color, line_alpha=0.6, line_dash="dashed", level="underlay")
    fig.add_tools(HoverTool(renderers=[strips], tooltips=[("motif", "@motif"), ("site", "@site")]))


def history_data(predictions, labels=None, current: int | None = None) -> dict:
    """Columns for :func:`history_figure`: ``step``, ``prediction``, ``label``, ``alpha``.

    ``current`` (the undo position) is drawn opaque, later (redo-able) steps faded.
    """
    predictions = as_track(predictions, "predictions")
    steps = np.arange(len(predictions))
    current = len(predictions) - 1 if current is None else current
    labels = [""] * len(predictions) if labels is None else list(labels)
    return {"step": steps, "prediction": predictions, "label": labels,
            "alpha": np.where(steps <= current, 1.0, 0.3)}


def history_figure(source, *, width: int = 900, height: int = 150, name: str = "history"):
    """The prediction after each edit (step 0 is the starting sequence)."""
    from bokeh.models import HoverTool

    fig = _track(name, width, height, None, tools="pan,wheel_zoom,reset,save")
    fig.line(x="step", y="prediction", source=source, color="#444444")
    dots = fig.scatter(x="step", y="prediction", source=source, size=7, fill_alpha="alpha", line_alpha="alpha",
                       color="#222222")
    fig.add_tools(HoverTool(renderers=[dots], tooltips=[("step", "@step"), ("edit", "@label"),
                                                         ("prediction", "@prediction{0.0000}")]))
    fig.xaxis.axis_label = "edit"
    fig.yaxis.axis_label = "prediction"
    return fig


def readout_html(prediction: float, reference: float | None = None, label: str = "prediction") -> str:
    """A short HTML readout: ``label: value`` and the change from ``reference``."""
    text = f"<b>{label}</b>: <span class='xw-value'>{prediction:.4f}</span>"
    if reference is not None:
        text += f" <span style='color:#666'>({prediction - reference:+.4f} vs. start)</span>"
    return text
