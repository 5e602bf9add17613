"""DeepLIFT / DeepSHAP (Shrikumar et al. 2017; Lundberg & Lee 2017) with shuffled references.

Each sequence is explained against references (dinucleotide shuffles of itself by default).
The sequence and its references run through the model as one batch. Every *call* of a
nonlinear module gets its own rule: a forward hook replaces the module's output by a custom
autograd function whose backward applies the DeepLIFT multiplier computed from that call's
input and output, the *rescale* rule ``(f(x) - f(r)) / (x - r)`` for element-wise activations
and DeepSHAP's max-pool rule for max pooling (the change in the pooled output is routed to the
winning inputs of the sequence and of the reference). A module called twice in one forward pass
therefore gets two independent rules, and in-place activations (``nn.ReLU(inplace=True)``) run
on a copy of their input. Linear layers (convolutions, dense layers, batch norm in eval mode)
keep their gradients. The multipliers give *hypothetical contributions* ``m_b - sum_c r_c m_c``
for every base b, averaged over references; at the observed bases they add up to
``f(x) - mean f(r)`` up to the summation gap reported in the result.

Nonlinearities the rules cannot see (a functional ``F.relu`` or ``torch.sigmoid`` outside an
activation module, the product of two input-dependent tensors as in gating or attention) are
found by a probe forward pass before anything is computed, and refused with a message naming
the function and the module whose forward called it (see :func:`deeplift_support`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from .._core import resolve_batch_size
from ..contract import Exp, GlobalMaxPool, ProfileScaling
from ..data.shuffle import dinucleotide_shuffle
from ._common import check_target, model_method, prepare

ELEMENTWISE_NONLINEAR = (nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.GELU, nn.SiLU, Exp,
                         ProfileScaling)
POOLING = (nn.MaxPool1d, GlobalMaxPool)
RULED = ELEMENTWISE_NONLINEAR + POOLING
LINEAR = (nn.Conv1d, nn.Linear, nn.BatchNorm1d, nn.Dropout, nn.Identity, nn.Flatten, nn.AvgPool1d)
EPSILON = 1e-6
GAP_TOLERANCE = 1e-3
_ADVICE = ("use nn modules for activations and pooling (nn.ReLU, nn.MaxPool1d, ...; a module may be "
           "called more than once), or use integrated_gradients or ISM for this model")


@dataclass(frozen=True)
class DeepLiftResult:
    """Result of :func:`deep_lift_shap`; an :class:`~.results.AttributionResult`.

    Attributes
    ----------
    hypothetical : torch.Tensor, shape (N, 4, L)
        Hypothetical contributions of every base at every position, averaged over references.
    X : torch.Tensor, shape (N, 4, L)
    references : torch.Tensor, shape (N, R, 4, L)
    convergence_delta : torch.Tensor, shape (N, R)
        ``|sum(contributions) - (f(x) - f(r))|`` per sequence and reference; near 0 when every
        nonlinearity had a rule.
    target : int
    gap : torch.Tensor, shape (N,)
        The summation-to-delta gap per sequence: the mean over references of the *signed*
        ``sum(contributions) - (f(x) - f(r))``, in units of the model output. Float32 rounding
        alone leaves it near 1e-6 times the size of the activations.
    method : str
        ``"deep_lift_shap"`` (a class attribute).
    """

    hypothetical: torch.Tensor
    X: torch.Tensor
    references: torch.Tensor
    convergence_delta: torch.Tensor
    target: int
    gap: torch.Tensor
    method: ClassVar[str] = "deep_lift_shap"

    @property
    def values(self) -> torch.Tensor:
        """Contributions at the observed bases, ``hypothetical * X``; ``(N, 4, L)``."""
        return self.hypothetical * self.X

    def per_position(self) -> torch.Tensor:
        """One contribution per position, ``(N, L)``."""
        return self.values.sum(1)


def unsupported_modules(model: nn.Module) -> list[str]:
    """Names of leaf modules that DeepLIFT has no rule for (an LSTM, attention, ...).

    Only module types are checked here; :func:`deeplift_support` also finds functional
    nonlinearities and products of input-dependent tensors.
    """
    bad = []
    for name, module in model.named_modules():
        if list(module.children()):
            continue
        if not isinstance(module, RULED + LINEAR):
            bad.append(f"{name} ({type(module).__name__})")
    return bad


def supports_deeplift(model: nn.Module, X: torch.Tensor | None = None) -> bool:
    """Whether :func:`deeplift_support` answers ``"yes"`` for ``model`` (and ``X``, if given).

    Parameters
    ----------
    model : torch.nn.Module
    X : torch.Tensor, shape (N, 4, L), optional
        Default None; as in :func:`deeplift_support`.
    """
    return deeplift_support(model, X) == "yes"


# --- finding nonlinearities the rules do not see ----------------------------------------------

_LINEAR_OPS = frozenset("""
add sub rsub neg negative positive getitem setitem view view_as reshape reshape_as flatten unflatten
transpose t permute movedim moveaxis swapaxes swapdims squeeze unsqueeze cat concat concatenate stack
hstack vstack chunk split split_with_sizes tensor_split unbind narrow select index_select gather
contiguous clone repeat repeat_interleave expand expand_as tile mean sum avg_pool1d avg_pool2d
adaptive_avg_pool1d flip roll cumsum diff to float double half bfloat16 type type_as cpu cuda
zeros_like ones_like empty_like full_like new_zeros new_ones new_empty new_full masked_fill where
diagonal unfold as_strided sum_to_size index_add scatter_add copy pad identity
""".split())
_PRODUCTS = frozenset("mul multiply matmul mm bmm einsum outer dot inner tensordot kron baddbmm addmm addbmm "
                      "bilinear conv1d conv2d conv_transpose1d linear".split())
_DIVISIONS = frozenset("div divide true_divide truediv".split())
_METADATA = frozenset("size dim shape ndim numel stride is_contiguous device dtype requires_grad".split())
_INPLACE_DUNDER = {"iadd": "add", "isub": "sub", "imul": "mul", "itruediv": "div", "imatmul": "matmul"}
_REFLECTED_DUNDER = {"radd": "add", "rsub": "rsub", "rmul": "mul", "rmatmul": "matmul", "rtruediv": "rdiv",
                     "rdiv": "rdiv"}
_DROPOUTS = frozenset("dropout dropout1d alpha_dropout feature_alpha_dropout".split())
_PRODUCT_PROBLEM = "a product of two input-dependent tensors (gating or attention), which has no exact DeepLIFT rule"
_DIVISION_PROBLEM = "a division by an input-dependent tensor, which has no exact DeepLIFT rule"


def _short_name(name: str) -> str:
    """``__rmul__`` -> ``mul``, ``relu_`` -> ``relu``, ``__iadd__`` -> ``add``, ``__rtruediv__`` -> ``rdiv``."""
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
        return _INPLACE_DUNDER.get(name) or _REFLECTED_DUNDER.get(name) or name
    return name[:-1] if name.endswith("_") and not name.startswith("_") else name


def _op_problem(name: str, args, kwargs, dependent) -> str | None:
    """Why the op ``name`` applied to ``args`` breaks DeepLIFT, or None when it is linear in the input.

    ``dependent(value)`` tells whether an argument depends on the input sequence.
    """
    short = _short_name(name)
    n_dependent = sum(1 for a in tree_flatten((list(args), dict(kwargs)))[0] if dependent(a))
    if n_dependent == 0 or short in _LINEAR_OPS or short in _METADATA:
        return None
    if short in _DROPOUTS:
        training = kwargs.get("training", kwargs.get("train", args[2] if len(args) > 2 else True))
        p = kwargs.get("p", args[1] if len(args) > 1 else 0.5)
        return "dropout in training mode (sequence and reference get different masks)" if training and p else None
    if short == "batch_norm":
        training = kwargs.get("training", args[5] if len(args) > 5 else False)
        return "batch norm in training mode (it mixes the sequences of a batch)" if training else None
    if short in _PRODUCTS:
        return _PRODUCT_PROBLEM if n_dependent >= 2 else None
    if short in _DIVISIONS:
        return _DIVISION_PROBLEM if len(args) > 1 and dependent(args[1]) else None
    if short == "rdiv":  # Tensor.__rtruediv__(self, other) computes other / self
        return _DIVISION_PROBLEM if dependent(args[0]) else None
    return "a nonlinearity outside an activation or pooling module, which DeepLIFT's rules do not see"


def _display_name(func) -> str:
    """``torch.sigmoid``, ``torch.nn.functional.relu``, ``Tensor.relu``, ``operator.mul``, ..."""
    if isinstance(func, str):  # a torch.fx call_method target
        return f"Tensor.{func}"
    name = getattr(func, "__name__", repr(func))
    qualname = getattr(func, "__qualname__", "") or ""
    module = getattr(func, "__module__", "") or ""
    if qualname.startswith(("TensorBase.", "Tensor.")) or "getset_descriptor" in qualname:
        return f"Tensor.{name}"
    if module.startswith("torch.nn.functional"):
        return f"torch.nn.functional.{name}"
    if module in ("operator", "_operator"):
        return f"operator.{name}"
    return f"{module}.{name}" if module and not module.startswith("torch") else f"torch.{name}"


def _where(module_name: str, module_type: str) -> str:
    return f"the forward of `{module_name}` ({module_type})" if module_name else f"the model's forward ({module_type})"


def _refusal(problem: str, function: str, where: str) -> str:
    if problem in (_PRODUCT_PROBLEM, _DIVISION_PROBLEM):
        advice = "use integrated_gradients or ISM for this model"
    elif problem.startswith(("dropout", "batch norm")):
        advice = "pass training=self.training (the model runs in eval mode), or use nn.Dropout / nn.BatchNorm1d modules"
    else:
        advice = _ADVICE
    return f"`{function}` in {where} is {problem}; {advice}"


_LINEAR_FORWARDS = frozenset(cls.forward for cls in LINEAR)


def _trusted(module: nn.Module) -> bool:
    """Modules whose insides DeepLIFT handles: a rule of their own, or a linear layer's own
    forward (a subclass that overrides it is watched like any other code)."""
    return isinstance(module, RULED) or type(module).forward in _LINEAR_FORWARDS


class _ProbeMode(TorchFunctionMode):
    """Records the first torch call, outside ruled or linear modules, that breaks DeepLIFT.

    Input dependence is ``requires_grad`` (the probe input requires grad, the parameters are
    frozen for the probe), so a tensor computed from weights alone is never flagged.
    """

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.trusted_depth = 0
        self.problem: str | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if self.problem is None and self.trusted_depth == 0 and any(
                isinstance(r, torch.Tensor) for r in tree_flatten(result)[0]):
            problem = _op_problem(getattr(func, "__name__", ""), args, kwargs,
                                  lambda a: isinstance(a, torch.Tensor) and a.requires_grad)
            if problem is not None:
                name, kind = self.stack[-1] if self.stack else ("", "?")
                self.problem = _refusal(problem, _display_name(func), _where(name, kind))
        return result


def _probe(model: nn.Module, x: torch.Tensor) -> str | None:
    """Run ``model`` on one sequence and its reverse (a two-row batch, as DeepLIFT runs it) with
    the rules in place; return a refusal message, or None if nothing breaks DeepLIFT."""
    mode = _ProbeMode()
    names = {}
    for name, module in model.named_modules():
        names.setdefault(module, name)

    def enter(module, args):
        mode.stack.append((names[module], type(module).__name__))
        mode.trusted_depth += _trusted(module)

    def leave(module, args, output):
        mode.stack.pop()
        mode.trusted_depth -= _trusted(module)

    frozen = [p for p in model.parameters() if p.requires_grad]
    rules = _Rules(model, names)  # registered first: its hooks run while the module still counts as trusted
    handles = [h for m in model.modules()
               for h in (m.register_forward_pre_hook(enter), m.register_forward_hook(leave, always_call=True))]
    batch = torch.cat([x[:1], x[:1].flip(-1)]).requires_grad_(True)
    try:
        for p in frozen:
            p.requires_grad_(False)
        rules.batch_size = 2
        with torch.enable_grad(), mode:
            model(batch)
    except _RuleError as error:
        return str(error)
    finally:
        rules.remove()
        for h in handles:
            h.remove()
        for p in frozen:
            p.requires_grad_(True)
    return mode.problem


class _Tracer(torch.fx.Tracer):
    """Symbolic tracer that keeps ruled, linear and other leaf modules whole."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return _trusted(m) or super().is_leaf_module(m, module_qualified_name)


