"""xai-widgets: interactive, tested explainable-AI methods for genomic sequence models.

Subpackages load on first access, so ``import xai_widgets`` stays fast:

- :mod:`xai_widgets.contract`: what a model is to the package (``LocalPlan``, ``Exp``, ...) and
  the one reader of each fact about it (``output_names``, ``input_length``, ``first_conv``)
- :mod:`xai_widgets.data`: one-hot encoding, motifs (JASPAR), synthetic tasks with ground truth,
  sequence editing (motif insertion, backgrounds)
- :mod:`xai_widgets.zoo`: small trained models (``list_models()``, ``load(name)``) and training
- :mod:`xai_widgets.metrics`: AUROC and friends used by the tests and benchmarks
- :mod:`xai_widgets.methods`: ISM, gradients, DeepLIFT/SHAP, ... as functions over ``(model, X)``
- :mod:`xai_widgets.evaluation`: scores of explanations against planted ground truth
- :mod:`xai_widgets.plots`: Bokeh logos, heatmaps and tracks, usable without widgets
- :mod:`xai_widgets.widgets`: ipywidgets such as ``NucleotideFlipper``

and :func:`predict` (a model's outputs for one-hot sequences, batched), :func:`resolve_device`,
and :func:`thread_policy` / :func:`set_thread_policy` (fewer torch threads while other processes
keep the CPU busy) are here at the top.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"
_SUBMODULES = ("contract", "data", "zoo", "metrics", "methods", "evaluation", "plots", "widgets", "adapt")
_CORE = ("predict", "resolve_device", "thread_policy", "set_thread_policy")
__all__ = ["__version__", *_CORE, *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _CORE:
        return getattr(importlib.import_module(f"{__name__}._core"), name)
    raise AttributeError(f"module 'xai_widgets' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
