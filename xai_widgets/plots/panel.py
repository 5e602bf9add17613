"""A ready-made static view: sequence, attribution logo, ISM heatmap and motif instances, aligned."""

from __future__ import annotations

from ._common import as_map, show
from .logo import logo_data, logo_figure
from .tracks import add_instance_boxes, heatmap_data, instance_data, ism_heatmap_figure, sequence_figure


def attribution_panel(X, values, delta=None, instances=(), *, start: int = 0, width: int = 900,
                      window: int | None = 200, title: str | None = None):
    """Figures stacked on one shared x range (pan or zoom one and all follow).

    Parameters
    ----------
    X : torch.Tensor or numpy.ndarray, shape (4, L) or (1, 4, L)
        The one-hot sequence.
    values : torch.Tensor or numpy.ndarray, shape (4, L)
        Logo heights (an attribution map).
    delta : torch.Tensor or numpy.ndarray, shape (4, L), optional
        ISM deltas for a heatmap below the logo.
    instances : iterable, optional
        Motif instances to shade (see :func:`instance_data`).
    start : int
        Coordinate of the first position.
    width : int
        Pixels.
    window : int or None
        Initial visible span in positions for long sequences (None: everything).
    title : str, optional

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
    logo = logo_figure(values, start=start, title=title, width=width, x_range=x_range)
    seq = sequence_figure(ColumnDataSource(logo_data(X, start)), width=width, x_range=x_range)
    figures = [logo, seq]
    if delta is not None:
        figures.append(ism_heatmap_figure(ColumnDataSource(heatmap_data(delta, start)), width=width,
                                          x_range=x_range))
    for fig in figures:
        add_instance_boxes(fig, boxes)
    return column(*figures)


def show_attribution(X, values, delta=None, instances=(), **kwargs) -> None:
    """Show :func:`attribution_panel` in the notebook; keyword arguments go to it."""
    show(attribution_panel(X, values, delta, instances, **kwargs))
