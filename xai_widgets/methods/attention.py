"""Attention maps of self-attention models, and what they say about input positions.

A model is supported when it has a method ``attention_maps(X) -> (N, layers, heads, L', L')``
(rows: queries, each a softmax over the key columns), as the zoo's
:class:`~xai_widgets.zoo.architectures.ConvAttention` has. Such models usually attend over
tokens, not bases: ``ConvAttention`` max-pools its convolution by ``pool``, so ``L' = L // pool``
and token ``j`` is pooled from positions ``[j * pool, (j + 1) * pool)``.

- :func:`attention_maps`: the maps of every layer and head, with the token geometry
- :func:`attention_importance`: one score per input position, from the maps
- :func:`attention_vs_ism`: how well that score agrees with ISM, per sequence

Attention weights are not attributions: a token can attend to a position whose content does
not change the output. :func:`attention_vs_ism` measures the agreement instead of assuming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import torch
from torch import nn

from .._core import resolve_batch_size
from ..metrics import pearson
from ._common import model_method, prepare
from .ism import saturation_mutagenesis

SPREADS = ("receptive_field", "token")


@dataclass(frozen=True)
class AttentionMaps:
    """Result of :func:`attention_maps`.

    Attributes
    ----------
    maps : torch.Tensor, shape (N, layers, heads, L', L')
        Attention weights on CPU; ``maps[n, l, h, q, k]`` is how much query token ``q``
        attends to key token ``k`` (each row sums to 1).
    X : torch.Tensor, shape (N, 4, L)
        The sequences.
    stride : int
        Input positions per token: token ``j`` is pooled from positions
        ``[j * stride, (j + 1) * stride)``. Positions from ``L' * stride`` on (a remainder when
        ``L`` is not a multiple of the pooling) belong to no token.
    receptive_field : int
        Input positions a token's representation is computed from, centred on its ``stride``
        positions: ``stride + 2 * (filter_width // 2)`` for ``ConvAttention`` (22 for the zoo
        model), ``stride`` when unknown.
    """

    maps: torch.Tensor
    X: torch.Tensor
    stride: int
    receptive_field: int

    @property
    def n_layers(self) -> int:
        return self.maps.shape[1]

    @property
    def n_heads(self) -> int:
        return self.maps.shape[2]

    @property
    def n_tokens(self) -> int:
        return self.maps.shape[-1]

    @property
    def length(self) -> int:
        return self.X.shape[-1]

    def token(self, position: int) -> int:
        """The token whose pooled span contains input ``position``."""
        covered = self.n_tokens * self.stride
        if isinstance(position, bool) or not isinstance(position, Integral) or not 0 <= position < covered:
            raise ValueError(f"query position {position!r} is not covered by an attention token: tokens cover "
                             f"positions 0..{covered - 1} ({self.n_tokens} tokens of {self.stride})")
        return int(position) // self.stride

    def receptive_fields(self) -> torch.Tensor:
        """Which input positions each token reads: ``(L', L)`` of 0/1 (its receptive field,
        centred on its pooled span and clipped to the sequence)."""
        pad = (self.receptive_field - self.stride) // 2
        token, position = torch.arange(self.n_tokens)[:, None], torch.arange(self.length)[None]
        start = token * self.stride - pad
        return ((position >= start) & (position < start + self.receptive_field)).float()


def _token_geometry(model: nn.Module, length: int, n_tokens: int, receptive_field: int | None) -> tuple[int, int]:
    """``(stride, receptive_field)``: from ``model.config`` (``pool``, ``filter_width``) when it
    matches the maps, else ``stride = L // L'`` and a receptive field of ``stride``."""
    config = getattr(model, "config", None)
    config = config if isinstance(config, dict) else {}
    pool, width = config.get("pool"), config.get("filter_width")
    from_config = isinstance(pool, int) and pool > 0 and length // pool == n_tokens
    stride = pool if from_config else max(length // n_tokens, 1)
    if receptive_field is None:
        receptive_field = stride + 2 * (width // 2) if from_config and isinstance(width, int) else stride
    if isinstance(receptive_field, bool) or not isinstance(receptive_field, int) or receptive_field < stride:
        raise ValueError(f"receptive_field must be an int >= stride ({stride}); got {receptive_field!r}")
    return stride, receptive_field


@model_method
@torch.no_grad()
def attention_maps(model: nn.Module, X: torch.Tensor, *, batch_size: int | None = None, device="auto",
                   receptive_field: int | None = None) -> AttentionMaps:
    """The attention weights of every layer and head for each sequence.

    Parameters
    ----------
    model : torch.nn.Module
        A model with a method ``attention_maps(X)`` returning ``(N, layers, heads, L', L')``
        (e.g. ``zoo.load("attention_motif_presence")``).
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences.
    batch_size : int or None, optional
        Sequences per forward pass; default None: from the memory rule
        (:func:`xai_widgets._core.resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.
    receptive_field : int or None, optional
        Input positions one token reads (see :class:`AttentionMaps`); default None: from the
        model.

    Returns
    -------
    AttentionMaps

    Raises
    ------
    TypeError
        If the model has no ``attention_maps`` method.
    """
    if not callable(getattr(model, "attention_maps", None)):
        raise TypeError(f"{type(model).__name__} has no attention_maps method: attention methods need a model "
                        "with attention_maps(X) -> (N, layers, heads, L', L'), such as the zoo's ConvAttention "
                        "(zoo.load('attention_motif_presence')); use ISM or gradients for other models")
    device, _ = prepare(model, X, device, batch_size, probe=False)
    batch_size = resolve_batch_size(batch_size, model, X, device)
    maps = torch.cat([model.attention_maps(X[start : start + batch_size].to(device)).float().cpu()
                      for start in range(0, X.shape[0], batch_size)])
    n, length = X.shape[0], X.shape[-1]
    if maps.ndim != 5 or maps.shape[0] != n or maps.shape[-1] != maps.shape[-2] or not 0 < maps.shape[-1] <= length:
        raise ValueError(f"{type(model).__name__}.attention_maps must return (N, layers, heads, L', L') with "
                         f"L' <= L = {length}; for {n} sequence(s) it returned {tuple(maps.shape)}")
    return AttentionMaps(maps, X, *_token_geometry(model, length, maps.shape[-1], receptive_field))


def check_index(value, size: int, *, what: str) -> int | None:
    """``value`` as an index into ``size`` layers or heads (negative from the end); None stays None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or not -size <= value < size:
        raise ValueError(f"{what} {value!r} is out of range: the model has {size} attention {what}s "
                         f"(0..{size - 1}, or None for the mean)")
    return int(value) % size


def attention_importance(result: AttentionMaps, *, layer: int | None = None, head: int | None = None,
                         query: int | None = None, rollout: bool = False,
                         spread: str = "receptive_field") -> torch.Tensor:
    """One attention score per input position.

    The steps, in order:

    1. heads: the mean over heads, or only ``head``;
    2. layers: the mean of the layers' ``(L', L')`` maps, or only ``layer``. With
       ``rollout=True`` instead the attention rollout (Abnar & Zuidema 2020) of layers
       ``0..layer`` (all when None): the product of ``0.5 * A + 0.5 * I`` per layer, which
       counts the residual connection;
    3. queries: the mean over query rows, i.e. the attention each key token *receives*
       (scores of one sequence sum to 1 over tokens), or the row of the token whose pooled
       span contains input position ``query``;
    4. tokens to positions: with ``spread="receptive_field"`` (default) each position gets
       the mean score of the tokens whose receptive field contains it (a token's features are
       computed from those positions); with ``spread="token"`` the score of the one token
       whose pooled span contains it. Positions no token covers get 0.

    Parameters
    ----------
    result : AttentionMaps
    layer, head : int or None, optional
        Default None: the mean over them. One layer or head (negative counts from the end).
    query : int or None, optional
        Default None: the mean over queries. An input position; its token's attention row
        replaces the mean over queries.
    rollout : bool, optional
        Default False. Attention rollout over layers (step 2).
    spread : {"receptive_field", "token"}, optional
        Default ``"receptive_field"`` (step 4).

    Returns
    -------
    torch.Tensor, shape (N, L)
    """
    if not isinstance(result, AttentionMaps):
        raise TypeError(f"result must be the AttentionMaps of attention_maps(); got {type(result).__name__}")
    if spread not in SPREADS:
        raise ValueError(f"spread must be one of {SPREADS}; got {spread!r}")
    layer = check_index(layer, result.n_layers, what="layer")
    head = check_index(head, result.n_heads, what="head")
    maps = result.maps.mean(2) if head is None else result.maps[:, :, head]  # (N, layers, L', L')
    if rollout:
        identity = torch.eye(result.n_tokens)
        scores = identity.expand_as(maps[:, 0])
        for a in maps[:, : result.n_layers if layer is None else layer + 1].unbind(1):
            scores = (0.5 * a + 0.5 * identity) @ scores
    else:
        scores = maps.mean(1) if layer is None else maps[:, layer]
    scores = scores.mean(-2) if query is None else scores[:, result.token(query)]  # (N, L')
    if spread == "token":
        return torch.nn.functional.pad(scores.repeat_interleave(result.stride, -1),
                                       (0, result.length - result.n_tokens * result.stride))
    reads = result.receptive_fields()
    return (scores @ reads) / reads.sum(0).clamp_min(1)


@model_method
def ism_importance(model: nn.Module, X: torch.Tensor, *, target: int | str | None = None, batch_size: int | None = None,
                   device="auto") -> torch.Tensor:
    """Absolute ISM importance per position: ``|sum over bases of the ISM attribution|``.

    Parameters
    ----------
    model, X
        As in :func:`~xai_widgets.methods.saturation_mutagenesis`.
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model, naming its
        outputs); else an output index or name.
    batch_size : int or None, optional
        Default None: from the memory rule (:func:`xai_widgets._core.resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.

    Returns
    -------
    torch.Tensor, shape (N, L)
    """
    if target is None:
        raise ValueError("target must pick one output (an int)")
    ism = saturation_mutagenesis(model, X, target=target, batch_size=batch_size, device=device)
    return ism.values.sum(1).abs()


@dataclass(frozen=True)
class AttentionISMComparison:
    """Result of :func:`attention_vs_ism`.

    Attributes
    ----------
    correlation : torch.Tensor, shape (N,)
        Pearson correlation of ``attention`` and ``ism`` per sequence (NaN if one is constant).
    attention : torch.Tensor, shape (N, L)
        :func:`attention_importance` per position.
    ism : torch.Tensor, shape (N, L)
        :func:`ism_importance` per position.
    """

    correlation: torch.Tensor
    attention: torch.Tensor
    ism: torch.Tensor


@model_method
def attention_vs_ism(model: nn.Module, X: torch.Tensor, *, target: int | str | None = None, layer: int | None = None,
                     head: int | None = None, rollout: bool = False, spread: str = "receptive_field",
                     batch_size: int | None = None, ism_batch_size: int | None = None,
                     device="auto") -> AttentionISMComparison:
    """Per-sequence agreement of attention importance and absolute ISM importance.

    Parameters
    ----------
    model : torch.nn.Module
        A model with ``attention_maps`` (see :func:`attention_maps`).
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences.
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model); else the
        output (index or name) ISM explains.
    layer, head : int or None, optional
        Default None; as in :func:`attention_importance`.
    rollout : bool, optional
        Default False; as in :func:`attention_importance`.
    spread : {"receptive_field", "token"}, optional
        Default ``"receptive_field"``; as in :func:`attention_importance`.
    batch_size, ism_batch_size : int or None, optional
        Default None: from the memory rule (:func:`xai_widgets._core.resolve_batch_size`).
        Sequences per attention pass; edited sequences per ISM batch.
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.

    Returns
    -------
    AttentionISMComparison
    """
    maps = attention_maps(model, X, batch_size=batch_size, device=device)
    attention = attention_importance(maps, layer=layer, head=head, rollout=rollout, spread=spread)
    ism = ism_importance(model, X, target=target, batch_size=ism_batch_size, device=device)
    correlation = torch.tensor([pearson(a, b) for a, b in zip(attention, ism)], dtype=torch.float64)
    return AttentionISMComparison(correlation, attention, ism)
