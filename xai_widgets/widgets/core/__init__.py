"""Headless cores of the widgets: state, history, caches and the calls into
:mod:`xai_widgets.methods`, without ipywidgets or Bokeh (usable and testable in plain Python).

Each widget of :mod:`xai_widgets.widgets` is a view over one core: it maps traitlets and clicks
to the core and the core's state to Bokeh data sources.
"""

from ._common import LRUCache, content_digest, resolve_target
from .attention import AttentionCore
from .discovery import DiscoveryCore
from .flipper import FlipperCore, FlipperState
from .gallery import GalleryCore
from .interaction import InteractionCore
from .sweep import SweepCore
from .variants import VariantCore

__all__ = ["AttentionCore", "DiscoveryCore", "LRUCache", "content_digest", "resolve_target",
           "FlipperCore", "FlipperState", "GalleryCore", "InteractionCore", "SweepCore", "VariantCore"]