def _trace_problem(graph: torch.fx.Graph, model: nn.Module) -> str | None:
    """Find functional nonlinearities and input products in a torch.fx graph of ``model``."""
    dependent: set = set()
    for node in graph.nodes:
        if node.op == "placeholder":
            dependent.add(node)
            continue
        if node.op not in ("call_function", "call_method", "call_module"):
            continue
        inputs = [a for a in node.all_input_nodes if a in dependent]
        if not inputs:
            continue
        if node.op == "call_module":
            dependent.add(node)
            continue
        target = node.target
        name = target if isinstance(target, str) else getattr(target, "__name__", "")
        if name == "getattr" and len(node.args) > 1 and node.args[1] in _METADATA:
            continue  # x.shape: not input-dependent values
        if _short_name(name) in _METADATA:
            continue
        problem = _op_problem(name, node.args, node.kwargs,
                              lambda a: isinstance(a, torch.fx.Node) and a in dependent)
        if problem is not None:
            stack = list((node.meta.get("nn_module_stack") or {}).values())
            module_name, module_type = stack[-1] if stack else ("", type(model).__name__)
            module_type = getattr(module_type, "__name__", str(module_type))
            return _refusal(problem, _display_name(target), _where(module_name, module_type))
        dependent.add(node)
    return None


