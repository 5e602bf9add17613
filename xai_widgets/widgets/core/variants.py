"""The VariantExplorer's state without a view: which variants are listed and in what order,
and the explanation and motifs of one, cached."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..._core import resolve_device
from ...contract import output_names
from ...methods import VariantScores, explain_variant, variant_motifs
from ._common import LRUCache, menu_method, menu_methods, menu_options, resolve_target


def sort_keys(scores: VariantScores) -> list[tuple[str, str]]:
    """``(label, key)`` pairs of the sort menu: ``|delta_o|``, ``delta_o``, ``percentile_o``, position."""
    keys = []
    for o in scores.outputs:
        keys += [(f"|delta {o}|", f"|delta_{o}|"), (f"delta {o}", f"delta_{o}")]
        if f"percentile_{o}" in scores.table:
            keys.append((f"percentile {o}", f"percentile_{o}"))
    return keys + [("position", "pos")]


class VariantCore:
    """Scored variants of one model and the explanation of a selected one (no view).
    Parameters as :class:`~xai_widgets.widgets.VariantExplorer`."""

    def __init__(self, model: nn.Module, scores: VariantScores, *, method: str = "ism", target=None,
                 motifs=None, motif_threshold: float = 0.8, method_options: dict | None = None, device="auto",
                 cache_size: int = 32):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        if not isinstance(scores, VariantScores):
            raise TypeError("scores must be a VariantScores: run xai_widgets.methods.score_variants first")
        ok = np.flatnonzero(scores.table["status"].to_numpy() == "ok")
        if not len(ok):
            raise ValueError("no variant was scored (every status differs from 'ok'): nothing to explore")
        self.model, self.scores, self.device, self.ok = model, scores, resolve_device(device), ok
        self.motif_set, self.motif_threshold = motifs, motif_threshold
        self.method_options = menu_options(method_options)
        self._cache = LRUCache(cache_size)
        X_ref, _, _ = scores.windows(int(ok[0]))
        with torch.no_grad():
            self.n_outputs = int(model.eval().to(self.device)(X_ref.to(self.device)).shape[1])
        self.output_names = output_names(model, self.n_outputs)
        self.X_ref = X_ref
        self.available_methods = menu_methods(model, X_ref)
        self.method = self.check_method(method)
        self.target = self.check_target(target)
        self.motifs = None

    def check_method(self, method: str) -> str:
        return menu_method(self.model, self.X_ref, method, self.available_methods)

    def check_target(self, target) -> int:
        return resolve_target(self.model, target, self.n_outputs)

    def check_row(self, row):
        if row is not None and row not in self.ok:
            raise ValueError(f"row {row} is not a scored variant: choose one of the table's rows")
        return row

    def order(self, key: str, descending: bool = True) -> np.ndarray:
        """Rows of ``scores.table`` that were scored, sorted by column ``key`` (``|...|``: by
        absolute value); NaN last."""
        t = self.scores.table.iloc[self.ok]
        values = t[key.strip("|")].to_numpy(dtype=float)
        values = np.abs(values) if key.startswith("|") else values
        order = np.argsort(-values if descending else values, kind="stable")
        order = np.concatenate([order[~np.isnan(values[order])], order[np.isnan(values[order])]])
        return self.ok[order]

    def explain(self, row: int):
        """:func:`~xai_widgets.methods.explain_variant` of ``row`` for :attr:`method` and :attr:`target` (cached)."""
        return self._cache.get((row, self.method, self.target), lambda: explain_variant(
            self.model, self.scores, row=row, method=self.method, target=self.target,
            method_options=self.method_options.get(self.method), device=self.device))

    def motifs_of(self, row: int):
        """:func:`~xai_widgets.methods.variant_motifs` of ``row`` (kept as :attr:`motifs`)."""
        if self.motifs is None or self.motifs.attrs.get("row") != row:
            self.motifs = variant_motifs(self.scores, row, motifs=self.motif_set, threshold=self.motif_threshold)
            self.motifs.attrs["row"] = row
        return self.motifs

    def outputs_table(self, row: int):
        """ref, alt, delta (and log2fc, percentile where scored) of ``row`` per output, from
        ``scores.table``: a DataFrame indexed by output name."""
        import pandas as pd

        columns = [c for c in ("ref", "alt", "delta", "log2fc", "percentile")
                   if any(f"{c}_{o}" in self.scores.table for o in self.scores.outputs)]
        r = self.scores.table.iloc[row]
        return pd.DataFrame({c: [float(r.get(f"{c}_{o}", np.nan)) for o in self.scores.outputs] for c in columns},
                            index=pd.Index(self.scores.outputs, name="output"))
