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
:class:`ProfileScaling`
    BPNet's profile contribution weights, ``softmax(l).detach() * l``; DeepLIFT gives it the
    rescale rule (:func:`xai_widgets.adapt.adapt` uses it for ``profile=...``).

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
``output_names``
    A sequence of ``T`` names, one per output: ``target="counts"`` then works in every method,
    errors name the outputs and every widget's target menu shows them.
``input_length``
    An int, for models that read one length only (variant scoring and the SpacingSweep use it
    to cut windows).

Reading a model
---------------
Every part of the package reads these facts through one function each, which also looks at
the zoo's model card (``model.card``, a dict of metadata) when the model has no attribute:
:func:`output_names`, :func:`input_length`, :func:`first_conv`, and :func:`card` for the rest
of the card. The attribute always wins over the card.

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
from torch.nn.modules import module as _module_globals

__all__ = ["Exp", "GlobalMaxPool", "Residual", "ProfileScaling", "LocalPlan", "FirstConvModel", "LocalPlanModel",
           "AttentionModel", "card", "output_names", "input_length", "first_conv",
           "ELEMENTWISE", "KNOWN_LAYERS", "local_plan", "fast_ism_support", "plan_and_reason"]


class Exp(nn.Module):
    """Exponential activation (Koo & Ploenzke 2021): sharper, more interpretable first-layer filters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)


class GlobalMaxPool(nn.Module):
    """Max over the length axis: ``(N, C, L) -> (N, C)``; makes a model length-agnostic."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=-1)


class ProfileScaling(nn.Module):
    """``softmax(l).detach() * l`` on centred, flattened profile logits ``(N, M) -> (N, M)``.

    A module (bpnet-lite's ``_ProfileLogitScaling``) so that DeepLIFT can give it a rule: the
    rescale rule on its input and output, as bpnet-lite and tangermeme do. Summed over ``M`` it is
    BPNet's profile contribution (:func:`xai_widgets.adapt.profile_contribution`; Avsec et al.,
    Nat Genet 2021).
    """

    def forward(self, flat: torch.Tensor) -> torch.Tensor:
        return torch.softmax(flat, dim=1).detach() * flat


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


# -- reading a model: one function per fact -----------------------------------------------------


def card(model: nn.Module) -> dict:
    """The model's card (``model.card``): metadata such as a zoo model's task, training and
    metrics; ``{}`` when the model has none (or it is not a dict).

    The card describes a model; it is not how the package learns what the model computes. Read
    output names, input length and the first layer with :func:`output_names`,
    :func:`input_length` and :func:`first_conv`, which prefer the model's own attributes.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    dict
        The card itself (not a copy).
    """
    value = getattr(model, "card", None)
    return value if isinstance(value, dict) else {}


def output_names(model: nn.Module, n_outputs: int | None = None) -> tuple[str, ...] | None:
    """The names of the model's outputs: the one rule every method, error message and widget uses.

    The model's ``output_names`` attribute (set it on your own model, or through
    :func:`xai_widgets.adapt.adapt`'s ``output_names=``) when it is non-empty, else its card's
    ``task.target_names`` (zoo models), else none.

    Parameters
    ----------
    model : torch.nn.Module
    n_outputs : int, optional
        Default None: return the declared names as they are (None when there are none). When
        given, always return ``n_outputs`` names: the declared ones if there are that many, else
        ``"0"``, ``"1"``, ... (the names ``target="0"`` accepts for an unnamed model).

    Returns
    -------
    tuple of str, or None
        None only when ``n_outputs`` is None and the model declares no names.

    Examples
    --------
    >>> from torch import nn
    >>> model = nn.Linear(4, 2)
    >>> model.output_names = ["open", "bound"]
    >>> output_names(model)
    ('open', 'bound')
    >>> output_names(nn.Linear(4, 2), 2)
    ('0', '1')
    """
    names = getattr(model, "output_names", None)
    if not names:
        names = card(model).get("task", {}).get("target_names")
    names = tuple(str(n) for n in names) if names else None
    if n_outputs is None:
        return names
    return names if names is not None and len(names) == n_outputs else tuple(str(i) for i in range(n_outputs))


