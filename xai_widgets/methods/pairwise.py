"""Pairwise ISM (the review's Fig. 4): every pair of single-base substitutions in a short window.

:func:`pairwise_ism` edits every pair of positions in a short window to every pair of bases and
compares the observed effect of each double mutant with the sum of the two single mutants'
effects (the additive expectation); the difference is the epistasis. Its cost is quadratic in
the window (``9 W (W - 1) / 2`` double mutants), so it is meant for windows of tens of bases. The
double mutants are window edits through the edit engine (:mod:`._engine`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data.encoding import ALPHABET
from ._common import check_target, model_method, prepare
from ._engine import check_method, predict_windows
from .ism import saturation_mutagenesis


def _check_single(X: torch.Tensor, function: str) -> None:
    if not isinstance(X, torch.Tensor) or X.ndim != 3 or X.shape[0] != 1:
        shape = tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__
        raise ValueError(f"{function} explains one sequence: X must have shape (1, 4, L); got {shape} "
                         "(pass X[i:i+1] to pick sequence i)")


# ---------------------------------------------------------------------------------------------
# pairwise ISM


@dataclass(frozen=True)
class PairwiseISMResult:
    """Result of :func:`pairwise_ism` on one sequence and a window of ``W`` positions.

    Indices ``[i, a, j, b]`` mean: base ``a`` at window position ``i`` together with base ``b``
    at window position ``j`` (window position ``i`` is sequence position ``start + i``).

    Attributes
    ----------
    singles : torch.Tensor, shape (W, 4)
        Single-substitution effects (edited minus original prediction); 0 at the original base.
    joint : torch.Tensor, shape (W, 4, W, 4)
        Observed effect of each double mutant, symmetric (``joint[i, a, j, b] == joint[j, b, i, a]``).
        Where ``a`` (or ``b``) is the original base the "double" mutant is the single mutant of
        the other position, so ``joint`` equals that single effect. Two bases at one position do
        not form a sequence: for ``i == j`` (any ``a``, ``b``), ``joint`` is *defined* as the
        additive expectation, so that a position never interacts with itself.
    additive : torch.Tensor, shape (W, 4, W, 4)
        ``singles[i, a] + singles[j, b]``: what the double mutant would do without interaction.
    epistasis : torch.Tensor, shape (W, 4, W, 4)
        ``joint - additive``. Exactly 0 where ``i == j`` and where either base is the original
        one; positive when the pair of edits does more (raises the prediction more) than the
        sum of its parts.
    per_position : torch.Tensor, shape (W, W)
        ``max |epistasis|`` over the base pairs of each pair of positions (0 on the diagonal).
    prediction : float
        Prediction of the unedited sequence.
    positions : torch.Tensor of int, shape (W,)
        Sequence positions of the window, ``start .. end - 1``.
    X : torch.Tensor, shape (1, 4, L)
    target : int
    """

    singles: torch.Tensor
    joint: torch.Tensor
    additive: torch.Tensor
    epistasis: torch.Tensor
    per_position: torch.Tensor
    prediction: float
    positions: torch.Tensor
    X: torch.Tensor
    target: int

    def top_pairs(self, k: int = 10) -> list[tuple[int, str, int, str, float]]:
        """The ``k`` strongest interactions by ``|epistasis|``, each pair of edits listed once.

        Returns
        -------
        list of (int, str, int, str, float)
            ``(position, base, position, base, epistasis)`` with sequence positions, left
            position first.
        """
        width = len(self.positions)
        upper = torch.triu(torch.ones(width, width, dtype=torch.bool), diagonal=1)
        values = self.epistasis.permute(0, 2, 1, 3) * upper[:, :, None, None]  # (W, W, 4, 4)
        order = values.abs().flatten().argsort(descending=True)[:k]
        out = []
        for flat in order.tolist():
            i, j, a, b = np.unravel_index(flat, values.shape)
            value = float(values[i, j, a, b])
            if value == 0.0:
                break
            out.append((int(self.positions[i]), ALPHABET[a], int(self.positions[j]), ALPHABET[b], value))
        return out


@model_method
@torch.no_grad()
def pairwise_ism(model: nn.Module, X: torch.Tensor, *, start: int, end: int, target: int | str | None = None,
                 batch_size: int | None = None, device="auto", max_window: int = 40, method: str = "auto",
                 progress: bool = False) -> PairwiseISMResult:
    """Every pair of single-base substitutions within ``[start, end)`` of one sequence.

    The single effects come from :func:`~xai_widgets.methods.saturation_mutagenesis` (its fast
    path where the model allows); each of the ``9 W (W - 1) / 2`` double mutants (``W = end -
    start``; three alternative bases at each of two distinct positions) is predicted in batched
    forward passes.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    X : torch.Tensor, shape (1, 4, L)
        One one-hot sequence.
    start, end : int
        Half-open window ``[start, end)``, ``0 <= start < end <= L``.
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model, naming its
        outputs); else an output index or name.
    batch_size : int or None, optional
        Double mutants evaluated at once; default None: from the memory rule
        (:func:`xai_widgets._core.resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.
    max_window : int, optional
        Default 40. Windows wider than this raise a :class:`UserWarning` about the quadratic cost (the work
        still runs).
    method : {"auto", "fast", "naive"}, optional
        Default ``"auto"``: the cheapest exact path. The single effects and the double mutants
        go through the edit engine (a double mutant is one edit of the window ``[start, end)``);
        ``"fast"`` the fast window path or a ValueError saying why not, ``"naive"`` plain passes.
    progress : bool, optional
        Default False. Show a progress bar over batches of double mutants.

    Returns
    -------
    PairwiseISMResult
    """
    _check_single(X, "pairwise_ism")
    check_method(method)
    device, n_outputs = prepare(model, X, device, batch_size)
    target = check_target(target, n_outputs, model=model)
    length = X.shape[2]
    if isinstance(start, bool) or isinstance(end, bool) or not (0 <= int(start) < int(end) <= length):
        raise ValueError(f"need 0 <= start < end <= L ({length}); got start={start}, end={end}")
    start, end = int(start), int(end)
    width = end - start
    n_pairs = 9 * width * (width - 1) // 2
    if width > max_window:
        warnings.warn(f"pairwise_ism over a window of {width} positions predicts {n_pairs:,} double mutants "
                      f"(9 W (W - 1) / 2 grows with the square of the window; {max_window} positions would be "
                      f"{9 * max_window * (max_window - 1) // 2:,}). Narrow [start, end) to the region of "
                      f"interest, or pass max_window={width} to silence this warning.",
                      UserWarning, stacklevel=3)  # 3: the caller, past torch.no_grad's wrapper
    ism = saturation_mutagenesis(model, X, target=target, batch_size=batch_size, device=device, method=method)
    singles = ism.delta[0, :, start:end].T.contiguous()  # (W, 4)
    ref_base = X[0, :, start:end].argmax(0)  # (W,)

    # every double mutant: window positions i < j, alternative bases a at i and b at j, each an
    # edit of the whole window [start, end)
    i_idx, j_idx = torch.triu_indices(width, width, offset=1)
    offsets = torch.arange(1, 4)
    pi = i_idx.repeat_interleave(9)
    pj = j_idx.repeat_interleave(9)
    a = (ref_base[pi] + offsets.repeat_interleave(3).repeat(len(i_idx))).remainder(4)
    b = (ref_base[pj] + offsets.repeat(3 * len(i_idx))).remainder(4)
    values = X[0, :, start:end].repeat(n_pairs, 1, 1)
    rows = torch.arange(n_pairs)
    values[rows, :, pi] = 0
    values[rows, a, pi] = 1
    values[rows, :, pj] = 0
    values[rows, b, pj] = 1
    run = predict_windows(model, X, rows=torch.zeros(n_pairs, dtype=torch.long), starts=torch.full((n_pairs,), start),
                          values=values, device=device, method=method, batch_size=batch_size, progress=progress,
                          desc="pairwise ISM")
    reference = float(run.reference[0, target])
    observed = (run.outputs[:, target] - run.reference[0, target]).float().cpu()

    additive = singles[:, :, None, None] + singles[None, None]  # (W, 4, W, 4)
    joint = additive.clone()  # original-base rows/columns and i == j: exactly additive
    joint[pi, a, pj, b] = observed
    joint[pj, b, pi, a] = observed
    epistasis = joint - additive
    per_position = epistasis.abs().amax(dim=(1, 3))
    return PairwiseISMResult(singles, joint, additive, epistasis, per_position, float(reference),
                             torch.arange(start, end), X, target)
