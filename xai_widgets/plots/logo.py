"""Sequence logos drawn with Bokeh: one ``multi_polygons`` renderer, one row per drawn letter."""

from __future__ import annotations

import numpy as np

from ._common import BASE_COLORS, BASES, as_map
from ._glyphs import letter_polygons

LETTER_WIDTH = 0.9


def stack_bottoms(values: np.ndarray) -> np.ndarray:
    """Where each letter's baseline sits when positive values stack up and negative ones down.

    At each position the positive values stack upward from 0 with the largest on top; the
    negative values stack downward from 0 with the most negative at the bottom.

    Parameters
    ----------
    values : numpy.ndarray, shape (4, L)

    Returns
    -------
    numpy.ndarray, shape (4, L)
        The y of each letter's baseline (its top for negative letters, which are drawn
        upside down as in logomaker).
    """
    bottoms = np.zeros_like(values)
    for sign in (1.0, -1.0):
        part = np.clip(sign * values, 0, None)  # magnitudes on this side of zero
        order = np.argsort(part, axis=0, kind="stable")  # smallest magnitude nearest zero
        ranked = np.take_along_axis(part, order, axis=0)
        below = np.cumsum(ranked, axis=0) - ranked
        side = np.empty_like(values)
        np.put_along_axis(side, order, below, axis=0)
        bottoms = np.where(sign * values > 0, sign * side, bottoms)
    return bottoms


def logo_data(values, start: int = 0) -> dict:
    """Columns of a ``ColumnDataSource`` for :func:`logo_figure`: one row per drawn letter.

    Parameters
    ----------
    values : torch.Tensor or numpy.ndarray, shape (4, L) or (1, 4, L)
        Heights per base (rows A, C, G, T), e.g. an attribution map. Zeros are not drawn.
    start : int, optional
        Coordinate of the first position; default 0.

    Returns
    -------
    dict
        ``position``, ``base``, ``value`` (signed height) and ``bottom`` (baseline, from
        :func:`stack_bottoms`) per non-zero (position, base), ordered by position then base
        (so for a one-hot sequence row i is position i).
        The letter outlines are computed from these in the browser (see :func:`logo_figure`),
        so an update sends four short columns, not thousands of polygon vertices.
    """
    values = as_map(values)
    bottoms = stack_bottoms(values)
    positions, base_index = np.nonzero(values.T)
    return {"position": positions + start, "base": np.array(list(BASES))[base_index].tolist(),
            "value": values[base_index, positions], "bottom": bottoms[base_index, positions]}


#: Letter outlines from the data columns, evaluated by BokehJS: ``this`` is the data source;
#: ``glyphs`` maps a base to its polygons (rings of [x, y] arrays in the unit box) and ``axis``
#: picks x (0) or y (1).
_OUTLINE_JS = """
const {position, base, bottom, value} = this.data;
const out = new Array(position.length);
for (let i = 0; i < position.length; i++) {
  const offset = axis == 0 ? position[i] - width / 2 : bottom[i];
  const scale = axis == 0 ? width : value[i];
  out[i] = glyphs[base[i]].map((polygon) => polygon.map((ring) => ring[axis].map((g) => offset + scale * g)));
}
return out;
"""


def letter_outlines(name: str = "logo"):
    """The ``xs`` and ``ys`` expressions of a logo's ``multi_polygons`` (named ``{name}_xs``/``_ys``).

    Parameters
    ----------
    name : str, optional
        Prefix of the expressions' Bokeh names; default ``"logo"``.

    Returns
    -------
    (bokeh.models.CustomJSExpr, bokeh.models.CustomJSExpr)
    """
    from bokeh.models import CustomJSExpr

    glyphs = {base: [[[np.round(gx, 4).tolist(), np.round(gy, 4).tolist()] for gx, gy in polygon]
                     for polygon in polygons] for base, polygons in letter_polygons().items()}
    return tuple(CustomJSExpr(args={"glyphs": glyphs, "width": LETTER_WIDTH, "axis": axis}, code=_OUTLINE_JS,
                              name=f"{name}_{label}") for axis, label in ((0, "xs"), (1, "ys")))


