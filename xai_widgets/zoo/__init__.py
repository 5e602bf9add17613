"""The model zoo: small trained models with model cards, shipped in the package.

>>> from xai_widgets import zoo
>>> zoo.list_models()                       # doctest: +SKIP
>>> model = zoo.load("basset_exp_motif_presence")   # (N, 4, 200) -> (N, 12) logits

Weights load offline with ``torch.load(..., weights_only=True)``. Each model has a card (JSON
beside its weights) with its task, data seed, architecture, training settings and held-out
metrics; ``scripts/train_zoo.py`` regenerates every model from :data:`specs.ZOO_SPECS`.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import torch

from .._core import resolve_device
from .architectures import ARCHITECTURES, build
from .training import TrainingResult, evaluate, train

__all__ = ["list_models", "load", "model_card", "train", "evaluate", "TrainingResult", "build", "ARCHITECTURES"]


def _weights_dir():
    return resources.files(__name__).joinpath("weights")


@functools.lru_cache(maxsize=None)
def _cards() -> dict[str, dict]:
    cards = {}
    for entry in _weights_dir().iterdir():
        if entry.name.endswith(".json"):
            card = json.loads(entry.read_text())
            cards[card["name"]] = card
    return dict(sorted(cards.items()))


def list_models(task: str | None = None) -> list[str]:
    """Names of the shipped models, optionally only those trained on ``task``."""
    return [name for name, card in _cards().items() if task is None or card["task"]["name"] == task]


def model_card(name: str) -> dict:
    """The model card of a shipped model (a copy you may modify)."""
    cards = _cards()
    if name not in cards:
        raise KeyError(f"no zoo model {name!r}; available: {', '.join(cards)}")
    return json.loads(json.dumps(cards[name]))


def load(name: str, device="auto") -> torch.nn.Module:
    """Load a shipped model in eval mode on ``device`` (``"auto"``: CUDA when available).

    The returned module has its card as ``model.card``.
    """
    card = model_card(name)
    model = build(card["architecture"], **card["config"])
    with _weights_dir().joinpath(f"{name}.pt").open("rb") as fh:
        state = torch.load(fh, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.card = card
    return model.eval().to(resolve_device(device))
