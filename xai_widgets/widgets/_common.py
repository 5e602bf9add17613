"""Pieces every widget shares: input coercion and Bokeh hosting."""

from __future__ import annotations

import torch

from ..data.encoding import check_one_hot, one_hot


def as_sequence(sequence) -> torch.Tensor:
    """One sequence as a one-hot ``(1, 4, L)`` float tensor, from a string or a tensor.

    Parameters
    ----------
    sequence : str or torch.Tensor, shape (4, L) or (1, 4, L)
    """
    if isinstance(sequence, str):
        return one_hot(sequence)
    if not isinstance(sequence, torch.Tensor):
        raise TypeError(f"sequence must be a string or a one-hot tensor (4, L); got {type(sequence).__name__}")
    X = sequence[None] if sequence.ndim == 2 else sequence
    if X.ndim != 3 or X.shape[0] != 1:
        raise ValueError(f"pass one sequence: shape (4, L) or (1, 4, L); got {tuple(sequence.shape)}")
    return check_one_hot(X.detach().float().cpu().clone())


def target_options(model, n_outputs: int, target_names=None) -> list[tuple[str, int]]:
    """``(label, index)`` pairs for a target dropdown: given names, a zoo card's, or ``output i``."""
    if target_names is None:
        target_names = getattr(model, "card", {}).get("task", {}).get("target_names")
    if target_names is None or len(target_names) != n_outputs:
        target_names = [f"output {t}" for t in range(n_outputs)]
    return [(f"{t}: {name}", t) for t, name in enumerate(target_names)]


def bokeh_widget(layout):
    """Wrap a Bokeh layout as an ipywidget (BokehJS loaded INLINE first)."""
    from jupyter_bokeh import BokehModel

    from ..plots import setup_notebook

    setup_notebook()
    return BokehModel(layout)
