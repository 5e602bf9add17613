"""Interpretation methods: plain functions over ``(model, X)``, one module per family.

- :mod:`.ism`: saturation mutagenesis (fast incremental path for local-layer models), single
  edits, window occlusion, motif knock-out
- :mod:`.gradients`: saliency, gradient x input, integrated gradients, gradient correction
- :mod:`.deeplift`: DeepLIFT / DeepSHAP with dinucleotide-shuffled references
- :mod:`.attention`: attention maps per layer and head, per-position importance, agreement with ISM
- :mod:`.gia`: global importance analysis, motif-spacing sweeps (the sequence edits they make are
  data operations: :mod:`xai_widgets.data.editing`)
- :mod:`.interactions`: pairwise ISM, Deep Feature Interaction Maps
- :mod:`.maximize`: maximal activation of an output or a hidden channel
- :mod:`.filters`: first-layer filters as motifs, transparent-model units
- :mod:`.tomtom`: motifs compared with JASPAR (or any motifs) by Tomtom
- :mod:`.ablation`: filter ablation and importance, redundant filter pairs
- :mod:`.discovery`: TF-MoDISco patterns from attributions, traced back to their seqlets
- :mod:`.variants`: variant effects from a VCF, a table or edits (ref/alt, calibrated percentile)
- :mod:`.registry`: the one list of attribution methods (ISM, occlusion, saliency, gradient x
  input, integrated gradients, DeepSHAP, and yours: :func:`register_method`) that
  :func:`capabilities`, :func:`diagnose`, :func:`explain_variant`, :func:`attribute_to_store`
  and the widgets' menus read
- :func:`capabilities`: which of these apply to a given model, and why not
- :func:`diagnose`: whether an explanation of this model on these sequences can be trusted
- :func:`predict`: batched model outputs ``(N, T)`` (eval mode, the memory rule for batches)

Scores against planted ground truth (recovered motifs, the planted pair's rank) are in
:mod:`xai_widgets.evaluation`.

Conventions shared by every method (issue 12):

- ``target`` is a model output: an int index or an output name (:func:`output_names`, the one
  reader of a model's names, from :mod:`xai_widgets.contract`). The
  default ``target=None`` means the model's only output and raises ValueError for a
  multi-output model, naming its outputs; methods that return every output by design
  (:func:`saturation_mutagenesis`, :func:`predict_edits`, :func:`score_variants`) take
  ``target="all"``. One check implements it: ``_common.check_target``.
- Everything after ``(model, X)`` is keyword-only; ``progress=False``, ``random_state=None``,
  ``batch_size=None`` (the memory rule) and ``device="auto"`` by default.
- Attribution-like results share :class:`AttributionResult`: ``values`` ``(N, 4, L)``,
  ``per_position()`` ``(N, L)``, ``target``, ``method``, ``X``.
"""

from .._core import predict
from ..contract import fast_ism_support, local_plan, output_names
from ._common import check_target
from ._engine import EDIT_METHODS
from .ablation import (
    AblationResult,
    FilterImportance,
    RedundantPair,
    ablate_filters,
    filter_importance,
    mean_activations,
    predict_ablated,
    redundant_filters,
)
from .atscale import AttributionStore, attribute_to_store, model_fingerprint
from .attention import (
    AttentionISMComparison,
    AttentionMaps,
    attention_importance,
    attention_maps,
    attention_vs_ism,
    check_index,
    ism_importance,
)
from .capabilities import capabilities
from .deeplift import DeepLiftResult, deep_lift_shap, deeplift_support, register_deeplift_rule, supports_deeplift
from .diagnostics import Diagnosis, diagnose
from .discovery import MATRICES, DiscoveryResult, MotifPattern, discover_motifs
from .filters import UnitSummary, filters_from_activations, filters_from_weights, first_layer, unit_summaries
from .gia import GIAResult, MotifEffects, SpacingSweepResult, global_importance, motif_effects, spacing_sweep
from .gradients import Attribution, correct_gradient, gradient_x_input, integrated_gradients, saliency
from .interactions import DFIMResult, Feature, dfim, mutated_importance
from .ism import (
    ISMResult,
    KnockoutResult,
    OcclusionResult,
    motif_knockout,
    mutagenesis_at,
    occlusion,
    predict_edits,
    saturation_mutagenesis,
    supports_fast_ism,
)
from .maximize import MaximizationResult, maximize_activation
from .pairwise import PairwiseISMResult, pairwise_ism
from .registry import (
    Applicability,
    AttributionMethod,
    get_method,
    method_names,
    register_method,
    unregister_method,
)
from .results import AttributionResult
from .tomtom import SIGNIFICANT_E_VALUE, MotifMatch, tomtom_matches
from .variant_explain import VariantExplanation, explain_variant
from .variants import VariantScores, random_snv_effects, score_variants, variant_motifs

__all__ = [
    "AttributionStore", "attribute_to_store", "model_fingerprint",
    "AttentionISMComparison", "AttentionMaps", "attention_importance", "attention_maps", "attention_vs_ism",
    "check_index", "ism_importance",
    "capabilities", "check_target", "Diagnosis", "diagnose", "output_names", "fast_ism_support", "local_plan",
    "predict", "AttributionResult", "mutagenesis_at", "EDIT_METHODS",
    "MATRICES", "DiscoveryResult", "MotifPattern", "discover_motifs",
    "DeepLiftResult", "deep_lift_shap", "deeplift_support", "register_deeplift_rule", "supports_deeplift",
    "Applicability", "AttributionMethod", "get_method", "method_names", "register_method", "unregister_method",
    "UnitSummary", "filters_from_activations", "filters_from_weights", "first_layer", "unit_summaries",
    "SIGNIFICANT_E_VALUE", "MotifMatch", "tomtom_matches",
    "AblationResult", "FilterImportance", "RedundantPair", "ablate_filters", "filter_importance", "mean_activations",
    "predict_ablated", "redundant_filters",
    "GIAResult", "MotifEffects", "SpacingSweepResult", "global_importance", "motif_effects", "spacing_sweep",
    "DFIMResult", "Feature", "PairwiseISMResult", "dfim", "mutated_importance", "pairwise_ism",
    "MaximizationResult", "maximize_activation",
    "Attribution", "correct_gradient", "gradient_x_input", "integrated_gradients", "saliency",
    "ISMResult", "KnockoutResult", "OcclusionResult", "motif_knockout", "occlusion", "predict_edits",
    "saturation_mutagenesis", "supports_fast_ism",
    "VariantExplanation", "VariantScores", "explain_variant", "random_snv_effects",
    "score_variants", "variant_motifs",
]
