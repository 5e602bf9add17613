"""The AttentionOverlay's state without a view: the attention maps of one sequence, what one
query, layer and head select, and ISM importance per target."""

from __future__ import annotations

import torch
from torch import nn

from ..._core import predict, resolve_device
from ...methods import attention_importance, attention_maps, check_index, ism_importance
from ...metrics import pearson
from ._common import resolve_target


class AttentionCore:
    """Attention maps of ``X`` and ISM importance for ``target`` (no view).

    Parameters
    ----------
    model : torch.nn.Module
        A model with ``attention_maps``.
    X : torch.Tensor, shape (1, 4, L)
    target : int or str, optional
        Output ISM explains; default None: the model's only output (a multi-output model needs
        ``target=<index or name>``).
    device : str or torch.device, optional
        Default ``"auto"``.
    """

    def __init__(self, model: nn.Module, X: torch.Tensor, *, target=None, device="auto"):
        self.model, self.X, self.device = model, X, resolve_device(device)
        self.maps = attention_maps(model, X, device=self.device)
        self.n_outputs = int(predict(model, X, device=self.device).shape[1])
        self.target = self.check_target(target)
        self._ism: dict[int, torch.Tensor] = {}

    def check_target(self, target) -> int:
        return resolve_target(self.model, target, self.n_outputs)

    def check_layer(self, layer):
        return check_index(layer, self.maps.n_layers, what="layer")

    def check_head(self, head):
        return check_index(head, self.maps.n_heads, what="head")

    def check_query(self, position):
        if position is not None:
            self.maps.token(position)  # raises for positions no token covers
        return position

    def covers(self, position: int) -> bool:
        """Whether an attention token covers ``position``."""
        return 0 <= position < self.maps.n_tokens * self.maps.stride

    def attention(self, *, layer=None, head=None, query=None) -> torch.Tensor:
        """Attention over the sequence ``(L,)``: of ``query``'s token, or received (mean over queries)."""
        return attention_importance(self.maps, layer=layer, head=head, query=query)[0]

    def ism_importance(self) -> torch.Tensor:
        """``|ISM|`` per position ``(L,)`` for :attr:`target` (computed once per target)."""
        if self.target not in self._ism:
            self._ism[self.target] = ism_importance(self.model, self.X, target=self.target, device=self.device)[0]
        return self._ism[self.target]

    def agreement(self, attention: torch.Tensor) -> float:
        """Pearson r of ``attention`` with :meth:`ism_importance`."""
        return pearson(attention, self.ism_importance())
