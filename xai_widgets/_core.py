"""Device selection and batched prediction shared by the models and methods."""

from __future__ import annotations

import torch
from torch import nn

from .data.encoding import check_one_hot


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Turn ``"auto"`` (or None) into CUDA when available, else CPU; pass others through.

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


@torch.no_grad()
def predict(model: nn.Module, X: torch.Tensor, batch_size: int = 256, device="auto") -> torch.Tensor:
    """Model outputs for one-hot ``X (N, 4, L)`` in eval mode, batched; returns ``(N, T)`` on CPU.

    The model is moved to ``device`` and put in eval mode (its training flag is restored).

    Raises
    ------
    ValueError
        If ``X`` is not one-hot ``(N, 4, L)`` or the model does not return ``(N, T)``.
    """
    check_one_hot(X, allow_unknown=True)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    device = resolve_device(device)
    was_training = model.training
    model.eval().to(device)
    try:
        outputs = []
        for start in range(0, X.shape[0], batch_size):
            batch = X[start : start + batch_size].to(device)
            out = model(batch)
            if out.ndim != 2 or out.shape[0] != batch.shape[0]:
                raise ValueError(f"the model must map (N, 4, L) to (N, T); it returned shape {tuple(out.shape)} "
                                 f"for input {tuple(batch.shape)}")
            outputs.append(out.float().cpu())
        return torch.cat(outputs)
    finally:
        model.train(was_training)
