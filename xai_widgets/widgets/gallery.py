"""FilterGallery: first-layer filters as logos, annotated against JASPAR, ablated with a click."""

from __future__ import annotations

import time

import ipywidgets as ipw
import numpy as np
import torch
from torch import nn

from .._core import predict, resolve_device
from ..data.encoding import decode
from ..methods.filters import (SIGNIFICANT_E_VALUE, filter_importance, filters_from_activations, first_layer,
                               mean_activations, mean_metric, predict_ablated, tomtom_matches)
from ..plots.filters import gallery_data, gallery_figure
from ._common import bokeh_widget, target_options, update_source

TILE_COLORS = {"kept": "#ffffff", "ablated": "#e8a0a0", "focus": "#a0c4e8", "focus_ablated": "#c9a0e8"}
_ANALYSES: dict = {}  # (model id, weights and data fingerprint, settings) -> (motifs, matches, importance)


def _fingerprint(model: nn.Module, X: torch.Tensor) -> tuple:
    weight = first_layer(model).weight.detach()
    return id(model), float(weight.sum()), float(weight.abs().sum()), tuple(X.shape), float((X * torch.arange(
        X.shape[-1], dtype=X.dtype)).sum())


def _as_data(data) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)`` from a SyntheticTask (or anything with ``X`` and ``y``) or a tuple."""
    X, y = (data.X, data.y) if hasattr(data, "X") else data
    y = torch.as_tensor(y)
    if y.ndim == 1:
        y = y[:, None]
    if len(X) != len(y):
        raise ValueError(f"X and y have different lengths: {len(X)} vs {len(y)}")
    return X, y


class FilterGallery(ipw.VBox):
    """First-layer filter logos sorted by importance; click one to ablate it and see the effect.

    At start (once per model and data set, with progress bars, then cached): each filter's
    motif from its activating windows, its best JASPAR match (Tomtom), and its importance (the
    AUROC drop when ablated alone). Clicking a tile toggles that filter's ablation (and shows its
    top activating sites); the readout gives the held-out AUROC and the prediction change of the
    chosen sequences with every ablated filter silenced.

    Parameters
    ----------
    model : torch.nn.Module
        With a first ``Conv1d`` on the one-hot input.
    data : SyntheticTask or (X, y)
        Held-out sequences ``(N, 4, L)`` and labels ``(N, T)`` (e.g. ``task.subset("test")``).
    sequences : list of int
        Rows of ``data`` whose predictions are listed.
    n_motif : int
        Sequences used for the activation motifs.
    n_eval : int
        Sequences used for AUROC (each toggle runs one forward pass over them).
    targets : list of Motif, optional
        Tomtom database (default JASPAR 2024 CORE vertebrates).
    threshold : float
        Activation threshold for the motifs (fraction of each filter's maximum).
    mode : {"zero", "mean"}
        Ablation replaces the activation by 0 or by the filter's mean activation.
    columns, width : int
        Tiles per row; pixels.
    batch_size, device, progress
    """

    def __init__(self, model: nn.Module, data, *, sequences=(0, 1, 2, 3, 4), n_motif: int = 3000, n_eval: int = 1000,
                 targets=None, threshold: float = 0.5, mode: str = "zero", columns: int = 8, width: int = 960,
                 batch_size: int = 256, device="auto", progress: bool = True):
        from bokeh.events import DoubleTap, Tap
        from bokeh.models import ColumnDataSource

        X, y = _as_data(data)
        self.model, self.device, self.batch_size, self.mode = model, resolve_device(device), batch_size, mode
        self.X_eval, self.y_eval = X[:n_eval], y[:n_eval]
        self.sequences = [int(i) for i in sequences]
        if any(not 0 <= i < len(X) for i in self.sequences):
            raise ValueError(f"sequences must index the data (0..{len(X) - 1}); got {self.sequences}")
        self.X_chosen = X[self.sequences]
        self._X_motif = X[:n_motif]
        key = (_fingerprint(model, X), n_motif, n_eval, threshold, mode, id(targets))
        if key not in _ANALYSES:
            motifs = filters_from_activations(model, X[:n_motif], threshold=threshold, batch_size=batch_size,
                                              device=self.device, progress=progress)
            matches = tomtom_matches(motifs, targets, n_best=3)
            importance = filter_importance(model, self.X_eval, y=self.y_eval, mode=mode, batch_size=batch_size,
                                           device=self.device, progress=progress)
            _ANALYSES[key] = (motifs, matches, importance)
        self.motifs, self.matches, self.importance = _ANALYSES[key]
        self.order = [int(f) for f in self.importance.order]
        self._means = (mean_activations(model, self.X_eval, batch_size=batch_size, device=self.device)
                       if mode == "mean" else None)
        self.reference_predictions = predict(model, self.X_chosen, batch_size=batch_size, device=self.device)
        self.ablated: tuple = ()
        self.focus: int | None = None
        self.timings: dict[str, float] = {}

        letters, tiles = gallery_data(self.motifs, self.order, columns)
        tiles["label"] = [self._label(f) for f in self.order]
        tiles["fill"] = [TILE_COLORS["kept"]] * len(self.order)
        self.sources = {"letters": ColumnDataSource(letters, name="gallery_letters_source"),
                        "tiles": ColumnDataSource(tiles, name="gallery_tiles_source")}
        self.figure = gallery_figure(self.sources["letters"], self.sources["tiles"], columns=columns, width=width,
                                     name="gallery")
        for event in (Tap, DoubleTap):
            self.figure.on_event(event, self.on_gallery_tap)

        self.target_dropdown = ipw.Dropdown(options=target_options(model, y.shape[1]), value=0, description="target",
                                            layout=ipw.Layout(width="260px"))
        self.target_dropdown.observe(lambda _: self._refresh(), names="value")
        self.buttons = {"keep only focused": ipw.Button(description="ablate all but focused",
                                                        layout=ipw.Layout(width="200px")),
                        "reset": ipw.Button(description="reset", layout=ipw.Layout(width="100px"))}
        self.buttons["keep only focused"].on_click(lambda _: self.keep_only([self.focus] if self.focus is not None
                                                                            else []))
        self.buttons["reset"].on_click(lambda _: self.reset())
        self.readout = ipw.HTML().add_class("xw-gallery-readout")
        self.details = ipw.HTML().add_class("xw-gallery-details")
        self.plot = bokeh_widget(self.figure)
        self._refresh()
        super().__init__([ipw.HBox([self.target_dropdown, *self.buttons.values()]), self.readout, self.plot,
                          self.details])
        self.add_class("xw-gallery")

    # ---- public actions -------------------------------------------------------------------
    def toggle(self, f: int) -> None:
        """Ablate filter ``f`` if it is kept, restore it if it is ablated; focus on it."""
        f = self._check(f)
        self.focus = f
        self.ablate(sorted(set(self.ablated) ^ {f}))

    def ablate(self, filters) -> None:
        """Set the ablated filters to exactly ``filters``."""
        self.ablated = tuple(sorted({self._check(f) for f in filters}))
        self._refresh()

    def keep_only(self, filters) -> None:
        """Ablate every filter except ``filters``."""
        keep = {self._check(f) for f in filters}
        self.ablate([f for f in range(len(self.motifs)) if f not in keep])

    def reset(self) -> None:
        """No filter ablated, no focus."""
        self.focus = None
        self.ablate([])

    def on_gallery_tap(self, event) -> None:
        """A click on a tile toggles that filter."""
        tiles = self.sources["tiles"].data
        inside = ((np.asarray(tiles["left"]) <= event.x) & (event.x <= np.asarray(tiles["right"]))
                  & (np.asarray(tiles["bottom"]) <= event.y) & (event.y <= np.asarray(tiles["top"])))
        if inside.any():
            self.toggle(int(np.asarray(tiles["filter"])[inside.argmax()]))

    # ---- public state ---------------------------------------------------------------------
    @property
    def target(self) -> int:
        return self.target_dropdown.value

    def __repr__(self) -> str:
        return (f"FilterGallery(model={type(self.model).__name__}, filters={len(self.motifs)}, "
                f"ablated={list(self.ablated)})")

    # ---- internals ------------------------------------------------------------------------
    def _check(self, f) -> int:
        if isinstance(f, bool) or not isinstance(f, (int, np.integer)) or not 0 <= f < len(self.motifs):
            raise ValueError(f"filter must be an index 0..{len(self.motifs) - 1}; got {f!r}")
        return int(f)

    def _label(self, f: int) -> str:
        motif, best = self.motifs[f], self.matches[f][0] if self.matches[f] else None
        significant = best is not None and best.e_value < SIGNIFICANT_E_VALUE  # none for an uninformative filter
        match = f"{best.target} E={best.e_value:.1g}" if significant else "no match"
        return f"f{f} {match}\nIC {motif.information_content().sum():.1f} n={motif.n_sites}"

    def _predict_ablated(self, X: torch.Tensor) -> torch.Tensor:
        return predict_ablated(self.model, X, filters=self.ablated, means=self._means, batch_size=self.batch_size,
                               device=self.device)

    def _refresh(self) -> None:
        started = time.perf_counter()
        self.predictions = self._predict_ablated(self.X_chosen)
        self.auroc = mean_metric(self._predict_ablated(self.X_eval), self.y_eval, metric=self.importance.metric)
        computed = time.perf_counter()
        fills = []
        for f in self.order:
            state = ("focus_" if f == self.focus else "") + ("ablated" if f in self.ablated else "kept")
            fills.append(TILE_COLORS.get(state, TILE_COLORS["focus"]))
        with self.plot.batched():
            update_source(self.sources["tiles"], {**self.sources["tiles"].data, "fill": fills})
        reference = self.importance.reference_score
        t = self.target
        rows = "".join(f"<tr><td>{i}</td><td>{float(a):+.3f}</td><td>{float(b):+.3f}</td><td>{float(b - a):+.3f}</td></tr>"
                       for i, a, b in zip(self.sequences, self.reference_predictions[:, t], self.predictions[:, t]))
        self.readout.value = (
            f"<b>ablated</b>: <span class='xw-ablated'>{len(self.ablated)}</span> filter(s) "
            f"{list(self.ablated)[:12]}{' ...' if len(self.ablated) > 12 else ''} · held-out "
            f"{self.importance.metric.upper()} {reference:.3f} → <span class='xw-auroc'>{self.auroc:.4f}</span> "
            f"({self.auroc - reference:+.4f})"
            f"<table style='font-size:90%'><tr><th>sequence</th><th>intact</th><th>ablated</th><th>change</th></tr>"
            f"{rows}</table>")
        self.details.value = self._details()
        self.timings = {"compute_ms": (computed - started) * 1000,
                        "total_ms": (time.perf_counter() - started) * 1000}

    def _details(self) -> str:
        if self.focus is None:
            return "<i>Click a filter to ablate it and see its top activating sites.</i>"
        f, motif = self.focus, self.motifs[self.focus]
        width, X = motif.width, self._X_motif
        sites = []
        for seq, start, value in motif.meta.get("top_sites", [])[:8]:
            lo, hi = max(start, 0), min(start + width, X.shape[2])
            text = "." * (lo - start) + decode(X[seq : seq + 1, :, lo:hi])[0] + "." * (start + width - hi)
            sites.append(f"<tr><td>{seq}</td><td>{start}</td><td><code>{text}</code></td><td>{value:.2f}</td></tr>")
        matches = "".join(f"<tr><td>{m.target} ({m.target_id})</td><td>{m.p_value:.2g}</td><td>{m.e_value:.2g}</td>"
                          f"<td>{m.q_value:.2g}</td><td>{m.strand}</td></tr>" for m in self.matches[f])
        return (f"<b>filter {f}</b>: {motif.n_sites} sites, IC {motif.information_content().sum():.1f} bits, "
                f"AUROC drop alone {self.importance.drop[f]:+.4f}"
                f"<table><tr><th>JASPAR match</th><th>p</th><th>E</th><th>q</th><th>strand</th></tr>{matches}</table>"
                f"<table><tr><th>sequence</th><th>start</th><th>site</th><th>activation</th></tr>{''.join(sites)}</table>")
