"""Device selection, model-state hygiene, the memory rule and batched prediction, shared by the
models and methods; and the one way a public keyword is renamed (:func:`renamed_keywords`)."""

from __future__ import annotations

import functools
import warnings
import weakref
from contextlib import contextmanager

import torch
from torch import nn

from .data.encoding import check_one_hot


def renamed_keywords(**renamed: str):
    """Decorator: keyword ``old`` still works for ``new`` (``renamed_keywords(old="new")``), with a
    ``FutureWarning`` naming the new one; giving both raises ``TypeError``. The signature shown
    (``inspect.signature``) is the new one."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for old, new in renamed.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{function.__name__}() got both {old}= (deprecated) and {new}=")
                    warnings.warn(f"{function.__name__}({old}=...) is deprecated; use {new}=", FutureWarning,
                                  stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return wrapper

    return decorate


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Turn ``"auto"`` (or None) into CUDA when available, else CPU; pass others through.

    Parameters
    ----------
    device : str, torch.device or None, optional
        Default ``"auto"``: CUDA when available, else the CPU; else ``"cpu"``, ``"cuda:0"``...

    Raises
    ------
    ValueError
        When CUDA is asked for explicitly but not available.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but CUDA is not available; use device='auto' or 'cpu'")
    return device


#: Memory a method's batches may use for activations, in bytes (256 MiB). Default batch sizes
#: are this budget divided by the bytes one item needs (see :func:`resolve_batch_size`); pass
#: ``batch_size=`` to any method to override it.
MEMORY_BUDGET_BYTES = 256 * 2**20

#: Multiplier on the forward activations for methods that also run a backward pass
#: (gradients are kept for every activation, plus autograd's saved tensors).
BACKWARD_FACTOR = 3

_MAX_BATCH = 4096


def model_dtype(model: nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating parameter or buffer (None if it has none)."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return None


def as_model_input(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """``X`` cast to the model's floating dtype (unchanged when it already matches or is not a tensor)."""
    dtype = model_dtype(model) if isinstance(model, nn.Module) else None
    if isinstance(X, torch.Tensor) and X.is_floating_point() and dtype is not None and X.dtype != dtype:
        return X.to(dtype)
    return X


@contextmanager
def preserved_state(model: nn.Module):
    """Restore, on exit, every module's training flag, the parameters' and buffers' devices and
    the parameters' ``requires_grad``, whatever the body did to them."""
    modes = [(module, module.training) for module in model.modules()]
    params = [(p, p.device, p.requires_grad) for p in model.parameters()]
    buffers = [(b, b.device) for b in model.buffers()]
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode
        moved = ([p for p, device, _ in params if p.device != device]
                 + [b for b, device in buffers if b.device != device])
        if moved:
            devices = {device for _, device, _ in params} | {device for _, device in buffers}
            if len(devices) == 1:
                model.to(devices.pop())
            else:  # a model spread over devices: put each tensor back where it was
                for p, device, _ in params:
                    p.data = p.data.to(device)
                for b, device in buffers:
                    b.data = b.data.to(device)
        for p, _, requires_grad in params:
            p.requires_grad_(requires_grad)


# the memory rule for default batch sizes

_ACTIVATION_BYTES: weakref.WeakKeyDictionary[nn.Module, dict] = weakref.WeakKeyDictionary()


def activation_bytes(model: nn.Module, X: torch.Tensor, device) -> dict:
    """Bytes of activations one sequence of ``X``'s length needs, measured with forward hooks.

    Returns ``{"total": bytes over every leaf module's output (and the input),
    "per_module": {module: (bytes of its output, length of its last axis)}}`` for a single
    sequence; cached per model, length, dtype and device.
    """
    key = (X.shape[2], X.dtype, str(device))
    cache = _ACTIVATION_BYTES.setdefault(model, {})
    if key in cache:
        return cache[key]
    per_module: dict = {}

    def hook(module, inputs, output):
        outputs = [o for o in (output if isinstance(output, (tuple, list)) else (output,))
                   if isinstance(o, torch.Tensor)]
        size = sum(o.numel() * o.element_size() for o in outputs)
        length = outputs[0].shape[-1] if outputs and outputs[0].ndim else 1
        previous = per_module.get(module, (0, length))[0]
        per_module[module] = (previous + size, length)

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            model(X[:1].to(device))
    finally:
        for handle in handles:
            handle.remove()
    total = X[:1].numel() * X.element_size() + sum(size for size, _ in per_module.values())
    cache[key] = {"total": total, "per_module": per_module}
    return cache[key]


def resolve_batch_size(batch_size, model: nn.Module, X: torch.Tensor, device, *, backward: bool = False,
                       per_item_bytes: int | None = None) -> int:
    """``batch_size`` itself, or (when None) the number of items that fit the memory budget.

    Parameters
    ----------
    batch_size : int or None
        Given by the user: returned unchanged (validated later by :func:`prepare`).
    model, X, device
        The model and the sequences a method runs on.
    backward : bool
        The method also runs a backward pass (costs :data:`BACKWARD_FACTOR` times the forward
        activations).
    per_item_bytes : int, optional
        The bytes one item needs when a method knows better than a whole forward pass (fast
        ISM's edits); else the activations of one sequence, measured by :func:`activation_bytes`.

    Returns
    -------
    int
        ``clip(MEMORY_BUDGET_BYTES // per_item_bytes, 1, 4096)``.
    """
    if batch_size is not None:
        return batch_size
    if per_item_bytes is None:
        with preserved_state(model):
            model.eval().to(device)
            per_item_bytes = activation_bytes(model, X, device)["total"]
        if backward:
            per_item_bytes *= BACKWARD_FACTOR
    return int(max(1, min(_MAX_BATCH, MEMORY_BUDGET_BYTES // max(per_item_bytes, 1))))


@torch.no_grad()
def predict(model: nn.Module, X: torch.Tensor, *, batch_size: int | None = None, device="auto") -> torch.Tensor:
    """Model outputs for one-hot ``X (N, 4, L)`` in eval mode, batched; returns ``(N, T)`` on CPU.

    ``X`` may hold ``N`` columns (all-zero or all-0.25, as :func:`xai_widgets.data.one_hot`
    writes them) and any floating dtype: it is cast to the model's dtype. The model computes in
    eval mode on ``device``; its training flags, device and ``requires_grad`` are restored
    afterwards (:func:`preserved_state`).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences.
    batch_size : int or None, optional
        Sequences per forward pass; default None: from the memory rule (:func:`resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.

    Returns
    -------
    torch.Tensor, shape (N, T)
        float32, on the CPU.

    Raises
    ------
    ValueError
        If ``X`` is not one-hot ``(N, 4, L)`` or the model does not return ``(N, T)``.
    """
    check_one_hot(X, allow_unknown=True)
    device = resolve_device(device)
    X = as_model_input(model, X)
    with preserved_state(model):
        model.eval().to(device)
        batch_size = resolve_batch_size(batch_size, model, X, device)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {batch_size}")
        outputs = []
        for start in range(0, X.shape[0], batch_size):
            batch = X[start : start + batch_size].to(device)
            out = model(batch)
            if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != batch.shape[0]:
                shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                raise ValueError(f"the model must map (N, 4, L) to (N, T); it returned {shape} for input "
                                 f"{tuple(batch.shape)} (wrap tuple/dict or profile outputs with "
                                 "xai_widgets.adapt())")
            outputs.append(out.float().cpu())
        return torch.cat(outputs)
