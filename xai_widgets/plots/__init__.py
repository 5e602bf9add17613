"""Bokeh figures for sequences and attributions, usable without widgets.

Each figure draws from a ``ColumnDataSource`` whose columns come from a ``*_data`` builder,
so a widget updates a plot by assigning new columns (``source.data = logo_data(...)``).

- :func:`logo_figure`, :func:`show_logo`, :func:`logo_dataframe`: sequence logos
- :func:`ism_heatmap_figure`, :func:`attribution_track_figure`, :func:`sequence_figure`,
  :func:`add_instance_boxes`, :func:`history_figure`, :func:`readout_html`: tracks
- :func:`attribution_panel`, :func:`show_attribution`: a logo, ISM heatmap and instances aligned
- :func:`attention_panel`, :func:`heat_strip_figure`: attention over a sequence
- :func:`gallery_figure`, :func:`gallery_data`: filter logos on a grid
- :func:`save_png`, :func:`save_svg`: files, via a headless Chromium
- :func:`setup_notebook`, :func:`show`: BokehJS loaded INLINE (works offline)
"""

from ._common import BASE_COLORS, ensure_bokehjs, setup_notebook, show
from .attention import AttentionPanel, add_query_marker, attention_panel, heat_strip_data, heat_strip_figure, query_data
from .export import save_png, save_svg
from .filters import gallery_data, gallery_figure, information_logo
from .logo import logo_data, logo_dataframe, logo_figure, show_logo, stack_bottoms
from .panel import attribution_panel, show_attribution
from .sweep import sweep_data, sweep_figure
from .tracks import (
                     add_instance_boxes,
                     attribution_track_figure,
                     heatmap_data,
                     history_data,
                     history_figure,
                     instance_data,
                     padded_limits,
                     ism_heatmap_figure,
                     readout_html,
                     sequence_figure,
                     symmetric_limit,
                     track_data,
)

__all__ = [
    "BASE_COLORS", "ensure_bokehjs", "setup_notebook", "show", "save_png", "save_svg",
    "AttentionPanel", "add_query_marker", "attention_panel", "heat_strip_data", "heat_strip_figure", "query_data",
    "gallery_data", "gallery_figure", "information_logo",
    "logo_data", "logo_dataframe", "logo_figure", "show_logo", "stack_bottoms",
    "attribution_panel", "show_attribution",
    "add_instance_boxes", "attribution_track_figure", "heatmap_data", "history_data", "history_figure",
    "instance_data", "ism_heatmap_figure", "padded_limits", "readout_html", "sequence_figure",
    "symmetric_limit", "track_data", "sweep_data", "sweep_figure",
]
