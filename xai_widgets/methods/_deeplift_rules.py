"""DeepLIFT's per-call rules: which module classes get which rule, and the hooks that apply them.

A *rule* turns one call of a nonlinear module into DeepLIFT multipliers. Two rules exist:

- ``"rescale"`` (Shrikumar et al. 2017): for an element-wise function ``y = f(x)``, the
  multiplier ``(f(x) - f(r)) / (x - r)`` of each element, the plain gradient where
  ``|x - r| < EPSILON``;
- ``"max_pool"`` (DeepSHAP; Lundberg & Lee 2017): the change in a pooled output is routed to
  the winning inputs of the sequence and of the reference (``nn.MaxPool1d`` and
  :class:`~xai_widgets.contract.GlobalMaxPool`).

Every module whose class (or a base class) has a rule gets it on every call: the built-in
activations and poolings below, the classes registered with :func:`register_deeplift_rule`,
and those given to one call as ``deep_lift_shap(..., rules={MyModule: "rescale"})``. The most
specific class wins (a rule for a subclass of ``nn.ReLU`` overrides ``nn.ReLU``'s), and a
call's ``rules`` override the registered ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..contract import Exp, GlobalMaxPool, ProfileScaling

ELEMENTWISE_NONLINEAR = (nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.GELU, nn.SiLU, Exp,
                         ProfileScaling)
POOLING = (nn.MaxPool1d, GlobalMaxPool)
RULED = ELEMENTWISE_NONLINEAR + POOLING
LINEAR = (nn.Conv1d, nn.Linear, nn.BatchNorm1d, nn.Dropout, nn.Identity, nn.Flatten, nn.AvgPool1d)
#: The rules a module class can be given (:func:`register_deeplift_rule`).
RULES = ("rescale", "max_pool")
EPSILON = 1e-6

_BUILT_IN = {**{cls: "rescale" for cls in ELEMENTWISE_NONLINEAR}, **{cls: "max_pool" for cls in POOLING}}
_REGISTERED: dict[type, str] = {}


def check_rules(rules) -> dict[type, str]:
    """``rules`` (None or a mapping ``{module class: rule}``) as a checked dict; ValueError or
    TypeError naming the bad entry."""
    if rules is None:
        return {}
    if not hasattr(rules, "items"):
        raise TypeError(f"rules must be a dict mapping module classes to a rule name; got {type(rules).__name__}")
    checked = {}
    for module_class, rule in rules.items():
        if not (isinstance(module_class, type) and issubclass(module_class, nn.Module)):
            raise TypeError(f"a DeepLIFT rule is given for a torch.nn.Module subclass; got {module_class!r}")
        if rule not in RULES:
            raise ValueError(f"the DeepLIFT rule for {module_class.__name__} must be one of {RULES}; got {rule!r}")
        checked[module_class] = rule
    return checked


def register_deeplift_rule(module_class: type, rule: str = "rescale") -> None:
    """Give every module of ``module_class`` (and of its subclasses) a DeepLIFT rule, in every call.

    DeepLIFT refuses a model with a module it has no rule for (a custom activation, say a
    ``Swish`` computing ``x * torch.sigmoid(x)`` in its ``forward``). Registering the class tells
    :func:`~xai_widgets.methods.deep_lift_shap`, :func:`~xai_widgets.methods.deeplift_support`,
    :func:`~xai_widgets.methods.capabilities` and the widgets' method menus that the module is
    one nonlinearity with that rule: its inside is not inspected, and each call's multipliers
    come from that call's input and output only. For one call only, pass
    ``deep_lift_shap(..., rules={module_class: rule})`` instead.

    Parameters
    ----------
    module_class : type
        A ``torch.nn.Module`` subclass. Its ``forward`` must take the tensor as its first
        argument, keep the batch on the first axis and, for ``"rescale"``, return a tensor of
        the input's shape whose every element depends on the same element of the input only.
    rule : {"rescale", "max_pool"}, optional
        Default ``"rescale"``: the rescale rule of an element-wise function (Shrikumar et al.
        2017), right for any element-wise nonlinearity. ``"max_pool"``: DeepSHAP's max-pool
        rule, for a module that computes ``nn.MaxPool1d`` with its attributes (``kernel_size``,
        ``stride``, ``padding``, ``dilation``, ``ceil_mode``).

    Raises
    ------
    TypeError
        If ``module_class`` is not a ``torch.nn.Module`` subclass.
    ValueError
        If ``rule`` is not one of :data:`RULES`.

    Notes
    -----
    A wrong registration gives wrong numbers without an error only where the summation check
    cannot see it: a rescale rule on a module that is not element-wise is refused at the first
    call whose output shape differs from its input's, and one that mixes elements leaves a
    summation gap that :func:`~xai_widgets.methods.deep_lift_shap` reports (``on_gap``).

    Examples
    --------
    >>> import torch
    >>> class Swish(torch.nn.Module):
    ...     def forward(self, x):
    ...         return x * torch.sigmoid(x)
    >>> register_deeplift_rule(Swish)
    """
    register = check_rules({module_class: rule})
    _REGISTERED.update(register)


def rule_table(rules=None) -> dict[type, str]:
    """Every module class with a rule: built-in, then registered, then this call's ``rules``."""
    return {**_BUILT_IN, **_REGISTERED, **check_rules(rules)}