def input_length(model: nn.Module) -> int | None:
    """The one input length a model reads, if it states one.

    The model's ``input_length`` attribute (adapted models with a fixed length), else
    ``input_length`` in its ``config`` dict (zoo architectures), else its card's ``task.length``
    or ``config.input_length``.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    int or None
        A positive length, or None when the model states none (it may read any length).
    """
    config = getattr(model, "config", None)
    meta = card(model)
    for value in (getattr(model, "input_length", None),
                  config.get("input_length") if isinstance(config, dict) else None,
                  meta.get("task", {}).get("length"),
                  meta.get("config", {}).get("input_length")):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def first_conv(model: nn.Module) -> nn.Conv1d:
    """The convolution that reads the one-hot input: ``model.first_conv`` (:class:`FirstConvModel`),
    else the first ``nn.Conv1d`` with 4 input channels among ``model.modules()``.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    torch.nn.Conv1d

    Raises
    ------
    ValueError
        When the model has no ``first_conv`` and no ``Conv1d`` on 4 input channels (and whatever
        its ``first_conv`` property raises, e.g. an adapted model reading another alphabet).
    """
    conv = getattr(model, "first_conv", None)
    if conv is None:
        conv = next((m for m in model.modules() if isinstance(m, nn.Conv1d) and m.in_channels == 4), None)
    if conv is None:
        raise ValueError(f"{type(model).__name__} has no Conv1d reading the 4 input channels: no filters to read")
    return conv


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


# ---------------------------------------------------------------------------------------------
# Plan discovery: which of a model's layers the fast edit paths may compute themselves
#
# The edit engine (xai_widgets.methods._engine) computes position-local layers from their raw
# weights, so it takes a layer as local only when it knows the layer's computation: exactly one
# of KNOWN_LAYERS (or a subclass that redefines nothing of it), without forward hooks, with
# supported settings. Plans are not trusted blindly: the engine checks them numerically.

ELEMENTWISE = (nn.BatchNorm1d, nn.ReLU, nn.ELU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.LeakyReLU,
               nn.Identity, nn.Dropout, Exp)
"""Element-wise layers fast ISM knows (BatchNorm1d only in eval mode with running statistics)."""
KNOWN_LAYERS = (nn.Conv1d, nn.MaxPool1d, Residual) + ELEMENTWISE
"""Every layer class the fast path computes itself (see :func:`local_plan`). A
:class:`~xai_widgets.contract.Residual` block (``x + body(x)``) counts when every layer
of its body does and keeps the length: convolutions with "same" padding, element-wise layers."""
_COMPUTATION = ("forward", "_conv_forward", "__call__", "_call_impl", "_wrapped_call_impl", "__getattr__",
                "__getattribute__", "weight", "bias")
"""Attributes a subclass may not redefine and still count as its known base class."""


def local_plan(model: nn.Module) -> LocalPlan | None:
    """The model's :class:`LocalPlan`, or None when fast ISM does not apply (see :func:`fast_ism_support`).

    Zoo models provide one; an ``nn.Sequential`` (exactly that class) gets one when its leading
    layers are known local layers (the rest becomes the head). When a plan lists a layer that is
    not known (for instance a Conv1d subclass with its own forward, or a layer with a forward
    hook), only the known layers before it stay local and the rest moves into the head; None when
    that leaves no local layer. The plan is not yet checked against the model's own forward: the
    methods check it first (``xai_widgets.methods._engine.path.check_plan``).
    """
    return plan_and_reason(model)[0]


def fast_ism_support(model: nn.Module) -> str:
    """Whether fast ISM applies to ``model``: ``"yes"`` or ``"no: <reason naming the layer>"``.

    This is the static part of the decision (the layers and their settings, for the model in
    eval mode, as every method runs it); the methods also check the plan numerically the first
    time (``xai_widgets.methods._engine.path.check_plan``).
    """
    plan, reason = plan_and_reason(model)
    return "yes" if plan is not None else "no: " + reason


def plan_and_reason(model: nn.Module) -> tuple[LocalPlan | None, str]:
    """The model's usable :class:`LocalPlan` and, when there is none, why: ``(plan, "")`` or
    ``(None, reason)``, the reason naming the layer and what to change (see :func:`local_plan`)."""
    names = {id(m): name for name, m in model.named_modules()}
    hooked = _hooks(model, top_level=True)
    if hooked:
        return None, f"the model ({type(model).__name__}) has {hooked}, which the fast path would bypass"
    if hasattr(model, "local_plan"):
        plan = model.local_plan()
    elif type(model) is nn.Sequential:
        plan = LocalPlan(list(model), False, None)
    elif isinstance(model, nn.Sequential):
        return None, (f"{type(model).__name__} subclasses nn.Sequential, so its forward may differ from running "
                      "its layers in order; give it a local_plan() method to allow fast ISM")
    else:
        return None, (f"{type(model).__name__} has no local_plan() and is not an nn.Sequential, so its "
                      "position-local layers are not known (e.g. an RNN or attention model)")
    layers = list(plan.layers)
    reason = (f"{type(model).__name__}'s local_plan() offers no position-local layers (an adapter over a model "
              "without them, or with a changed input length): ISM runs plain forward passes")
    for k, layer in enumerate(layers):
        problem = _layer_problem(layer, id(layer) in names, names)
        if problem is not None:
            name = names.get(id(layer))
            label = f"layer {name!r}" if name else f"plan layer {k}"
            reason = f"{label} ({type(layer).__name__}) {problem}"
            layers = layers[:k]
            rest = list(plan.layers)[k:]
            break
    else:
        rest = []
    if not layers:
        return None, reason
    if plan.head is None:  # an nn.Sequential: the rest of it is the head
        return LocalPlan(layers, False, nn.Sequential(*rest)), ""
    if not rest:
        return plan, ""
    return LocalPlan(layers, False, _Tail(rest, plan.global_max, plan.head)), ""


