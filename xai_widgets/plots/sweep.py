"""Motif-spacing sweep plots: effect against spacing with confidence bands, one colour per orientation."""

from __future__ import annotations

import numpy as np

ORIENTATION_COLORS = {"++": "#1b9e77", "+-": "#d95f02", "-+": "#7570b3", "--": "#e7298a"}


def sweep_data(result) -> dict:
    """Columns for :func:`sweep_figure` from a ``SpacingSweepResult``: ``spacing`` and, per
    orientation ``o``, ``effect_o``, ``lo_o``, ``hi_o`` (NaN where a spacing was skipped).

    Parameters
    ----------
    result : SpacingSweepResult
        From :func:`xai_widgets.methods.spacing_sweep`.

    Returns
    -------
    dict
    """
    columns = {"spacing": result.spacings.numpy()}
    for o, orientation in enumerate(result.orientations):
        valid = result.valid[o].numpy()
        columns[f"effect_{orientation}"] = np.where(valid, result.effect[o].numpy(), np.nan)
        columns[f"lo_{orientation}"] = np.where(valid, result.effect_ci[o, :, 0].numpy(), np.nan)
        columns[f"hi_{orientation}"] = np.where(valid, result.effect_ci[o, :, 1].numpy(), np.nan)
    return columns


def sweep_figure(source, orientations, *, width: int = 900, height: int = 300, name: str = "sweep",
                 y_label: str = "effect: f(A+B) - f(background)"):
    """Effect against spacing, a line and a 95 % band per orientation; tap reports a spacing.

    Parameters
    ----------
    source : bokeh.models.ColumnDataSource
        :func:`sweep_data` columns.
    orientations : sequence of str
        Which orientation columns to draw.
    width : int, optional
        Pixels; default 900.
    height : int, optional
        Pixels; default 300.
    name : str, optional
        Bokeh name; default ``"sweep"``.
    y_label : str, optional
        Default ``"effect: f(A+B) - f(background)"``.

    Returns
    -------
    bokeh.plotting.figure
    """
    from bokeh.models import HoverTool, TapTool
    from bokeh.plotting import figure

    fig = figure(width=width, height=height, name=name, tools="xpan,xwheel_zoom,reset,save")
    fig.toolbar.logo = None
    lines = []
    for orientation in orientations:
        color = ORIENTATION_COLORS[orientation]
        fig.varea(x="spacing", y1=f"lo_{orientation}", y2=f"hi_{orientation}", source=source, fill_color=color,
                  fill_alpha=0.2)
        lines.append(fig.line(x="spacing", y=f"effect_{orientation}", source=source, color=color, line_width=2,
                              legend_label=orientation))
    fig.add_tools(HoverTool(renderers=lines[:1], mode="vline", tooltips=[("spacing", "@spacing")] + [
        (o, f"@{{effect_{o}}}{{+0.000}}") for o in orientations]), TapTool(behavior="inspect"))
    fig.xaxis.axis_label = "spacing (bases between A and B; < 0: B upstream)"
    fig.yaxis.axis_label = y_label
    fig.legend.location = "top_left"
    fig.legend.title = "A, B strands"
    return fig