def rule_for(module: nn.Module, table: dict) -> str | None:
    """The rule of ``module``'s most specific class in ``table``, or None."""
    for cls in type(module).__mro__:
        if cls in table:
            return table[cls]
    return None


# --- per-call rules ---------------------------------------------------------------------------

class RuleError(ValueError):
    """A ruled module was called in a way its rule cannot handle."""


class _Rule(torch.autograd.Function):
    """Identity on a module's output ``y``. Its backward sends ``multiplier(grad)`` straight to
    the module's input ``x_in``, plus ``ordinary(grad)`` back through the module's own graph
    (the plain gradient, where a rule falls back to it)."""

    @staticmethod
    def forward(ctx, x_in, y, multiplier, ordinary):
        ctx.multiplier, ctx.ordinary = multiplier, ordinary
        return y.detach().clone()

    @staticmethod
    def backward(ctx, grad):
        return ctx.multiplier(grad), (ctx.ordinary(grad) if ctx.ordinary else None), None, None


def rescale_multiplier(module: nn.Module, x_in: torch.Tensor, y: torch.Tensor):
    """The rescale rule for one call of an element-wise module (Shrikumar et al. 2017):
    ``grad * (f(x) - f(r)) / (x - r)``, and the plain gradient where ``|x - r| < EPSILON``.

    Returns ``(multiplier, ordinary)``: the first is applied to the input directly, the second
    (None when no position falls back) masks the gradient sent through the module's own graph.
    """
    if y.shape != x_in.shape:
        raise RuleError(f"the rescale rule is for element-wise modules, but this call maps {tuple(x_in.shape)} to "
                        f"{tuple(y.shape)}")
    delta_in = torch.sub(*x_in.chunk(2))
    delta_out = torch.sub(*y.chunk(2))
    flat = delta_in.abs() < EPSILON
    ratio = torch.where(flat, torch.zeros_like(delta_in), delta_out / delta_in).repeat(2, *[1] * (delta_in.ndim - 1))
    if not bool(flat.any()):
        return (lambda grad: grad * ratio), None
    use_gradient = flat.repeat(2, *[1] * (delta_in.ndim - 1))
    return (lambda grad: grad * ratio), (lambda grad: grad * use_gradient)


