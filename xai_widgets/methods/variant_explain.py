"""Why a variant changes a prediction: any registered attribution method on its ref and alt
windows (:func:`explain_variant`), aligned base for base (the window layout of
:mod:`.variants`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._common import check_target, model_method, output_names, prepare
from .registry import get_method
from .variants import VariantScores, _cast

# ---------------------------------------------------------------------------------------------
# attributions of ref and alt

@dataclass(frozen=True)
class VariantExplanation:
    """Result of :func:`explain_variant`: one attribution method on a variant's ref and alt windows.

    Both windows start at the same genome position (see the module docstring), so column ``j``
    of ``values[0]`` and ``values[1]`` is the same genome base up to the variant and, for SNVs
    and MNVs, everywhere. After an indel the alt window's right flank is shifted by ``shift``
    bases: :attr:`alt_positions` says which genome base each alt column holds.

    Attributes
    ----------
    values : torch.Tensor, shape (2, 4, L)
        The per-base map of the ref window (row 0) and of the alt window (row 1), as the method
        defines it: ISM is the mean-centred effect at the observed base
        (:attr:`ISMResult.values`), saliency the gradient at every base, the others
        contributions at the observed bases.
    X : torch.Tensor, shape (2, 4, L)
        The ref and alt windows (``N`` columns all zero).
    method : str
        A registered attribution method (:func:`~.registry.method_names`).
    target : int
        The output explained.
    output : str
        Its name.
    row : int
        The row of ``scores.table``.
    offset : int
        Window index of the variant's first base.
    shift : int
        ``len(alt) - len(ref)``: 0 for SNVs and MNVs.
    positions : numpy.ndarray, shape (L,)
        1-based genome (or sequence) position of each ref column.
    alt_positions : numpy.ndarray, shape (L,)
        Position of each alt column: allele base ``m`` replaces ref base ``pos + m`` while
        ``m < len(ref)``; the bases beyond (an insertion) are 0; the right flank holds the
        ref bases ``shift`` columns earlier.
    predictions : torch.Tensor, shape (2,)
        The model's output ``target`` on the ref and the alt window.
    """

    values: torch.Tensor
    X: torch.Tensor
    method: str
    target: int
    output: str
    row: int
    offset: int
    shift: int
    positions: np.ndarray
    alt_positions: np.ndarray
    predictions: torch.Tensor

    @property
    def ref(self) -> torch.Tensor:
        """The ref window's map, ``(4, L)``."""
        return self.values[0]

    @property
    def alt(self) -> torch.Tensor:
        """The alt window's map, ``(4, L)``."""
        return self.values[1]

    @property
    def difference(self) -> torch.Tensor:
        """``alt - ref`` per base and column, ``(4, L)``."""
        return self.values[1] - self.values[0]

    def per_position(self) -> torch.Tensor:
        """One score per column for ref and alt, ``(2, L)``: the sum over bases, of the gradient
        at the observed base for saliency (a method that does not multiply by the input,
        :attr:`~.registry.AttributionMethod.multiplies_by_input`)."""
        return get_method(self.method).per_position(self.values, self.X)

    def difference_per_position(self) -> torch.Tensor:
        """``per_position()[1] - per_position()[0]``, ``(L,)``."""
        scores = self.per_position()
        return scores[1] - scores[0]


@model_method
def explain_variant(model: nn.Module, scores: VariantScores, *, row: int, method: str = "ism", target=None,
                    method_options: dict | None = None, batch_size: int | None = None,
                    device="auto") -> VariantExplanation:
    """Attribute a scored variant's ref and alt windows with one method, on one axis.

    Runs the method once on the two windows of :meth:`VariantScores.windows` (ref, alt), so
    its numbers are those of the method called directly on them.

    Parameters
    ----------
    model : torch.nn.Module
        The model that scored the variants.
    scores : VariantScores
        From :func:`score_variants`.
    row : int
        A row of ``scores.table`` whose ``status`` is ``"ok"``.
    method : str, optional
        Default ``"ism"``. Any registered attribution method (:func:`~.registry.method_names`):
        ``"ism"`` (:func:`saturation_mutagenesis`, mean-centred at the observed base),
        ``"occlusion"``, ``"saliency"``, ``"gradient_x_input"``, ``"integrated_gradients"``,
        ``"deep_lift_shap"``, or one added with :func:`~.registry.register_method`.
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model); else an
        output index or name.
    method_options : dict, optional
        Default None: the method's defaults. Keyword arguments of the method, e.g.
        ``{"n_shuffles": 10, "random_state": 0}`` for DeepSHAP.
    batch_size : int or None, optional
        Default None: from the memory rule.
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.

    Returns
    -------
    VariantExplanation

    Raises
    ------
    ValueError
        For an unknown method, a row out of range or not scored, a ``target`` that is not an
        output, ``target=None`` on a multi-output model, or a method that does not apply to
        the model (the method's own message).
    """
    entry = get_method(method)  # ValueError naming the registered methods
    if isinstance(row, bool) or not isinstance(row, (int, np.integer)) or not 0 <= row < len(scores.table):
        raise ValueError(f"row must be a row of scores.table (0..{len(scores.table) - 1}); got {row!r}")
    record = scores.table.iloc[int(row)]
    if record["status"] != "ok":
        raise ValueError(f"row {row} was not scored (status {record['status']!r}): pick a row with status 'ok'")
    X_ref, X_alt, offsets = scores.windows(int(row))
    X = _cast(model, torch.cat([X_ref, X_alt]))
    device, n_outputs = prepare(model, X, device, batch_size)
    names = output_names(model, n_outputs)
    index = check_target(target, n_outputs, model=model)
    values = entry.run(model, X, target=index, batch_size=batch_size, device=device, options=method_options).values
    with torch.no_grad():
        predictions = model(X.to(device))[:, index].float().cpu()
    offset = int(offsets[0])
    start = int(record["pos"]) - 1 - offset
    shift = len(record["alt"]) - len(record["ref"])
    positions = np.arange(start + 1, start + 1 + scores.length)
    alt_positions = positions.copy()  # the left flank
    k = min(offset + len(record["alt"]), scores.length)
    alt_positions[k:] = positions[k:] - shift  # the right flank, shifted after an indel
    allele = np.arange(offset, k) - offset
    alt_positions[offset:k] = np.where(allele < len(record["ref"]), positions[offset:k], 0)  # 0: inserted
    return VariantExplanation(values.float().cpu(), X.float().cpu(), entry.name, index, names[index], int(row), offset,
                              shift, positions, alt_positions, predictions.float().cpu())
