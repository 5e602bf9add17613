"""What every headless core shares: a bounded cache keyed by content, content digests and the
``target`` rule."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
import torch

from ...methods import capabilities, check_target, get_method, method_names


class LRUCache:
    """A bounded memo: ``get(key, compute)`` returns the value stored under ``key`` or stores
    ``compute()``; beyond ``maxsize`` entries the least recently used one is dropped.

    Keys are meant to describe content (:func:`content_digest` of tensors, settings), never
    object identities, so that a model changed in place or a recycled ``id`` cannot return a
    stale value.
    """

    def __init__(self, maxsize: int = 64):
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1; got {maxsize}")
        self.maxsize = maxsize
        self._data: OrderedDict = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key) -> bool:
        return key in self._data

    def get(self, key, compute):
        """The value under ``key``, computed by ``compute()`` (and stored) if absent."""
        if key in self._data:
            self._data.move_to_end(key)
            return self._data[key]
        value = self._data[key] = compute()
        if len(self._data) > self.maxsize:
            self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        self._data.clear()


def content_digest(*parts) -> str:
    """SHA-256 over tensors, arrays and plain values (their dtype, shape and bytes; ``repr`` for
    anything else): equal content gives an equal digest, whatever object holds it."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.Tensor):
            part = part.detach().cpu().contiguous().numpy()
        if isinstance(part, np.ndarray):
            part = np.ascontiguousarray(part)
            digest.update(f"{part.dtype}|{part.shape}|".encode())
            digest.update(part.tobytes())
        else:
            digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def menu_methods(model, X) -> list[str]:
    """The attribution methods a widget's menu offers for ``model`` on ``X``: the registry's
    interactive methods (:func:`~xai_widgets.methods.method_names`) whose check says ``"yes"``."""
    supported = capabilities(model, X)
    return [name for name in method_names(interactive=True) if supported.get(name) == "yes"]


def menu_method(model, X, method: str, available: list[str]) -> str:
    """``method``'s registry name if it is in ``available`` (:func:`menu_methods`); else a
    ValueError saying why (unknown: the registered names; else why it does not apply)."""
    entry = get_method(method)  # ValueError listing the registered methods
    if entry.name not in available:
        reason = (str(entry.applies_to(model, X)) if entry.interactive
                  else "it is not offered in menus (registered with interactive=False)")
        raise ValueError(f"{entry.name} does not apply to {type(model).__name__}: {reason}")
    return entry.name


def menu_options(options: dict | None) -> dict:
    """Per attribution method, its interactive defaults from the registry
    (:attr:`~xai_widgets.methods.AttributionMethod.defaults`), replaced method by method by
    ``options`` (``{"integrated_gradients": {"n_steps": 32}}`` replaces all of IG's defaults)."""
    defaults = {name: dict(get_method(name).defaults) for name in method_names()}
    return {**{name: d for name, d in defaults.items() if d}, **(options or {})}


def resolve_target(model, target, n_outputs: int) -> int:
    """``target`` (an output index, or a name of :func:`xai_widgets.contract.output_names`) as an
    index, by the package's one rule (:func:`~xai_widgets.methods.check_target`): ``None`` selects
    the model's only output and raises ``ValueError`` for a multi-output model, naming its outputs."""
    return check_target(target, n_outputs, model=model)

