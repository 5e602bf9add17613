"""The protocol that attribution-like results share.

:class:`~.ism.ISMResult` (saturation mutagenesis), :class:`~.gradients.Attribution` (saliency,
gradient x input, integrated gradients), :class:`~.deeplift.DeepLiftResult` (DeepLIFT /
DeepSHAP) and :class:`~.ism.OcclusionResult` (window occlusion) all answer the same questions
under the same names, so a widget or a plot takes any of them without asking which method ran:

========================  ====================================================================
``values``                the per-base map, ``(N, 4, L)``: the method's contribution of each
                          base (for ISM the mean-centred change at the observed base, for
                          saliency the gradient itself, for occlusion the per-position change
                          at the observed base)
``per_position()``        one score per position, ``(N, L)``
``target``                the model output explained (an int index)
``method``                the method's name (``"ism"``, ``"saliency"``, ``"gradient_x_input"``,
                          ``"integrated_gradients"``, ``"deep_lift_shap"``, ``"occlusion"``): its
                          name in the registry of attribution methods (:mod:`.registry`)
``X``                     the sequences explained, ``(N, 4, L)``
========================  ====================================================================

Extras stay on their own result: ISM's ``delta`` (every substitution), ``prediction`` (of
the unedited sequences) and ``centred()``; DeepLIFT's ``hypothetical`` contributions and its
``references`` (the reference *sequences*: "reference" means nothing else in the package);
occlusion's per-window ``delta``. ISM with ``target="all"`` keeps every output on the axis
after ``N``: ``values`` is then ``(N, T, 4, L)`` and ``per_position()`` ``(N, T, L)``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class AttributionResult(Protocol):
    """What every attribution-like result provides (see the module docstring).

    Attributes
    ----------
    values : torch.Tensor, shape (N, 4, L)
        The per-base map.
    X : torch.Tensor, shape (N, 4, L)
        The sequences explained.
    target : int
        The model output explained.
    method : str
        The method's name.
    """

    values: torch.Tensor
    X: torch.Tensor
    target: int
    method: str

    def per_position(self) -> torch.Tensor:
        """One score per position, ``(N, L)``."""
        ...
