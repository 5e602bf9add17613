"""A gallery of filter logos in one Bokeh figure: tiles on a grid, letters drawn by one renderer."""

from __future__ import annotations

import numpy as np

from .logo import draw_letters, logo_data

TILE_GAP = 2.0  # positions between tiles
LOGO_HEIGHT = 2.0  # bits
LABEL_HEIGHT = 1.4


def information_logo(probabilities) -> np.ndarray:
    """Letter heights of an information-content logo: ``p * IC`` per column, ``(4, W)``.

    Parameters
    ----------
    probabilities : array-like, shape (4, W)
        Base probabilities per column.

    Returns
    -------
    numpy.ndarray, shape (4, W)
    """
    p = np.asarray(probabilities, dtype=float)
    ic = 2.0 + (p * np.log2(np.clip(p, 1e-12, None))).sum(0)
    return p * ic


def gallery_layout(widths, columns: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Lower-left corner ``(x0, y0)`` of each tile (in gallery order) and the tile width.

    Parameters
    ----------
    widths : sequence of int
        Each tile's motif width, in gallery order.
    columns : int
        Tiles per row.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, float)
    """
    tile_width = max(widths) + TILE_GAP
    slot = np.arange(len(widths))
    x0 = (slot % columns) * tile_width
    y0 = -(slot // columns) * (LOGO_HEIGHT + LABEL_HEIGHT)
    return x0, y0, tile_width


def gallery_data(motifs, order, *, columns: int = 8) -> tuple[dict, dict]:
    """Columns for :func:`gallery_figure`: the letters of every tile, and one row per tile.

    Parameters
    ----------
    motifs : list of Motif
        One per filter.
    order : sequence of int
        Filter indices in display order (e.g. by importance).
    columns : int, optional
        Tiles per row; default 8.

    Returns
    -------
    (dict, dict)
        Letter columns (:func:`logo_data` columns shifted to each tile, plus ``filter``) and tile
        columns ``filter``, ``left``, ``right``, ``bottom``, ``top``, ``label_x``, ``label_y``.
    """
    order = [int(f) for f in order]
    x0, y0, tile_width = gallery_layout([motifs[f].width for f in order], columns)
    letters = {"position": [], "base": [], "value": [], "bottom": [], "filter": []}
    for f, x, y in zip(order, x0, y0):
        data = logo_data(information_logo(motifs[f].probabilities))
        letters["position"].append(np.asarray(data["position"]) + x)
        letters["bottom"].append(np.asarray(data["bottom"]) + y)
        letters["value"].append(np.asarray(data["value"]))
        letters["base"].extend(data["base"])
        letters["filter"].append(np.full(len(data["base"]), f))
    for key in ("position", "bottom", "value", "filter"):
        letters[key] = np.concatenate(letters[key]) if letters[key] else np.zeros(0)
    tiles = {"filter": np.asarray(order), "left": x0 - 0.5 - TILE_GAP / 4,
             "right": x0 + tile_width - 0.5 - 3 * TILE_GAP / 4, "bottom": y0 - 0.1,
             "top": y0 + LOGO_HEIGHT + LABEL_HEIGHT - 0.2, "label_x": x0 - 0.3, "label_y": y0 + LOGO_HEIGHT + 0.05}
    return letters, tiles


def gallery_figure(letters, tiles, *, columns: int = 8, width: int = 960, tile_height: int = 90,
                   name: str = "gallery"):
    """Filter logos on a grid; ``tiles`` also needs ``label`` (text) and ``fill`` (colour) columns.

    Parameters
    ----------
    letters, tiles : bokeh.models.ColumnDataSource
        From :func:`gallery_data` (with ``label`` and ``fill`` added to ``tiles``).
    columns : int, optional
        Tiles per row; default 8.
    width : int, optional
        Pixels; default 960.
    tile_height : int, optional
        Pixels of each row; default 90.
    name : str, optional
        Bokeh name; default ``"gallery"``.

    Returns
    -------
    bokeh.plotting.figure
    """
    from bokeh.models import HoverTool, TapTool
    from bokeh.plotting import figure

    n_tiles = len(tiles.data["filter"])
    rows = max(1, -(-n_tiles // columns))
    span_x = float(np.max(tiles.data["right"], initial=1.0)) + 0.5
    row = LOGO_HEIGHT + LABEL_HEIGHT
    fig = figure(width=width, height=rows * tile_height + 20, name=name, tools="pan,wheel_zoom,reset",
                 x_range=(-1, span_x), y_range=(-(rows - 1) * row - 0.15, row - 0.1), active_scroll=None,
                 min_border=5)
    fig.toolbar.logo = None
    fig.axis.visible = False
    fig.grid.visible = False
    boxes = fig.quad(left="left", right="right", bottom="bottom", top="top", fill_color="fill", fill_alpha=0.35,
                     line_color="#bbbbbb", source=tiles)
    draw_letters(fig, letters, name=name)
    fig.text(x="label_x", y="label_y", text="label", text_font_size="9px", text_baseline="bottom", source=tiles)
    fig.add_tools(HoverTool(renderers=[boxes], tooltips=[("filter", "@filter"), ("", "@label")]),
                  TapTool(behavior="inspect"))
    return fig
