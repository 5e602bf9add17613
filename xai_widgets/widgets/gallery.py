"""FilterGallery: first-layer filters as logos, annotated against JASPAR, ablated with a click.

The view of :class:`~xai_widgets.widgets.core.GalleryCore`, which holds the state."""

from __future__ import annotations

import time
import warnings

import ipywidgets as ipw
import numpy as np
import traitlets
from torch import nn

from ..data import decode
from ..plots import gallery_data, gallery_figure
from ._common import bokeh_widget, target_options, update_source
from .core import GalleryCore, resolve_target
from .core.gallery import as_data

TILE_COLORS = {"kept": "#ffffff", "ablated": "#e8a0a0", "focus": "#a0c4e8", "focus_ablated": "#c9a0e8"}


class FilterGallery(ipw.VBox):
    """First-layer filter logos sorted by importance; click one to ablate it and see the effect.

    At start (once per model, data and settings, with progress bars, then cached by content in
    :data:`~xai_widgets.widgets.core.gallery.ANALYSES`, the 4 most recent): each filter's
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
    target : int or str, optional
        Output whose predictions the readout lists; default None: the only output (a data set
        with several label columns needs ``target=<index or name>``).
    sequences : list of int, optional
        Rows of ``data`` whose predictions are listed; default ``(0, 1, 2, 3, 4)``.
    n_motif : int, optional
        Sequences used for the activation motifs; default 3000.
    n_eval : int, optional
        Sequences used for AUROC (each toggle runs one forward pass over them); default 1000.
    database : list of Motif, optional
        Tomtom database; default None: JASPAR 2024 CORE vertebrates.
    threshold : float, optional
        Activation threshold for the motifs (fraction of each filter's maximum); default 0.5.
    mode : {"zero", "mean"}, optional
        Ablation replaces the activation by 0 or by the filter's mean activation; default ``"zero"``.
    columns : int, optional
        Tiles per row; default 8.
    width : int, optional
        Pixels; default 960.
    batch_size : int, optional
        Default None: the memory rule.
    device : str or torch.device, optional
        Default ``"auto"``.
    progress : bool, optional
        Progress bars during the analysis; default True.

    Settable state is in traitlets: :attr:`target`, :attr:`ablated` (a sorted tuple of filter
    indices) and :attr:`focus` (a filter index or None).
    """

    target = traitlets.Union([traitlets.Int(), traitlets.Unicode()])  # a name becomes its index
    ablated = traitlets.Tuple()
    focus = traitlets.Int(None, allow_none=True)


    def __init__(self, model: nn.Module, data, *, target=None, sequences=(0, 1, 2, 3, 4), n_motif: int = 3000,
                 n_eval: int = 1000, database=None, threshold: float = 0.5, mode: str = "zero", columns: int = 8,
                 width: int = 960, batch_size: int | None = None, device="auto", progress: bool = True):
        from bokeh.events import DoubleTap, Tap
        from bokeh.models import ColumnDataSource

        X, y = as_data(data)
        self.core = GalleryCore(model, X, y, sequences=sequences, n_motif=n_motif, n_eval=n_eval, database=database,
                                threshold=threshold, mode=mode, batch_size=batch_size, device=device,
                                progress=progress)
        core = self.core
        self.model, self.device, self.mode = model, core.device, mode
        self.sequences, self.motifs, self.matches, self.importance = (core.sequences, core.motifs, core.matches,
                                                                      core.importance)
        self.order, self.intact_predictions = core.order, core.intact_predictions
        self.timings: dict[str, float] = {}
        target = resolve_target(model, target, core.n_outputs)

        letters, tiles = gallery_data(self.motifs, self.order, columns=columns)
        tiles["label"] = [core.label(f) for f in self.order]
        tiles["fill"] = [TILE_COLORS["kept"]] * len(self.order)
        self.sources = {"letters": ColumnDataSource(letters, name="gallery_letters_source"),
                        "tiles": ColumnDataSource(tiles, name="gallery_tiles_source")}
        self.figure = gallery_figure(self.sources["letters"], self.sources["tiles"], columns=columns, width=width,
                                     name="gallery")
        for event in (Tap, DoubleTap):
            self.figure.on_event(event, self.on_gallery_tap)

        self.target_dropdown = ipw.Dropdown(options=target_options(model, core.n_outputs), value=target,
                                            description="target", layout=ipw.Layout(width="260px"))
        self.buttons = {"keep only focused": ipw.Button(description="ablate all but focused",
                                                        layout=ipw.Layout(width="200px")),
                        "reset": ipw.Button(description="reset", layout=ipw.Layout(width="100px"))}
        self.buttons["keep only focused"].on_click(lambda _: self.keep_only([self.focus] if self.focus is not None
                                                                            else []))
        self.buttons["reset"].on_click(lambda _: self.reset())
        self.readout = ipw.HTML().add_class("xw-gallery-readout")
        self.details = ipw.HTML().add_class("xw-gallery-details")
        self.plot = bokeh_widget(self.figure)
        self.target = target
        traitlets.link((self.target_dropdown, "value"), (self, "target"))
        self.observe(lambda _: self._refresh(), names=["target", "ablated", "focus"])
        self._refresh()
        super().__init__([ipw.HBox([self.target_dropdown, *self.buttons.values()]), self.readout, self.plot,
                          self.details])
        self.add_class("xw-gallery")

    # ---- public actions -------------------------------------------------------------------
    def toggle(self, f: int) -> None:
        """Ablate filter ``f`` if it is kept, restore it if it is ablated; focus on it."""
        ablated = self.core.toggled(f)
        with self.hold_trait_notifications():
            self.focus, self.ablated = int(f), ablated

    def ablate(self, filters) -> None:
        """Set the ablated filters to exactly ``filters``."""
        self.ablated = self.core.ablation(filters)

    def keep_only(self, filters) -> None:
        """Ablate every filter except ``filters``."""
        self.ablated = self.core.all_but(filters)

    def reset(self) -> None:
        """No filter ablated, no focus."""
        with self.hold_trait_notifications():
            self.focus, self.ablated = None, ()

    def on_gallery_tap(self, event) -> None:
        """A click on a tile toggles that filter."""
        tiles = self.sources["tiles"].data
        inside = ((np.asarray(tiles["left"]) <= event.x) & (event.x <= np.asarray(tiles["right"]))
                  & (np.asarray(tiles["bottom"]) <= event.y) & (event.y <= np.asarray(tiles["top"])))
        if inside.any():
            self.toggle(int(np.asarray(tiles["filter"])[inside.argmax()]))

    # ---- public state ---------------------------------------------------------------------
    @property
    def predictions(self):
        """Predictions ``(S, T)`` of the chosen sequences with :attr:`ablated` silenced."""
        return self.core.predictions

    @property
    def reference_predictions(self):
        """Deprecated name of ``intact_predictions`` (the intact model's predictions ``(S, T)`` on
        the sequences shown); ``reference`` means DeepLIFT's reference sequences."""
        warnings.warn("FilterGallery.reference_predictions is deprecated; use intact_predictions", FutureWarning,
                      stacklevel=2)
        return self.intact_predictions

    @property
    def auroc(self) -> float:
        """The held-out metric with :attr:`ablated` silenced."""
        return self.core.auroc

    def __repr__(self) -> str:
        return (f"FilterGallery(model={type(self.model).__name__}, filters={len(self.motifs)}, "
                f"ablated={list(self.ablated)})")

    # ---- traits ---------------------------------------------------------------------------
    @traitlets.validate("target")
    def _check_target(self, proposal):
        return resolve_target(self.model, proposal["value"], self.core.n_outputs)

    @traitlets.validate("ablated")
    def _check_ablated(self, proposal):
        return self.core.ablation(proposal["value"])

    @traitlets.validate("focus")
    def _check_focus(self, proposal):
        return None if proposal["value"] is None else self.core.check(proposal["value"])

    # ---- internals ------------------------------------------------------------------------
    def _refresh(self) -> None:
        started = time.perf_counter()
        core = self.core
        core.ablated, core.focus = self.ablated, self.focus
        core.evaluate()
        computed = time.perf_counter()
        fills = [TILE_COLORS.get(core.tile_state(f), TILE_COLORS["focus"]) for f in self.order]
        with self.plot.batched():
            update_source(self.sources["tiles"], {**self.sources["tiles"].data, "fill": fills})
        intact = self.importance.intact_score
        t = self.target
        rows = "".join(f"<tr><td>{i}</td><td>{float(a):+.3f}</td><td>{float(b):+.3f}</td>"
                       f"<td>{float(b - a):+.3f}</td></tr>"
                       for i, a, b in zip(self.sequences, self.intact_predictions[:, t], self.predictions[:, t]))
        self.readout.value = (
            f"<b>ablated</b>: <span class='xw-ablated'>{len(self.ablated)}</span> filter(s) "
            f"{list(self.ablated)[:12]}{' ...' if len(self.ablated) > 12 else ''} · held-out "
            f"{self.importance.metric.upper()} {intact:.4f} → <span class='xw-auroc'>{self.auroc:.4f}</span> "
            f"({self.auroc - intact:+.4f})"
            f"<table style='font-size:90%'><tr><th>sequence</th><th>intact</th><th>ablated</th><th>change</th></tr>"
            f"{rows}</table>")
        self.details.value = self._details()
        self.timings = {"compute_ms": (computed - started) * 1000,
                        "total_ms": (time.perf_counter() - started) * 1000}

    def _details(self) -> str:
        if self.focus is None:
            return "<i>Click a filter to ablate it and see its top activating sites.</i>"
        f, motif = self.focus, self.motifs[self.focus]
        width, X = motif.width, self.core.X_motif
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
