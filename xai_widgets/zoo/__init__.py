"""The model zoo: small trained models with model cards, shipped in the package.

>>> from xai_widgets import zoo
>>> zoo.list_models()                       # doctest: +SKIP
>>> model = zoo.load("basset_exp_motif_presence")   # (N, 4, 200) -> (N, 12) logits

Weights load offline with ``torch.load(..., weights_only=True)``. Each model has a card (JSON
beside its weights) with its task, data seed, architecture, training settings and held-out
metrics; ``scripts/train_zoo.py`` regenerates every model from :data:`specs.ZOO_SPECS`.

Two published models are shipped too (``list_models(origin="published")``), converted from
their authors' weights by ``scripts/convert_published.py`` (cards: source, licence, citation,
channel order, what was measured here; see ``zoo/ATTRIBUTION.md``):

- ``"deepstarr"``: DeepSTARR (de Almeida et al. 2022), 249-bp fly sequences -> ``dev``, ``hk``
- ``"bpnet_ctcf"``: BPNet (Avsec et al. 2021) on CTCF in K562, 2,114 bp in. ``load`` returns it
  adapted (:func:`xai_widgets.adapt.adapt`, ``profile="both"``) to ``(N, 2)``: output 0
  ``counts`` (predicted log counts), output 1 ``profile`` (the profile contribution), so every
  method works on it directly; ``load(..., raw=True)`` gives the architecture itself, which
  returns ``(profile logits (N, 2, 1000), log counts (N, 1))``.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import torch

from .._core import resolve_device
from .architectures import ARCHITECTURES, build
from .published import PUBLISHED_ARCHITECTURES, BPNet, DeepSTARR
from .training import TrainingResult, evaluate, train

__all__ = ["list_models", "load", "model_card", "train", "evaluate", "TrainingResult", "build", "ARCHITECTURES",
           "PUBLISHED_ARCHITECTURES", "DeepSTARR", "BPNet"]
ORIGINS = ("trained", "published")


def _weights_dir():
    return resources.files(__name__).joinpath("weights")


@functools.cache
def _cards() -> dict[str, dict]:
    cards = {}
    for entry in _weights_dir().iterdir():
        if entry.name.endswith(".json"):
            card = json.loads(entry.read_text())
            cards[card["name"]] = card
    return dict(sorted(cards.items()))


def _origin(card: dict) -> str:
    return "published" if "source" in card else "trained"


def list_models(task: str | None = None, *, origin: str = "trained") -> list[str]:
    """Names of the shipped models, optionally only those of ``task``.

    Parameters
    ----------
    task : str, optional
        Default None: every task; else only the models trained on the task of that name.
    origin : {"trained", "published", "all"}, optional
        Default ``"trained"``: trained here on a synthetic task (see ``specs.ZOO_SPECS``; their
        cards have training settings and held-out metrics); ``"published"``: converted from
        published weights (their cards have ``source`` and ``channel_order`` instead).

    Returns
    -------
    list of str
    """
    if origin not in (*ORIGINS, "all"):
        raise ValueError(f"origin must be one of {(*ORIGINS, 'all')}; got {origin!r}")
    return [name for name, card in _cards().items()
            if (task is None or card["task"]["name"] == task) and origin in ("all", _origin(card))]


def model_card(name: str) -> dict:
    """The model card of a shipped model (a copy you may modify)."""
    cards = _cards()
    if name not in cards:
        raise KeyError(f"no zoo model {name!r}; available: {', '.join(cards)}")
    return json.loads(json.dumps(cards[name]))


def load(name: str, device="auto", *, raw: bool = False) -> torch.nn.Module:
    """Load a shipped model in eval mode on ``device``, its weights read with ``weights_only=True``.

    The returned module has its card as ``model.card``. A card with an ``"adapter"`` entry
    (``bpnet_ctcf``) gives the model wrapped by :func:`xai_widgets.adapt.adapt` with those
    options, so that it maps ``(N, 4, L)`` to ``(N, T)``.

    Parameters
    ----------
    name : str
        A name from :func:`list_models` (``list_models(origin="all")`` lists every one).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.
    raw : bool, optional
        Default False. True returns the bare architecture without its adapter (for BPNet: a
        ``(profile, counts)`` tuple).

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    KeyError
        When no shipped model has that name (the message lists them).
    """
    card = model_card(name)
    architecture = card["architecture"]
    if architecture in PUBLISHED_ARCHITECTURES:
        model = PUBLISHED_ARCHITECTURES[architecture](**card["config"])
    else:
        model = build(architecture, **card["config"])
    with _weights_dir().joinpath(f"{name}.pt").open("rb") as fh:
        state = torch.load(fh, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.card = card
    if "adapter" in card and not raw:
        from ..adapt import adapt

        model = adapt(model, **card["adapter"])
        model.card = card
    return model.eval().to(resolve_device(device))
