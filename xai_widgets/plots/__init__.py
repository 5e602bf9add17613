"""Bokeh figures for sequences and attributions, usable without widgets.

Each figure draws from a ``ColumnDataSource`` whose columns come from a ``*_data`` builder,
so a widget updates a plot by assigning new columns (``source.data = logo_data(...)``).

- :func:`logo_figure`, :func:`show_logo`, :func:`logo_dataframe`: sequence logos
- :func:`ism_heatmap_figure`, :func:`attribution_track_figure`, :func:`sequence_figure`,
  :func:`add_instance_boxes`, :func:`history_figure`, :func:`readout_html`,
  :func:`before_after_figures`: tracks
- :func:`attribution_panel`, :func:`show_attribution`: the sequence, a logo, an ISM heatmap and
  instances aligned, in the flipper's order
- :func:`interaction_figure`, :func:`interaction_heatmap_figure`, :func:`interaction_data`:
  feature x feature interaction maps (DFIM, pairwise ISM)
- :func:`attention_panel`, :func:`heat_strip_figure`: attention over a sequence
- :func:`gallery_figure`, :func:`gallery_data`: filter logos on a grid
- :func:`sweep_figure`, :func:`sweep_data`: a motif-spacing sweep, one colour per orientation
- :func:`save_png`, :func:`save_svg`: files, via Playwright and the system's headless Chromium
- :func:`setup_notebook`, :func:`show`, :func:`ensure_bokehjs`: BokehJS loaded INLINE (works offline);
  :func:`bokeh_models_in`: the Bokeh widgets inside an ipywidget tree
- :func:`padded_limits`: an explicit axis range for data that change
"""

from ._common import BASE_COLORS, bokeh_models_in, ensure_bokehjs, setup_notebook, show
from .attention import (
    AttentionPanel,
    add_query_marker,
    attention_panel,
    heat_strip_data,
    heat_strip_figure,
    query_data,
)
from .export import save_png, save_svg
from .filters import gallery_data, gallery_figure, information_logo
from .interaction import (
    interaction_data,
    interaction_figure,
    interaction_heatmap_figure,
)
from .logo import logo_data, logo_dataframe, logo_figure, show_logo, stack_bottoms
from .panel import attribution_panel, show_attribution
from .sweep import ORIENTATION_COLORS, sweep_data, sweep_figure
from .tracks import (
    add_instance_boxes,
    attribution_track_figure,
    before_after_figures,
    heatmap_data,
    history_data,
    history_figure,
    instance_data,
    ism_heatmap_figure,
    output_unit,
    padded_limits,
    readout_html,
    sequence_figure,
    set_heatmap_scale,
    symmetric_limit,
    track_data,
)

__all__ = [
    "BASE_COLORS",
    "ORIENTATION_COLORS",
    "AttentionPanel",
    "add_instance_boxes",
    "add_query_marker",
    "attention_panel",
    "attribution_panel",
    "attribution_track_figure",
    "before_after_figures",
    "bokeh_models_in",
    "gallery_data",
    "gallery_figure",
    "heat_strip_data",
    "heat_strip_figure",
    "heatmap_data",
    "history_data",
    "history_figure",
    "information_logo",
    "ensure_bokehjs",
    "instance_data",
    "interaction_data",
    "interaction_figure",
    "interaction_heatmap_figure",
    "ism_heatmap_figure",
    "logo_data",
    "logo_dataframe",
    "logo_figure",
    "output_unit",
    "padded_limits",
    "query_data",
    "readout_html",
    "save_png",
    "save_svg",
    "sequence_figure",
    "set_heatmap_scale",
    "setup_notebook",
    "show",
    "show_attribution",
    "show_logo",
    "stack_bottoms",
    "sweep_data",
    "sweep_figure",
    "symmetric_limit",
    "track_data",
]