def maxpool_multiplier(module: nn.Module, x_in: torch.Tensor, y: torch.Tensor):
    """DeepSHAP's max-pool rule for one call: route the output change to the winners of the
    sequence and of the reference, divide by the input change (the plain gradient of the
    sequence half where the input does not change). Returns ``(multiplier, None)``."""
    if x_in.ndim != 3:
        raise RuleError(f"max pooling got a {x_in.ndim}-d input; DeepLIFT's max-pool rule needs (N, C, L)")
    is_global = isinstance(module, GlobalMaxPool)
    if is_global:
        pool = dict(kernel_size=x_in.shape[-1], stride=x_in.shape[-1])
        y = y[..., None]
        ties = x_in == y  # amax spreads its gradient evenly over tied maxima
        ties = ties / ties.sum(-1, keepdim=True)
    else:
        missing = [a for a in ("kernel_size", "stride", "padding", "dilation", "ceil_mode") if not hasattr(module, a)]
        if missing:
            raise RuleError(f"the max-pool rule reads nn.MaxPool1d's attributes; the module has no {missing}")
        if getattr(module, "return_indices", False):
            raise RuleError("nn.MaxPool1d(return_indices=True) has no DeepLIFT rule; use return_indices=False")
        pool = dict(kernel_size=module.kernel_size, stride=module.stride, padding=module.padding,
                    dilation=module.dilation, ceil_mode=module.ceil_mode)
    out_x, out_r = y.chunk(2)
    top = torch.maximum(out_x, out_r)
    change = torch.cat([top - out_r, out_x - top])
    _, indices = F.max_pool1d(x_in, return_indices=True, **pool)
    delta_in = torch.sub(*x_in.chunk(2))
    zero = delta_in == 0
    any_zero = bool(zero.any())

    def spread(values):
        return torch.zeros_like(x_in).flatten(2).scatter_add_(2, indices.flatten(2), values.flatten(2)).view_as(x_in)

    def multiplier(grad):
        grad = grad[..., None] if is_global else grad
        spread_x, spread_r = spread(grad * change).chunk(2)
        ordinary = 0.0
        if any_zero:
            ordinary = (grad * ties if is_global else spread(grad)).chunk(2)[0]
        half = torch.where(zero, ordinary, (spread_x + spread_r) / delta_in.masked_fill(zero, 1.0))
        return torch.cat([half, half])

    return multiplier, None


_MULTIPLIERS = {"rescale": rescale_multiplier, "max_pool": maxpool_multiplier}


class Rules:
    """Forward hooks that give every call of a ruled module its own :class:`_Rule`.

    A forward pre-hook copies the input of in-place modules (so the module never overwrites a
    tensor autograd needs) and remembers the input of this call; the forward hook returns the
    output wrapped in a rule built from this call's input and output. Set ``batch_size`` (twice
    the number of sequence-reference pairs) before each forward pass. ``table`` is
    :func:`rule_table`'s answer.
    """

    def __init__(self, model: nn.Module, table: dict, names: dict | None = None):
        self.names = names if names is not None else {m: n for n, m in reversed(list(model.named_modules()))}
        self.inputs: dict[nn.Module, list[torch.Tensor]] = {}
        self.rules: dict[nn.Module, str] = {}
        self.batch_size = 0
        self.handles = []
        for module in model.modules():
            rule = rule_for(module, table)
            if rule is not None:
                self.rules[module] = rule
                self.handles.append(module.register_forward_pre_hook(self._before))
                self.handles.append(module.register_forward_hook(self._after))

    def _before(self, module, args):
        if not args or not isinstance(args[0], torch.Tensor):
            raise RuleError(f"`{self.names.get(module, '?')}` ({type(module).__name__}) was called without a tensor "
                            "as its first argument; DeepLIFT's rules need one")
        self.inputs.setdefault(module, []).append(args[0])
        if getattr(module, "inplace", False):
            return (args[0].clone(), *args[1:])
        return None

    def _after(self, module, args, output):
        x_in = self.inputs[module].pop()
        if not x_in.requires_grad:
            return None  # not on a path from the input: nothing to attribute through it
        name = f"`{self.names.get(module, '?')}` ({type(module).__name__})"
        if not isinstance(output, torch.Tensor):
            raise RuleError(f"{name} returned {type(output).__name__}, not a tensor; DeepLIFT has no rule for it")
        if x_in.ndim == 0 or x_in.shape[0] != self.batch_size or output.shape[0] != self.batch_size:
            raise RuleError(f"{name} got a tensor of shape {tuple(x_in.shape)} whose first axis is not the batch "
                            f"({self.batch_size} rows); DeepLIFT pairs sequence and reference along that axis. "
                            "Keep the batch first around activations and pooling, or use integrated_gradients or ISM")
        with torch.no_grad():
            try:
                multiplier, ordinary = _MULTIPLIERS[self.rules[module]](module, x_in.detach(), output.detach())
            except RuleError as error:
                raise RuleError(f"{name}: {error}") from None
        return _Rule.apply(x_in, output, multiplier, ordinary)

    def remove(self):
        for handle in self.handles:
            handle.remove()