def _synthetic_input(model: nn.Module) -> torch.Tensor | None:
    """One random one-hot sequence the model accepts (its configured input length, else 200 or 1000)."""
    config = getattr(model, "config", None)
    lengths = [config["input_length"]] if isinstance(config, dict) and "input_length" in config else [200, 1000]
    generator = torch.Generator().manual_seed(0)
    for length in lengths:
        x = F.one_hot(torch.randint(0, 4, (1, length), generator=generator), 4).permute(0, 2, 1).float()
        try:
            device = next(model.parameters()).device
        except StopIteration:
            device = torch.device("cpu")
        try:
            with torch.no_grad():
                model(x.to(device))
        except Exception:  # noqa: BLE001 - any failure means this length does not fit the model
            continue
        return x.to(device)
    return None


def deeplift_support(model: nn.Module, X: torch.Tensor | None = None) -> str:
    """Whether DeepLIFT's rules cover every nonlinearity of ``model``: ``"yes"`` or the reason not.

    Checks, in order: every leaf module is linear or has a rule (activations, ``Exp``, max
    pooling); then no torch function outside such modules is nonlinear in the input (a
    functional ``F.relu``, ``torch.sigmoid``, ``torch.exp``, softmax, ``x.relu()``, ...) and no
    two input-dependent tensors are multiplied (gating, attention) or divided. With ``X`` the
    second check watches a forward pass on ``X[:1]``; without it, the model is traced with
    ``torch.fx``, and when that fails (data-dependent Python in ``forward``) a forward pass on a
    random sequence of the model's ``config["input_length"]`` (else length 200, then 1000) is
    watched instead. A module called more than once per forward pass is fine (each call gets
    its own rule), and so is ``inplace=True``.

    Parameters
    ----------
    model : torch.nn.Module
    X : torch.Tensor, shape (N, 4, L), optional
        Default None: trace the model instead. Sequences the model will be explained on; only
        the first is run.

    Returns
    -------
    str
        ``"yes"``; ``"no: <reason naming the layer or function and what to change>"``; or
        ``"unknown: ..."`` when the model can neither be traced nor run on a synthetic input
        (pass ``X`` then). Never ``"yes"`` without a check.
    """
    bad = unsupported_modules(model)
    if bad:
        return "no: DeepLIFT has no rule for " + ", ".join(bad[:5]) + "; use integrated_gradients or ISM for this model"
    was_training = model.training
    model.eval()
    try:
        if X is None:
            try:
                graph = _Tracer().trace(model)
            except Exception:  # noqa: BLE001 - untraceable forward (data-dependent Python): probe instead
                X = _synthetic_input(model)
                if X is None:
                    return ("unknown: the model cannot be traced with torch.fx nor run on a synthetic sequence; "
                            "pass X to check with a forward pass")
                problem = _probe(model, X)
            else:
                problem = _trace_problem(graph, model)
        else:
            try:
                device = next(model.parameters()).device
            except StopIteration:
                device = torch.device("cpu")
            problem = _probe(model, X[:1].to(device))
    finally:
        model.train(was_training)
    return "yes" if problem is None else "no: " + problem


