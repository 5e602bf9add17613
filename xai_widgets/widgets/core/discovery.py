"""MotifDiscovery's state without a view: the patterns of a discovery result, their seqlets and
the sequences they came from."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..._core import predict, resolve_device
from ...contract import output_names
from ...methods import AttributionStore, DiscoveryResult
from ._common import resolve_target


class DiscoveryCore:
    """Patterns of ``result`` over the sequences ``X`` (no view). Parameters as
    :class:`~xai_widgets.widgets.MotifDiscovery`."""

    def __init__(self, model: nn.Module, X, result: DiscoveryResult, *, target=None, device="auto"):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        if not isinstance(result, DiscoveryResult):
            raise TypeError("result must be a DiscoveryResult: run xai_widgets.methods.discover_motifs first")
        if not result.patterns:
            raise ValueError("the result has no pattern: nothing to show (more sequences, or lower "
                             "min_metacluster_size / final_min_cluster_size in discover_motifs)")
        if isinstance(X, AttributionStore):
            X = X.X()
        X = torch.as_tensor(np.asarray(X.detach().cpu() if hasattr(X, "detach") else X), dtype=torch.float32)
        if X.ndim != 3 or X.shape[1] != 4 or (X.shape[0], X.shape[2]) != (result.n_sequences, result.length):
            raise ValueError(f"X must hold the {result.n_sequences} sequences of length {result.length} the result "
                             f"was computed on, shape ({result.n_sequences}, 4, {result.length}); got "
                             f"{tuple(X.shape)}")
        self.model, self.X, self.result, self.device = model, X, result, resolve_device(device)
        n_outputs = int(predict(model, X[:1], device=self.device).shape[1])
        self.output_names = output_names(model, n_outputs)
        self.target = resolve_target(model, target, n_outputs)
        self.patterns = {p.name: p for p in result.patterns}

    def check_pattern(self, name):
        if name is not None and name not in self.patterns:
            raise ValueError(f"no pattern {name!r}; patterns are {list(self.patterns)}")
        return name

    def seqlets(self, name: str):
        """Pattern ``name``'s seqlets (a DataFrame indexed 0..n-1)."""
        return self.patterns[self.check_pattern(name)].seqlets.reset_index(drop=True)
