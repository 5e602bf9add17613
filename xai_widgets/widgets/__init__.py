"""ipywidgets compositions over :mod:`xai_widgets.methods` and :mod:`xai_widgets.plots`.

Widgets hold state (the edited sequence, its history, the current attribution) as public
attributes and only map clicks and traitlets to method calls and data-source updates.

- :class:`NucleotideFlipper`: edit a sequence base by base and watch prediction and attribution
- :class:`FilterGallery`: first-layer filters as logos with JASPAR matches; click to ablate
- :class:`AttentionOverlay`: attention of a query position over the sequence, beside ISM
- :class:`SpacingSweep`: two motifs at every spacing and orientation, effect with confidence bands
- :class:`InteractionMap`: DFIM or pairwise-ISM heatmap linked to the sequence logo
- :class:`VariantExplorer`: scored variants in a sortable table; ref/alt logos, difference, motifs
"""

from .attention import AttentionOverlay
from .flipper import ATTRIBUTION_METHODS, FlipperState, NucleotideFlipper
from .gallery import FilterGallery
from .interaction import InteractionMap
from .sweep import SpacingSweep
from .variants import VariantExplorer

__all__ = ["ATTRIBUTION_METHODS", "AttentionOverlay", "FilterGallery", "FlipperState", "InteractionMap",
           "NucleotideFlipper", "SpacingSweep", "VariantExplorer"]
