"""Input checks and model plumbing shared by every method."""

from __future__ import annotations

import torch
from torch import nn

from .._core import resolve_device
from ..data.encoding import check_one_hot


def prepare(model: nn.Module, X: torch.Tensor, device, batch_size: int, probe: bool = True):
    """Validate ``X`` and ``batch_size``, move the model to ``device`` in eval mode.

    With ``probe=False`` no forward pass is made (the caller checks its own first output with
    :func:`check_output`) and the number of outputs is returned as None.

    Returns
    -------
    (torch.device, int or None)
        The device and the model's number of outputs ``T`` (from one forward pass).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    check_one_hot(X)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    device = resolve_device(device)
    model.eval().to(device)
    if not probe:
        return device, None
    with torch.no_grad():
        out = model(X[:1].to(device))
    return device, check_output(out, 1)


def check_output(out, n_sequences: int) -> int:
    """Check that a model output is ``(n_sequences, T)``; return ``T``."""
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != n_sequences:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the model must map (N, 4, L) to (N, T); for {n_sequences} sequence(s) it returned {shape}")
    return out.shape[1]


def check_target(target, n_outputs: int, allow_all: bool = False):
    """Validate ``target`` against the model's ``n_outputs``; ``None`` means all (if allowed)."""
    if target is None:
        if allow_all:
            return None
        if n_outputs == 1:
            return 0
        raise ValueError(f"the model has {n_outputs} outputs: pass target=<index> (0..{n_outputs - 1})")
    if isinstance(target, bool) or not isinstance(target, int):
        raise TypeError(f"target must be an int (an output index); got {target!r}")
    if not -n_outputs <= target < n_outputs:
        raise ValueError(f"target {target} is out of range: the model has {n_outputs} output(s)")
    return target % n_outputs
