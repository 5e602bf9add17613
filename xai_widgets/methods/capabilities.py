"""Which methods apply to a model, and why not when they do not."""

from __future__ import annotations

import warnings

from torch import nn

from .._core import as_model_input
from ..contract import fast_ism_support
from .registry import DEPRECATED_ALIASES, get_method, method_names


class _Answers(dict):
    """The answers of :func:`capabilities`; a deprecated key (``"saturation_mutagenesis"``) reads
    its method's answer and warns."""

    def __missing__(self, key):
        if key in DEPRECATED_ALIASES and DEPRECATED_ALIASES[key] in self:
            warnings.warn(f"capabilities()[{key!r}] is now capabilities()[{DEPRECATED_ALIASES[key]!r}]; the old key "
                          "will be removed", FutureWarning, stacklevel=2)
            return self[DEPRECATED_ALIASES[key]]
        raise KeyError(key)


def capabilities(model: nn.Module, X=None) -> dict[str, str]:
    """For each attribution method of the registry, ``"yes"`` or the reason it does not apply to ``model``.

    An answer is ``"yes"`` only when the method's result is right for this model; otherwise
    ``"no: <reason naming the layer and what to change>"``, or ``"unknown: ..."`` when that
    cannot be checked without example input (pass ``X``). Each answer is the registry entry's
    check (:meth:`~.registry.AttributionMethod.applies_to`, an :class:`~.registry.Applicability`
    written as a string); DeepLIFT's comes from :func:`.deeplift.deeplift_support`, which probes a
    forward pass (on ``X`` when given). ``"fast_ism"``, after ``"ism"``, says whether ISM can take
    its fast incremental path (:func:`~xai_widgets.methods.fast_ism_support`).

    Parameters
    ----------
    model : torch.nn.Module
    X : torch.Tensor, shape (N, 4, L), optional
        Default None: synthetic sequences where a check needs a forward pass. Example sequences; lets the checks that
        need a forward pass run on the real input length.

    Returns
    -------
    dict
        One key per registered method (:func:`~.registry.method_names`: ``ism``, ``occlusion``,
        ``saliency``, ``gradient_x_input``, ``integrated_gradients``, ``deep_lift_shap`` and any
        registered with :func:`~.registry.register_method`), and ``fast_ism``. The old key
        ``saturation_mutagenesis`` still reads ISM's answer, with a FutureWarning.

    Examples
    --------
    >>> from xai_widgets import zoo
    >>> capabilities(zoo.load("attention_motif_presence"))["fast_ism"]   # doctest: +SKIP
    'no: not made of position-local layers (e.g. an RNN or attention); ISM runs plain forward passes'
    """
    X = as_model_input(model, X)
    answers = _Answers()
    for name in method_names():
        answers[name] = str(get_method(name).applies_to(model, X))
        if name == "ism":
            answers["fast_ism"] = fast_ism_support(model)
    if "fast_ism" not in answers:
        answers["fast_ism"] = fast_ism_support(model)
    return answers
