"""The InteractionMap's state without a view: the interaction matrix of one sequence and the
importance before and after mutating a chosen feature."""

from __future__ import annotations

import torch
from torch import nn

from ..._core import predict, resolve_device
from ...methods import Feature, dfim, mutated_importance, pairwise_ism, saturation_mutagenesis
from ._common import resolve_target

MODES = ("dfim", "pairwise")


class InteractionCore:
    """DFIM or pairwise ISM of one sequence, and the selected cell's before/after importance
    (no view). Parameters as :class:`~xai_widgets.widgets.InteractionMap`."""

    def __init__(self, model: nn.Module, X: torch.Tensor, *, features=None, instances=(), window=None,
                 mode: str = "dfim", target=None, n_null: int = 10, n_draws: int = 8, device="auto",
                 random_state: int = 0, progress: bool = True):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
        self.model, self.X, self.device, self.mode = model, X, resolve_device(device), mode
        self.random_state, self.n_draws = random_state, n_draws
        self.target = resolve_target(model, target, int(predict(model, X, device=self.device).shape[1]))
        if mode == "dfim":
            specs = list(instances) if features is None else list(features)
            if not specs:
                raise ValueError("no features to interact: give features=[...] (positions, spans or motif "
                                 "instances) or instances=")
            self.result = dfim(model, X, sources=specs, target=self.target, n_null=n_null, n_draws=n_draws,
                               device=self.device, random_state=random_state, progress=progress)
            self.features = list(self.result.sources)
            self.matrix = self.result.scores
        else:
            if window is None:
                raise ValueError("mode='pairwise' needs window=(start, end)")
            self.result = pairwise_ism(model, X, start=window[0], end=window[1], target=self.target,
                                       device=self.device, progress=progress)
            self.features = [Feature(f"pos {p}", p, p + 1) for p in self.result.positions.tolist()]
            self.matrix = self.result.per_position
        self.ism = saturation_mutagenesis(model, X, target=self.target, device=self.device)
        self.values = self.ism.values[0]
        self.importance = self.values.sum(0)
        self.selected = None
        self.after = None

    def check_cell(self, source: int, target: int) -> tuple[int, int]:
        n = len(self.features)
        if not (0 <= source < n and 0 <= target < n):
            raise ValueError(f"a cell is (source, target) with both in 0..{n - 1}; got ({source}, {target})")
        return int(source), int(target)

    def select(self, source: int, target: int) -> dict:
        """Importance after mutating feature ``source``, and the target feature's sums before and after."""
        source, target = self.check_cell(source, target)
        src, tgt = self.features[source], self.features[target]
        self.selected = (source, target)
        self.after = mutated_importance(self.model, self.X, source=src, target=self.target, n_draws=self.n_draws,
                                        device=self.device, random_state=self.random_state)
        return {"source": src, "target": tgt, "before": float(self.importance[tgt.start : tgt.end].sum()),
                "after": float(self.after[tgt.start : tgt.end].sum()), "score": float(self.matrix[source, target])}