# --- per-call rules ---------------------------------------------------------------------------

class _RuleError(ValueError):
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


def _rescale_multiplier(module: nn.Module, x_in: torch.Tensor, y: torch.Tensor):
    """The rescale rule for one call of an element-wise module (Shrikumar et al. 2017):
    ``grad * (f(x) - f(r)) / (x - r)``, and the plain gradient where ``|x - r| < EPSILON``.

    Returns ``(multiplier, ordinary)``: the first is applied to the input directly, the second
    (None when no position falls back) masks the gradient sent through the module's own graph.
    """
    delta_in = torch.sub(*x_in.chunk(2))
    delta_out = torch.sub(*y.chunk(2))
    flat = delta_in.abs() < EPSILON
    ratio = torch.where(flat, torch.zeros_like(delta_in), delta_out / delta_in).repeat(2, *[1] * (delta_in.ndim - 1))
    if not bool(flat.any()):
        return (lambda grad: grad * ratio), None
    use_gradient = flat.repeat(2, *[1] * (delta_in.ndim - 1))
    return (lambda grad: grad * ratio), (lambda grad: grad * use_gradient)


def _maxpool_multiplier(module: nn.Module, x_in: torch.Tensor, y: torch.Tensor):
    """DeepSHAP's max-pool rule for one call: route the output change to the winners of the
    sequence and of the reference, divide by the input change (the plain gradient of the
    sequence half where the input does not change). Returns ``(multiplier, None)``."""
    if x_in.ndim != 3:
        raise _RuleError(f"max pooling got a {x_in.ndim}-d input; DeepLIFT's max-pool rule needs (N, C, L)")
    is_global = isinstance(module, GlobalMaxPool)
    if is_global:
        pool = dict(kernel_size=x_in.shape[-1], stride=x_in.shape[-1])
        y = y[..., None]
        ties = x_in == y  # amax spreads its gradient evenly over tied maxima
        ties = ties / ties.sum(-1, keepdim=True)
    else:
        if module.return_indices:
            raise _RuleError("nn.MaxPool1d(return_indices=True) has no DeepLIFT rule; use return_indices=False")
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


