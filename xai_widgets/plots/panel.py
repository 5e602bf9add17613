"""A ready-made static view: sequence, attribution logo, ISM heatmap and motif instances, aligned,
in the NucleotideFlipper's order."""

from __future__ import annotations

from ._common import as_map, show
from .logo import logo_data, logo_figure
from .tracks import (
    add_instance_boxes,
    heatmap_data,
    instance_data,
    ism_heatmap_figure,
    sequence_figure,
)

#: Figure order of :func:`attribution_panel`, the same as the NucleotideFlipper's tracks.
PANEL_ORDER = ("sequence", "logo", "heatmap")


def attribution_panel(X, values, *, delta=None, instances=(), start: int = 0, width: int = 900,
                      window: int | None = 200, title: str | None = None, name: str = "panel"):
    """The sequence, an attribution logo and an ISM heatmap on one shared x range (pan or zoom
    one and all follow), top to bottom as in the NucleotideFlipper (:data:`PANEL_ORDER`).

    The sequence shows letters only where they are readable (zoom in for them, see
    :func:`~xai_widgets.plots.tracks.sequence_figure`); motif boxes are shaded on every track
    and named on the logo; the heatmap has a colour bar.

    Parameters
    ----------
    X : torch.Tensor or numpy.ndarray, shape (4, L) or (1, 4, L)
        The one-hot sequence.
    values : torch.Tensor or numpy.ndarray, shape (4, L)
        Logo heights (an attribution map).
    delta : torch.Tensor or numpy.ndarray, shape (4, L), optional
        ISM deltas for a heatmap below the logo; default None: no heatmap.
    instances : iterable, optional
        Motif instances to shade and name (see :func:`instance_data`); default ``()``: none.
    start : int, optional
        Coordinate of the first position; default 0.
    width : int, optional
        Pixels; default 900.
    window : int or None, optional
        Initial visible span in positions for long sequences; default 200 (None: everything).
    title : str, optional
        Title of the logo; default None: none.
    name : str, optional
        Prefix of the figures' names ``{name}_sequence``, ``{name}_logo``, ``{name}_heatmap``;
        default ``"panel"``.

    Returns
    -------
    bokeh.models.Column
    """
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, Range1d

    length = as_map(X, "X").shape[1]
    shown = length if window is None else min(window, length)
    x_range = Range1d(start - 0.5, start + shown - 0.5, bounds=(start - 0.5, start + length - 0.5))
    boxes = ColumnDataSource(instance_data(instances, start))
    figures = {
        "sequence": sequence_figure(ColumnDataSource(logo_data(X, start)), width=width, x_range=x_range,
                                    name=f"{name}_sequence"),
        "logo": logo_figure(values, start=start, title=title, width=width, x_range=x_range, name=f"{name}_logo"),
    }
    if delta is not None:
        figures["heatmap"] = ism_heatmap_figure(ColumnDataSource(heatmap_data(delta, start)), width=width,
                                                x_range=x_range, name=f"{name}_heatmap")
    for role, fig in figures.items():
        add_instance_boxes(fig, boxes, names=role == "logo")
    return column(*(figures[role] for role in PANEL_ORDER if role in figures))


def show_attribution(X, values, **kwargs) -> None:
    """Show :func:`attribution_panel` in the notebook.

    Parameters
    ----------
    X : torch.Tensor or numpy.ndarray, shape (4, L) or (1, 4, L)
    values : torch.Tensor or numpy.ndarray, shape (4, L)
    **kwargs
        Keyword arguments of :func:`attribution_panel` (``delta``, ``instances``, ...).
    """
    show(attribution_panel(X, values, **kwargs))
