"""ipywidgets compositions over :mod:`xai_widgets.methods` and :mod:`xai_widgets.plots`.

Each widget is a view over a headless core (:mod:`xai_widgets.widgets.core`: state, history,
caches and the calls into :mod:`xai_widgets.methods`, testable without ipywidgets or Bokeh). The
view maps clicks and traitlets to the core, and the core's state to Bokeh data sources; every
user-settable state is a traitlet, so ``observe`` and ``traitlets.link`` work on all seven.

- :class:`NucleotideFlipper`: edit a sequence base by base and watch prediction and attribution
- :class:`FilterGallery`: first-layer filters as logos with JASPAR matches; click to ablate
- :class:`AttentionOverlay`: attention of a query position over the sequence, beside ISM
- :class:`SpacingSweep`: two motifs at every spacing and orientation, effect with confidence bands
- :class:`InteractionMap`: DFIM or pairwise-ISM heatmap linked to the sequence logo
- :class:`VariantExplorer`: scored variants in a sortable table; ref/alt logos, difference, motifs
- :class:`MotifDiscovery`: TF-MoDISco patterns as logos; click for seqlets, click a seqlet to edit it
"""

from .attention import AttentionOverlay
from .discovery import MotifDiscovery
from .flipper import FlipperState, NucleotideFlipper
from .gallery import FilterGallery
from .interaction import InteractionMap
from .sweep import SpacingSweep
from .variants import VariantExplorer

__all__ = ["AttentionOverlay", "FilterGallery", "FlipperState", "InteractionMap",
           "MotifDiscovery", "NucleotideFlipper", "SpacingSweep", "VariantExplorer"]
