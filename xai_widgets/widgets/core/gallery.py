"""The FilterGallery's state without a view: the filter analysis (cached by content) and the
ablated filters with their effect."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..._core import predict, resolve_device
from ...methods import (
    SIGNIFICANT_E_VALUE,
    filter_importance,
    filters_from_activations,
    mean_activations,
    model_fingerprint,
    predict_ablated,
    tomtom_matches,
)
from ...metrics import mean_metric
from ._common import LRUCache, content_digest

#: Analyses ``(motifs, matches, importance)`` of the most recent (model, data, settings), keyed by
#: a digest of the model's parameters, the sequences, the labels and every setting.
ANALYSES = LRUCache(maxsize=4)


def as_data(data) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)`` from a SyntheticTask (or anything with ``X`` and ``y``) or a tuple."""
    X, y = (data.X, data.y) if hasattr(data, "X") else data
    y = torch.as_tensor(y)
    if y.ndim == 1:
        y = y[:, None]
    if len(X) != len(y):
        raise ValueError(f"X and y have different lengths: {len(X)} vs {len(y)}")
    return X, y


def _database_digest(database) -> str:
    if database is None:
        return "default"
    return content_digest(*[(m.name, m.matrix_id) for m in database], *[m.probabilities for m in database])


class GalleryCore:
    """First-layer filter motifs, their JASPAR matches and importance, and the effect of
    ablating a set of them (no view). Parameters as :class:`~xai_widgets.widgets.FilterGallery`."""

    def __init__(self, model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, sequences=(0, 1, 2, 3, 4),
                 n_motif: int = 3000, n_eval: int = 1000, database=None, threshold: float = 0.5,
                 mode: str = "zero", batch_size: int | None = None, device="auto", progress: bool = True):
        self.model, self.device, self.batch_size, self.mode = model, resolve_device(device), batch_size, mode
        self.X_eval, self.y_eval = X[:n_eval], y[:n_eval]
        self.sequences = [int(i) for i in sequences]
        if any(not 0 <= i < len(X) for i in self.sequences):
            raise ValueError(f"sequences must index the data (0..{len(X) - 1}); got {self.sequences}")
        self.X_chosen = X[self.sequences]
        self.X_motif = X[:n_motif]
        key = content_digest(model_fingerprint(model), self.X_motif, self.X_eval, self.y_eval, threshold, mode,
                             _database_digest(database))

        def analyse():
            motifs = filters_from_activations(model, self.X_motif, threshold=threshold, batch_size=batch_size,
                                              device=self.device, progress=progress)
            matches = tomtom_matches(motifs, database, n_best=3)
            importance = filter_importance(model, self.X_eval, y=self.y_eval, mode=mode, batch_size=batch_size,
                                           device=self.device, progress=progress)
            return motifs, matches, importance

        self.motifs, self.matches, self.importance = ANALYSES.get(key, analyse)
        self.order = [int(f) for f in self.importance.order]
        self.means = (mean_activations(model, self.X_eval, batch_size=batch_size, device=self.device)
                      if mode == "mean" else None)
        self.intact_predictions = predict(model, self.X_chosen, batch_size=batch_size, device=self.device)
        self.n_outputs = y.shape[1]
        self.ablated: tuple = ()
        self.focus: int | None = None
        self.predictions = self.auroc = None
        self._evaluated = None  # the ablation that predictions and auroc are for

    def check(self, f) -> int:
        if isinstance(f, bool) or not isinstance(f, (int, np.integer)) or not 0 <= f < len(self.motifs):
            raise ValueError(f"filter must be an index 0..{len(self.motifs) - 1}; got {f!r}")
        return int(f)

    def ablation(self, filters) -> tuple:
        """``filters`` as the sorted tuple of checked indices an ablation takes."""
        return tuple(sorted({self.check(f) for f in filters}))

    def toggled(self, f: int) -> tuple:
        """The ablated set with ``f`` toggled."""
        return self.ablation(set(self.ablated) ^ {self.check(f)})

    def all_but(self, filters) -> tuple:
        """Every filter except ``filters``."""
        keep = {self.check(f) for f in filters}
        return tuple(f for f in range(len(self.motifs)) if f not in keep)

    def label(self, f: int) -> str:
        motif, best = self.motifs[f], self.matches[f][0] if self.matches[f] else None
        significant = best is not None and best.e_value < SIGNIFICANT_E_VALUE  # none for an uninformative filter
        match = f"{best.target} E={best.e_value:.1g}" if significant else "no match"
        return f"f{f} {match}\nIC {motif.information_content().sum():.1f} n={motif.n_sites}"

    def predict_ablated(self, X: torch.Tensor) -> torch.Tensor:
        return predict_ablated(self.model, X, filters=self.ablated, means=self.means, batch_size=self.batch_size,
                               device=self.device)

    def evaluate(self) -> None:
        """Predictions of the chosen sequences and the held-out metric with :attr:`ablated` silenced
        (computed once per ablation)."""
        if self._evaluated == self.ablated:
            return
        self._evaluated = self.ablated
        self.predictions = self.predict_ablated(self.X_chosen)
        self.auroc = mean_metric(self.predict_ablated(self.X_eval), self.y_eval, metric=self.importance.metric)

    def tile_state(self, f: int) -> str:
        """``kept``, ``ablated``, ``focus_kept`` or ``focus_ablated``."""
        return ("focus_" if f == self.focus else "") + ("ablated" if f in self.ablated else "kept")
