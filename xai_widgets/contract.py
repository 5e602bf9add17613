"""The model contract: what the methods need from a model, and how your own model meets it.

Every method takes any ``torch.nn.Module`` that maps one-hot ``(N, 4, L)`` (rows A, C, G, T)
to ``(N, T)``. A model that does not (another channel order, a fixed input length, tuple or
profile outputs) is fitted to it by :func:`xai_widgets.adapt.adapt`. Beyond that, some methods
go faster or apply at all only when the model tells them more. This module holds that
vocabulary; the zoo, the methods and the tests import it from here, and so can your models.

Layers the methods understand
-----------------------------
:class:`Exp`
    The exponential activation; DeepLIFT has a rule for it and fast ISM computes it
    element-wise (``torch.exp`` inside a ``forward`` of your own is neither).
:class:`GlobalMaxPool`
    Max over the length axis; DeepLIFT treats it as a max pool over the whole sequence.
:class:`Residual`
    ``x + body(x)`` over length-preserving local layers; fast ISM carries an edit through it.

Optional model attributes and methods
-------------------------------------
``first_conv`` (:class:`FirstConvModel`)
    The ``Conv1d`` that reads the one-hot input. Filter methods
    (:func:`xai_widgets.methods.first_layer` and those built on it) read its weights as motifs;
    without it they take the first ``Conv1d`` with 4 input channels.
``local_plan()`` (:class:`LocalPlanModel`)
    The model written as position-local layers and a head (a :class:`LocalPlan`). With it,
    fast ISM and the fast paths of global importance and variant scoring recompute only the
    window an edit changes (Nair et al. 2022); every method checks the plan against plain
    forward passes the first time and falls back to them when the two disagree. An
    ``nn.Sequential`` (exactly that class) gets a plan without writing one.
``attention_maps(x)`` (:class:`AttentionModel`)
    Attention weights ``(N, layers, heads, L', L')`` for the attention methods
    (:func:`xai_widgets.methods.attention_maps`).

Example
-------
>>> import torch
>>> from torch import nn
>>> from xai_widgets.contract import Exp, GlobalMaxPool, LocalPlan, LocalPlanModel
>>> class Tiny(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.conv, self.act, self.pool, self.out = nn.Conv1d(4, 8, 9), Exp(), GlobalMaxPool(), nn.Linear(8, 1)
...     @property
...     def first_conv(self):
...         return self.conv
...     def local_plan(self):
...         return LocalPlan([self.conv, self.act], True, self.out)
...     def forward(self, x):
...         return self.out(self.pool(self.act(self.conv(x))))
>>> isinstance(Tiny(), LocalPlanModel)
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol, runtime_checkable

import torch
from torch import nn

__all__ = ["Exp", "GlobalMaxPool", "Residual", "LocalPlan", "FirstConvModel", "LocalPlanModel", "AttentionModel"]


class Exp(nn.Module):
    """Exponential activation (Koo & Ploenzke 2021): sharper, more interpretable first-layer filters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)


class GlobalMaxPool(nn.Module):
    """Max over the length axis: ``(N, C, L) -> (N, C)``; makes a model length-agnostic."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=-1)


class LocalPlan(NamedTuple):
    """A model written as position-local layers followed by a head (used by fast ISM).

    ``layers`` are applied in order to ``(N, C, L)``; each is a Conv1d (stride 1), a
    MaxPool1d (stride equal to kernel), or an element-wise module (BatchNorm1d in eval mode,
    activations, Dropout). If ``global_max`` the last local output is max-pooled over length
    before ``head``; otherwise ``head`` receives the whole ``(N, C, L')`` map.
    """

    layers: list
    global_max: bool
    head: Callable[[torch.Tensor], torch.Tensor]


class Residual(nn.Module):
    """``x + body(x)``: a residual block of length-preserving position-local layers.

    A local layer of the :class:`LocalPlan` vocabulary: fast ISM
    carries an edit's window through ``body`` and adds the edited input on the same span. The
    body may hold ``Conv1d`` layers with stride 1 and "same" zero padding
    (``2 * padding == dilation * (kernel_size - 1)``), element-wise layers and further
    ``Residual`` blocks (see :func:`xai_widgets.methods.fast_ism_support`).

    Parameters
    ----------
    *layers : torch.nn.Module
        The body, applied in order.
    """

    def __init__(self, *layers: nn.Module):
        super().__init__()
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@runtime_checkable
class FirstConvModel(Protocol):
    """A model that names the convolution reading its one-hot input (its filters read as PWMs).

    The zoo's models, the published ones and adapted models (:func:`xai_widgets.adapt.adapt`,
    when they read ACGT channels first) have it.
    """

    @property
    def first_conv(self) -> nn.Conv1d:
        """The ``Conv1d`` with 4 input channels (A, C, G, T) that reads the sequence."""


@runtime_checkable
class LocalPlanModel(Protocol):
    """A model that offers fast ISM its position-local layers (see :class:`LocalPlan`).

    The plan must compute what ``forward`` computes: ``head`` of the layers applied in order
    (after a global max over length when ``global_max``). The methods check this numerically the
    first time they meet the model and fall back to plain forward passes when it does not.
    """

    def local_plan(self) -> LocalPlan:
        """The model's :class:`LocalPlan`."""


@runtime_checkable
class AttentionModel(Protocol):
    """A model with self-attention that returns its attention weights."""

    def attention_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Attention weights of every layer and head for one-hot ``x (N, 4, L)``: shape
        ``(N, layers, heads, L', L')`` (rows: queries, softmax over keys), where token ``j``
        of ``L'`` covers a stretch of the input (see :class:`xai_widgets.methods.AttentionMaps`)."""
