"""Which methods apply to a model, and why not when they do not."""

from __future__ import annotations

from torch import nn

from .._core import as_model_input
from ..contract import fast_ism_support
from .deeplift import deeplift_support


def capabilities(model: nn.Module, X=None) -> dict[str, str]:
    """For each method, ``"yes"`` or the reason it does not apply to ``model``.

    An answer is ``"yes"`` only when the method's result is right for this model; otherwise
    ``"no: <reason naming the layer and what to change>"``, or ``"unknown: ..."`` when that
    cannot be checked without example input (pass ``X``). DeepLIFT's answer comes from
    :func:`.deeplift.deeplift_support`, which probes a forward pass (on ``X`` when given).

    Parameters
    ----------
    model : torch.nn.Module
    X : torch.Tensor, shape (N, 4, L), optional
        Default None: synthetic sequences where a check needs a forward pass. Example sequences; lets the checks that
        need a forward pass run on the real input length.

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
    X = as_model_input(model, X)
    return {
        "saturation_mutagenesis": yes,
        "fast_ism": fast_ism_support(model),
        "occlusion": yes,
        "saliency": yes,
        "gradient_x_input": yes,
        "integrated_gradients": yes,
        "deep_lift_shap": deeplift_support(model, X),
    }
