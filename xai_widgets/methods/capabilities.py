"""Which methods apply to a model, and why not when they do not."""

from __future__ import annotations

from torch import nn

from ._fast_ism import local_plan
from .deeplift import unsupported_modules


def capabilities(model: nn.Module) -> dict[str, str]:
    """For each method, ``"yes"`` or the reason it does not apply to ``model``.

    Returns
    -------
    dict
        Keys: ``saturation_mutagenesis``, ``fast_ism``, ``occlusion``, ``saliency``,
        ``gradient_x_input``, ``integrated_gradients``, ``deep_lift_shap``.

    Examples
    --------
    >>> from xai_widgets import zoo
    >>> capabilities(zoo.load("attention_motif_presence"))["fast_ism"]   # doctest: +SKIP
    'no: not made of position-local layers (e.g. an RNN or attention); ISM runs plain forward passes'
    """
    yes = "yes"
    bad = unsupported_modules(model)
    return {
        "saturation_mutagenesis": yes,
        "fast_ism": yes if local_plan(model) is not None else
        "no: not made of position-local layers (e.g. an RNN or attention); ISM runs plain forward passes",
        "occlusion": yes,
        "saliency": yes,
        "gradient_x_input": yes,
        "integrated_gradients": yes,
        "deep_lift_shap": yes if not bad else "no: no DeepLIFT rule for " + ", ".join(bad[:3]),
    }