class _Rules:
    """Forward hooks that give every call of a ruled module its own :class:`_Rule`.

    A forward pre-hook copies the input of in-place modules (so the module never overwrites a
    tensor autograd needs) and remembers the input of this call; the forward hook returns the
    output wrapped in a rule built from this call's input and output. Set ``batch_size`` (twice
    the number of sequence-reference pairs) before each forward pass.
    """

    def __init__(self, model: nn.Module, names: dict | None = None):
        self.names = names if names is not None else {m: n for n, m in reversed(list(model.named_modules()))}
        self.inputs: dict[nn.Module, list[torch.Tensor]] = {}
        self.batch_size = 0
        self.handles = []
        for module in model.modules():
            if isinstance(module, RULED):
                self.handles.append(module.register_forward_pre_hook(self._before))
                self.handles.append(module.register_forward_hook(self._after))

    def _before(self, module, args):
        if not args or not isinstance(args[0], torch.Tensor):
            raise _RuleError(f"`{self.names.get(module, '?')}` ({type(module).__name__}) was called without a tensor "
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
            raise _RuleError(f"{name} returned {type(output).__name__}, not a tensor; DeepLIFT has no rule for it")
        if x_in.ndim == 0 or x_in.shape[0] != self.batch_size or output.shape[0] != self.batch_size:
            raise _RuleError(f"{name} got a tensor of shape {tuple(x_in.shape)} whose first axis is not the batch "
                             f"({self.batch_size} rows); DeepLIFT pairs sequence and reference along that axis. "
                             "Keep the batch first around activations and pooling, or use integrated_gradients or ISM")
        with torch.no_grad():
            try:
                build = _maxpool_multiplier if isinstance(module, POOLING) else _rescale_multiplier
                multiplier, ordinary = build(module, x_in.detach(), output.detach())
            except _RuleError as error:
                raise _RuleError(f"{name}: {error}") from None
        return _Rule.apply(x_in, output, multiplier, ordinary)

    def remove(self):
        for handle in self.handles:
            handle.remove()


# --- the method -------------------------------------------------------------------------------

@model_method
def deep_lift_shap(model: nn.Module, X: torch.Tensor, *, target: int | str | None = None, references=None,
                   n_shuffles: int = 20, batch_size: int | None = None, device="auto", random_state=None,
                   on_gap: str = "raise", gap_tolerance: float = GAP_TOLERANCE) -> DeepLiftResult:
    """DeepLIFT against shuffled references, averaged over them (DeepSHAP).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``; every nonlinearity must be a module with a rule
        (element-wise activations such as ``nn.ReLU``, ``Exp``, ``nn.MaxPool1d``, global max
        pooling), see :func:`deeplift_support`. Modules may be called more than once per
        forward pass and may be in-place.
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences.
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model); an output
        index or name.
    references : torch.Tensor, shape (N, R, 4, L), optional
        The reference sequences; default None: ``n_shuffles`` dinucleotide shuffles of each
        sequence.
    n_shuffles : int, optional
        Default 20. Shuffled references per sequence (when ``references`` is None).
    batch_size : int or None, optional
        Sequence-reference pairs per pass; default None: from the memory rule (half the
        backward batch, as each pair is two sequences).
    device : str or torch.device, optional
        Default ``"auto"``.
    random_state : int or None, optional
        Default None. Seed of the shuffles.
    on_gap : {"raise", "warn"}, optional
        Default ``"raise"``. What to do when the summation gap of a sequence-reference pair exceeds the tolerance.
    gap_tolerance : float, optional
        Default 1e-3 (:data:`GAP_TOLERANCE`). The pair ``(x, r)`` fails when ``|sum(contributions) - (f(x) - f(r))|``
        exceeds ``gap_tolerance * (1 + |f(x) - f(r)|)``: absolute for small output changes, relative for
        large ones. With exact rules the gap is float32 rounding, about 1e-7 relative to the
        activations summed (under 1e-4 on the zoo models); one nonlinearity without a rule
        typically leaves a gap of a few percent of the output change, and the reused-ReLU model
        of issue 11 left 1e-3 to 7e-3 on output changes near 0.01. The default 1e-3 sits between
        the two.

    Returns
    -------
    DeepLiftResult
        With ``gap`` (N,), the signed summation gap per sequence averaged over references,
        and ``convergence_delta`` (N, R), its absolute value per reference.

    Raises
    ------
    ValueError
        If the model has a nonlinearity without a DeepLIFT rule (a module such as an LSTM, a
        functional call such as ``F.relu`` outside an activation module, a product of two
        input-dependent tensors): the message names it and what to change. If ``on_gap`` is
        ``"raise"`` and a summation gap exceeds the tolerance (the numbers would be wrong). If
        ``references`` has the wrong shape, or ``on_gap`` is not one of the two options.

    Warns
    -----
    RuntimeWarning
        If ``on_gap`` is ``"warn"`` and a summation gap exceeds the tolerance.
    """
    if on_gap not in ("raise", "warn"):
        raise ValueError(f"on_gap must be 'raise' or 'warn'; got {on_gap!r}")
    if not (isinstance(gap_tolerance, (int, float)) and gap_tolerance > 0 and math.isfinite(gap_tolerance)):
        raise ValueError(f"gap_tolerance must be a positive number; got {gap_tolerance!r}")
    bad = unsupported_modules(model)
    if bad:
        raise ValueError("DeepLIFT has no rule for " + ", ".join(bad[:5]) +
                         "; use integrated_gradients or ISM for this model")
    device, n_outputs = prepare(model, X, device, batch_size)
    # each pair is a sequence and its reference, run together through forward and backward
    batch_size = max(1, resolve_batch_size(batch_size, model, X, device, backward=True) // 2) \
        if batch_size is None else batch_size
    target = check_target(target, n_outputs, model=model)
    problem = _probe(model, X[:1].to(device))
    if problem is not None:
        raise ValueError("DeepLIFT cannot explain this model: " + problem)
    if references is None:
        references = dinucleotide_shuffle(X, n_shuffles, random_state=random_state)
    if references.ndim != 4 or references.shape[0] != X.shape[0] or references.shape[2:] != X.shape[1:]:
        raise ValueError(f"references must have shape (N, R, 4, L) = ({X.shape[0]}, R, 4, {X.shape[2]}); "
                         f"got {tuple(references.shape)}")
    n, n_refs = references.shape[:2]
    pairs_x = X.repeat_interleave(n_refs, dim=0)
    pairs_r = references.reshape(-1, *X.shape[1:])
    hypothetical = torch.zeros(n * n_refs, *X.shape[1:])
    gaps = torch.zeros(n * n_refs)
    changes = torch.zeros(n * n_refs)
    rules = _Rules(model)
    try:
        for start in range(0, len(pairs_x), batch_size):
            x = pairs_x[start : start + batch_size].to(device)
            r = pairs_r[start : start + batch_size].to(device)
            batch = torch.cat([x, r]).requires_grad_(True)
            rules.batch_size = len(batch)
            with torch.enable_grad():
                out = model(batch)[:, target]
                (grad,) = torch.autograd.grad(out.sum(), batch)
            multipliers = grad[: len(x)].detach()
            hypo = multipliers - (r * multipliers).sum(1, keepdim=True)
            hypothetical[start : start + len(x)] = hypo.cpu()
            change = (out[: len(x)] - out[len(x):]).detach()
            gaps[start : start + len(x)] = ((hypo * x).sum((1, 2)) - change).cpu()
            changes[start : start + len(x)] = change.cpu()
    finally:
        rules.remove()
    _check_gap(gaps, changes, gap_tolerance, on_gap, n_refs)
    hypothetical = hypothetical.reshape(n, n_refs, *X.shape[1:]).mean(1)
    gaps = gaps.reshape(n, n_refs)
    return DeepLiftResult(hypothetical, X, references, gaps.abs(), target, gaps.mean(1))


def _check_gap(gaps: torch.Tensor, changes: torch.Tensor, tolerance: float, on_gap: str, n_refs: int) -> None:
    """Raise or warn when a pair's summation gap exceeds ``tolerance * (1 + |f(x) - f(r)|)``."""
    excess = gaps.abs() - tolerance * (1 + changes.abs())
    worst = int(excess.argmax())
    if float(excess[worst]) <= 0:
        return
    message = (f"DeepLIFT's contributions do not add up to the prediction difference: sequence {worst // n_refs}, "
               f"reference {worst % n_refs} misses it by {float(gaps[worst]):+.2e} (f(x) - f(r) = "
               f"{float(changes[worst]):+.2e}; tolerance {tolerance} * (1 + |f(x) - f(r)|)). Likely cause: a "
               "nonlinearity without an exact rule (a custom autograd function or an op the probe did not see), "
               "batch norm or dropout in training mode, or a model that mixes the rows of a batch. Use "
               "integrated_gradients or ISM, or pass on_gap='warn' to keep the result anyway")
    if on_gap == "raise":
        raise ValueError(message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)