class _Tail:
    """Head of a plan cut short: the plan's remaining layers, its global max (if any), its head."""

    def __init__(self, layers, global_max: bool, head):
        self.layers, self.global_max, self.head = layers, global_max, head

    def __call__(self, h: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            h = layer(h)
        return self.head(h.amax(-1) if self.global_max else h)


def _known_class(module: nn.Module):
    """The known layer class ``module`` computes as, or None (a subclass redefining its computation)."""
    cls = type(module)
    if cls in KNOWN_LAYERS:
        return cls
    for base in KNOWN_LAYERS:
        if issubclass(cls, base):
            between = cls.__mro__[: cls.__mro__.index(base)]
            if any(name in vars(c) for c in between for name in _COMPUTATION):
                return None
            return base
    return None


def _hooks(module: nn.Module, top_level: bool = False) -> str:
    """Description of the forward hooks that would run on ``module`` ('' when none)."""
    found = []
    if module._forward_hooks or module._forward_pre_hooks:
        found.append("a forward hook")
    if not top_level and (getattr(_module_globals, "_global_forward_hooks", None)
                          or getattr(_module_globals, "_global_forward_pre_hooks", None)):
        found.append("global forward hooks (torch.nn.modules.module.register_module_forward_hook)")
    return " and ".join(found)


def _layer_problem(module, owned: bool, names: dict | None = None) -> str | None:
    """Why ``module`` is not a local layer fast ISM can compute, or None.

    ``owned``: the module belongs to the model, which every method puts in eval mode first; a
    plan layer outside the model keeps its own training flag. ``names``: ids of the model's
    modules (for the layers inside a :class:`Residual` block).
    """
    if not isinstance(module, nn.Module):
        return "is not an nn.Module"
    cls = _known_class(module)
    if cls is None:
        known = ", ".join(c.__name__ for c in KNOWN_LAYERS)
        if isinstance(module, KNOWN_LAYERS):
            return ("subclasses a known layer but redefines its computation (e.g. its own forward), so the fast "
                    f"path cannot compute it; fast ISM knows {known}")
        return f"is not a layer fast ISM knows ({known})"
    hooked = _hooks(module)
    if hooked:
        return f"has {hooked}, which the fast path would bypass"
    training = module.training and not owned
    if cls is Residual:
        for k, layer in enumerate(module.body):
            problem = _layer_problem(layer, id(layer) in names if names is not None else owned, names)
            if problem is None and isinstance(layer, nn.MaxPool1d):
                problem = "changes the length"
            if problem is None and isinstance(layer, nn.Conv1d) and \
                    2 * layer.padding[0] != layer.dilation[0] * (layer.kernel_size[0] - 1):
                problem = ("changes the length (a residual body needs 'same' padding: "
                           "2 * padding == dilation * (width - 1))")
            if problem is not None:
                return f"has body layer {k} ({type(layer).__name__}) that {problem}"
        return None
    if cls is nn.Conv1d:
        if module.stride != (1,):
            return f"has stride {module.stride[0]}; fast ISM needs stride 1"
        if module.padding_mode != "zeros" or not isinstance(module.padding, tuple):
            return (f"has padding={module.padding!r}, padding_mode={module.padding_mode!r}; fast ISM needs integer "
                    "zero padding")
    elif cls is nn.MaxPool1d:
        k = _single(module.kernel_size)
        if not (_single(module.stride) == k and _single(module.padding) == 0 and _single(module.dilation) == 1
                and not module.ceil_mode and not module.return_indices):
            return ("is not a plain non-overlapping pool; fast ISM needs stride == kernel_size, no padding, "
                    "dilation 1, ceil_mode=False, return_indices=False")
    elif cls is nn.BatchNorm1d:
        if not module.track_running_stats or module.running_mean is None or module.running_var is None:
            return "has no running statistics (it normalises over the batch, which is not position-local)"
        if training:
            return "is in training mode (outside the model, so model.eval() does not reach it)"
    elif cls is nn.Dropout and training and module.p > 0:
        return "is in training mode (outside the model, so model.eval() does not reach it)"
    return None


def _single(value) -> int:
    return value[0] if isinstance(value, tuple) else value