def draw_letters(fig, source, *, name: str = "logo"):
    """Add the letters of ``source`` (:func:`logo_data` columns) to ``fig``; returns the renderer.

    Parameters
    ----------
    fig : bokeh.plotting.figure
    source : bokeh.models.ColumnDataSource
    name : str, optional
        Prefix of the outline expressions' names (:func:`letter_outlines`); default ``"logo"``.

    Returns
    -------
    bokeh.models.GlyphRenderer
    """
    from bokeh.transform import factor_cmap

    xs, ys = letter_outlines(name)
    return fig.multi_polygons(xs={"expr": xs}, ys={"expr": ys}, source=source, line_color=None,
                              fill_color=factor_cmap("base", [BASE_COLORS[b] for b in BASES], list(BASES)))


def logo_figure(values=None, *, start: int = 0, source=None, title: str | None = None, width: int = 900,
                height: int = 180, x_range=None, y_label: str = "attribution", name: str = "logo"):
    """A sequence logo as a Bokeh figure, with hover (position, base, value).

    Parameters
    ----------
    values : torch.Tensor or numpy.ndarray, shape (4, L), optional
        Letter heights; default None: draw what ``source`` already holds (:func:`logo_data`
        columns).
    start : int, optional
        Coordinate of the first position; default 0.
    source : bokeh.models.ColumnDataSource, optional
        Draw from this source (a widget updates it later); default None: a new one. Filled from
        ``values`` if given.
    title : str, optional
        Default None: no title.
    width : int, optional
        Pixels; default 900.
    height : int, optional
        Pixels; default 180.
    x_range : bokeh.models.Range, optional
        Default None: a new range. Share one with other figures so that panning one pans all.
    y_label : str, optional
        Default ``"attribution"``.
    name : str, optional
        Bokeh name of the figure; default ``"logo"``.

    Returns
    -------
    bokeh.plotting.figure
    """
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    if source is None:
        source = ColumnDataSource(name=f"{name}_source")
    if values is not None:
        source.data = logo_data(values, start)
    ranges = {} if x_range is None else {"x_range": x_range}
    fig = figure(width=width, height=height, title=title, name=name, tools="xpan,xwheel_zoom,box_zoom,reset,save",
                 active_scroll="xwheel_zoom", **ranges)
    letters = draw_letters(fig, source, name=name)
    fig.add_tools(HoverTool(renderers=[letters], tooltips=[("position", "@position"), ("base", "@base"),
                                                            ("value", "@value{0.0000}")]))
    fig.yaxis.axis_label = y_label
    fig.xgrid.visible = False
    fig.toolbar.logo = None
    return fig


def logo_dataframe(values, start: int = 0):
    """The map as a pandas DataFrame in logomaker's layout: one row per position, columns A C G T.

    Parameters
    ----------
    values : torch.Tensor or numpy.ndarray, shape (4, L) or (1, 4, L)
    start : int, optional
        Index of the first position; default 0.

    Returns
    -------
    pandas.DataFrame
        Shape ``(L, 4)``.
    """
    import pandas as pd

    values = as_map(values)
    index = pd.RangeIndex(start, start + values.shape[1], name="pos")
    return pd.DataFrame(values.T, index=index, columns=list(BASES))


def show_logo(values, **kwargs) -> None:
    """Show :func:`logo_figure` of ``values`` in the notebook; keyword arguments go to it.

    Parameters
    ----------
    values : torch.Tensor or numpy.ndarray, shape (4, L)
    **kwargs
        Keyword arguments of :func:`logo_figure`.
    """
    from ._common import show

    show(logo_figure(values, **kwargs))
