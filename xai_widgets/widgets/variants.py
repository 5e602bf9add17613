"""VariantExplorer: click through scored variants and see why the model predicts their effect.

The view of :class:`~xai_widgets.widgets.core.VariantCore`, which holds the state."""

from __future__ import annotations

import html
from contextlib import nullcontext

import ipywidgets as ipw
import numpy as np
import traitlets
from torch import nn

from ..methods import VariantScores, get_method
from ..plots import add_instance_boxes, attribution_track_figure, instance_data, logo_data, logo_figure, track_data
from ._common import bokeh_widget, target_options
from .core import VariantCore
from .core.variants import sort_keys
from .flipper import NucleotideFlipper

VARIANT_COLOR = "#e6550d"
"""Colour of the box that marks the variant's bases."""


class VariantExplorer(ipw.VBox):
    """A sortable table of scored variants; selecting one explains it.

    The selected variant's ref and alt attribution logos are drawn on one x-axis (window
    columns; after an indel the alt window's right flank is shifted, see
    :class:`~xai_widgets.methods.VariantExplanation`) above the difference track (alt minus
    ref, per position), with the motifs it creates (on the alt logo) or breaks (on the ref
    logo) as boxes (:func:`~xai_widgets.methods.variant_motifs`) and its ref, alt, delta and
    percentile per output (:meth:`outputs_table`). "open flipper" opens a :class:`NucleotideFlipper` on the ref or alt
    window.

    All user-settable state is in traitlets: :attr:`selected` (a row of ``scores.table``),
    :attr:`method`, :attr:`target`, :attr:`sort_by`, :attr:`descending` and :attr:`allele`.
    The numbers shown are :attr:`explanation` (from :func:`~xai_widgets.methods.explain_variant`)
    and :attr:`motifs`.

    Parameters
    ----------
    model : torch.nn.Module
        The model that scored the variants.
    scores : VariantScores
        From :func:`~xai_widgets.methods.score_variants`; only rows with ``status == "ok"``
        are listed (the header says how many others there are).
    method : str, optional
        An interactive attribution method of the registry (:func:`~xai_widgets.methods.method_names`)
        that applies to the model; default ``"ism"``.
    target : int or str, optional
        Output explained (index or name); default None: the model's only output (a
        multi-output model raises ``ValueError``: pass ``target=``).
    motifs : dict or list of Motif, optional
        Passed to :func:`~xai_widgets.methods.variant_motifs`; default None: the bundled JASPAR set.
    motif_threshold : float, optional
        Fraction of a motif's best score that makes a site; default 0.8.
    method_options : dict, optional
        Keyword arguments per method, each replacing that method's interactive defaults; default
        None (the registry's, as in the flipper: interactive speed).
    window : int, optional
        Columns shown around the variant (zoom and pan to see the rest); default 60.
    rows : int, optional
        Table rows visible at once; default 10.
    device : str or torch.device, optional
        Default ``"auto"``.
    width : int, optional
        Pixels; default 900.
    """

    selected = traitlets.Int(None, allow_none=True)
    method = traitlets.Unicode("ism")
    target = traitlets.Union([traitlets.Int(), traitlets.Unicode()])  # a name becomes its index
    sort_by = traitlets.Unicode("")
    descending = traitlets.Bool(True)
    allele = traitlets.Unicode("alt")

    def __init__(self, model: nn.Module, scores: VariantScores, *, method: str = "ism", target=None, motifs=None,
                 motif_threshold: float = 0.8, method_options: dict | None = None, window: int = 60,
                 rows: int = 10, device="auto", width: int = 900):
        from bokeh.layouts import column
        from bokeh.models import ColumnDataSource, Range1d

        self.core = core = VariantCore(model, scores, method=method, target=target, motifs=motifs,
                                       motif_threshold=motif_threshold, method_options=method_options, device=device)
        self.model, self.scores, self.device, self.window = model, scores, core.device, window
        self.output_names, self.available_methods, self.method_options = (core.output_names, core.available_methods,
                                                                          core.method_options)
        self.explanation = None
        self.flipper = None
        self._ok = core.ok
        target = core.target
        length = scores.length

        # Bokeh: ref logo, alt logo and difference track on one x range
        self.sources = {name: ColumnDataSource(name=f"variant_{name}_source")
                        for name in ("ref", "alt", "difference", "variant", "lost", "gained")}
        self.sources["ref"].data = self.sources["alt"].data = logo_data(np.zeros((4, length)))
        self.sources["difference"].data = track_data(np.zeros(length))
        for name in ("variant", "lost", "gained"):
            self.sources[name].data = instance_data([])
        self.x_range = Range1d(-0.5, min(window, length) - 0.5, bounds=(-0.5, length - 0.5))
        self.figures = {
            "ref": logo_figure(source=self.sources["ref"], width=width, height=150, x_range=self.x_range,
                               name="variant_ref", title="reference", y_label="ref"),
            "alt": logo_figure(source=self.sources["alt"], width=width, height=150, x_range=self.x_range,
                               name="variant_alt", title="alternative", y_label="alt"),
            "difference": attribution_track_figure(self.sources["difference"], width=width, height=120,
                                                   x_range=self.x_range, name="variant_difference",
                                                   y_label="alt - ref"),
        }
        for name in ("ref", "alt", "difference"):
            add_instance_boxes(self.figures[name], self.sources["variant"], color=VARIANT_COLOR)
        add_instance_boxes(self.figures["ref"], self.sources["lost"], color="#2166ac")
        add_instance_boxes(self.figures["alt"], self.sources["gained"], color="#b2182b")
        # ipywidgets: the variant table and controls
        keys = sort_keys(scores)
        self.sort_dropdown = ipw.Dropdown(options=keys, value=keys[0][1], description="sort by",
                                          layout=ipw.Layout(width="240px"))
        self.order_toggle = ipw.ToggleButton(value=True, description="descending", layout=ipw.Layout(width="110px"))
        self.table = ipw.Select(options=[], rows=rows, layout=ipw.Layout(width=f"{width}px"))
        self.table.add_class("xw-variant-table")
        self.header = ipw.HTML().add_class("xw-variant-header")
        self.method_dropdown = ipw.Dropdown(options=[(get_method(m).label, m) for m in self.available_methods],
                                            value=core.method, description="logo", layout=ipw.Layout(width="280px"))
        self.target_dropdown = ipw.Dropdown(options=target_options(model, len(self.output_names)),
                                            value=target, description="target", layout=ipw.Layout(width="220px"))
        self.allele_buttons = ipw.ToggleButtons(options=["alt", "ref"], value="alt",
                                                style={"button_width": "50px"})
        self.flip_button = ipw.Button(description="open flipper", tooltip="edit this window base by base")
        self.flip_button.on_click(lambda _: self.open_flipper())
        self.readout = ipw.HTML("<i>select a variant</i>").add_class("xw-variant-readout")
        self.outputs_box = ipw.HTML(layout=ipw.Layout(margin="0 32px 0 0")).add_class("xw-variant-outputs")
        self.motifs_box = ipw.HTML().add_class("xw-variant-motifs")
        self.flipper_box = ipw.VBox()
        traitlets.link((self.sort_dropdown, "value"), (self, "sort_by"))
        traitlets.link((self.order_toggle, "value"), (self, "descending"))
        traitlets.link((self.method_dropdown, "value"), (self, "method"))
        traitlets.link((self.target_dropdown, "value"), (self, "target"))
        traitlets.link((self.allele_buttons, "value"), (self, "allele"))
        traitlets.link((self.table, "value"), (self, "selected"))

        self.plot = None
        with self.hold_trait_notifications():
            self.sort_by, self.method, self.target = keys[0][1], core.method, target
        self._fill_table()
        self.observe(lambda _: self._fill_table(), names=["sort_by", "descending"])
        self.observe(lambda _: self._refresh(), names=["selected", "method", "target"])
        self.selected = int(self.order[0])  # the first row, shown before the figures are sent (no empty ranges)
        self.plot = bokeh_widget(column(self.figures["ref"], self.figures["alt"], self.figures["difference"]))
        controls = ipw.HBox([self.sort_dropdown, self.order_toggle, self.method_dropdown, self.target_dropdown])
        flip = ipw.HBox([self.allele_buttons, self.flip_button, self.readout])
        tables = ipw.HBox([self.outputs_box, self.motifs_box])
        super().__init__([self.header, controls, self.table, flip, tables, self.plot, self.flipper_box])
        self.add_class("xw-variants")

    def __repr__(self) -> str:
        return (f"VariantExplorer(model={type(self.model).__name__}, variants={len(self._ok)}, "
                f"selected={self.selected}, method={self.method!r}, target={self.target})")

    # ---- table --------------------------------------------------------------------------
    @property
    def order(self) -> np.ndarray:
        """Rows of ``scores.table`` in the order the table lists them."""
        return np.array([value for _, value in self.table.options], dtype=int)

    @property
    def motifs(self):
        """Motif sites the selected variant gains or loses (a DataFrame), or None."""
        return self.core.motifs

    @traitlets.validate("target", "method")
    def _check_setting(self, proposal):  # the core checks its settings (check_target, check_method)
        return getattr(self.core, f"check_{proposal['trait'].name}")(proposal["value"])

    @traitlets.validate("selected")
    def _check_selected(self, proposal):
        return self.core.check_row(proposal["value"])

    def _fill_table(self) -> None:
        """List the scored rows sorted by :attr:`sort_by` (``|...|``: by absolute value); NaN last."""
        t = self.scores.table
        key = self.sort_by
        first = self.scores.outputs[0]
        columns = [f"delta_{first}"] + ([f"percentile_{first}"] if f"percentile_{first}" in t else [])
        options = []
        for row in self.core.order(key, self.descending):
            r = t.iloc[row]
            numbers = "  ".join(f"{c.split('_')[0]} {r[c]:+.4f}" if c.startswith("delta") else f"pct {r[c]:5.1f}"
                                for c in columns)
            label = f"{r.chrom}:{r.pos} {r.ref}>{r.alt}"
            options.append((f"{label:<28} {str(r.id)[:18]:<18} {r.kind:<9} {numbers}", int(row)))
        selected = self.selected
        with self.hold_trait_notifications():
            self.table.options = options
            if selected is not None:
                self.table.value = selected
        left = len(self.scores.table) - len(self._ok)
        self.header.value = ("<style>.xw-variant-table select {font-family: monospace; font-size: 12px}</style>"
                             f"<b>{len(self._ok)} scored variants</b>, sorted by {html.escape(key)}"
                             f"{' (largest first)' if self.descending else ' (smallest first)'}"
                             + (f"; {left} not scored (see scores.table.status)" if left else "")
                             + f"; columns: variant, id, kind, delta and percentile of output {html.escape(first)}")

    # ---- selection ----------------------------------------------------------------------
    def outputs_table(self, row: int):
        """ref, alt, delta (and log2fc, percentile where scored) of ``row`` per output, from
        ``scores.table``: a DataFrame indexed by output name."""
        return self.core.outputs_table(row)

    def _refresh(self) -> None:
        """Explain the selected row and assign every source's data at once (one message)."""
        row = self.selected
        if row is None:
            return
        self.core.method, self.core.target = self.method, self.target
        self.explanation = e = self.core.explain(row)
        self.core.motifs_of(row)
        r = self.scores.table.iloc[row]
        span = max(len(r.ref), len(r.alt), 1)
        sites = {call: [(m.motif, m.start, m.end, int(m.strand)) for m in self.motifs.itertuples() if m.call == call]
                 for call in ("lost", "gained")}
        length = self.scores.length
        shown = min(self.window, length)
        left = max(0, min(e.offset + span // 2 - shown // 2, length - shown))
        with self._batched():
            self.sources["ref"].data = logo_data(e.ref)
            self.sources["alt"].data = logo_data(e.alt)
            self.sources["difference"].data = track_data(e.difference_per_position())
            self.sources["variant"].data = instance_data([(f"{r.ref}>{r.alt}", e.offset, min(e.offset + span,
                                                                                                length))])
            self.sources["lost"].data = instance_data(sites["lost"])
            self.sources["gained"].data = instance_data(sites["gained"])
            self.x_range.update(start=left - 0.5, end=left + shown - 0.5)
        self.outputs_box.value = self.outputs_table(row).to_html(float_format="%.4f", na_rep="", border=0)
        shown = self.motifs[["motif", "strand", "call", "start", "end", "ref_score", "alt_score", "change"]]
        self.motifs_box.value = ("<i>no motif gained or lost</i>" if not len(shown) else
                                 shown.to_html(index=False, float_format="%.2f", border=0))
        name = self.output_names[self.target]
        self.readout.value = (f"<b>{html.escape(f'{r.chrom}:{r.pos} {r.ref}>{r.alt}')}</b> "
                              f"{html.escape(get_method(self.method).label)} of {html.escape(name)}: "
                              f"ref <span class='xw-ref'>{float(e.predictions[0]):.4f}</span>, "
                              f"alt <span class='xw-alt'>{float(e.predictions[1]):.4f}</span>")

    def _batched(self):
        return self.plot.batched() if self.plot is not None else nullcontext()

    # ---- flipper ------------------------------------------------------------------------
    def open_flipper(self, allele: str | None = None) -> NucleotideFlipper:
        """Open a :class:`NucleotideFlipper` on the selected variant's ``allele`` window
        (default :attr:`allele`), with the motif sites and the variant marked.

        Returns
        -------
        NucleotideFlipper
            Also kept as :attr:`flipper` and shown below the plots.
        """
        allele = self.allele if allele is None else allele
        if allele not in ("ref", "alt"):
            raise ValueError(f"allele must be 'ref' or 'alt'; got {allele!r}")
        if self.explanation is None:
            raise ValueError("select a variant first")
        e = self.explanation
        X = e.X[1 if allele == "alt" else 0][None]
        call = "gained" if allele == "alt" else "lost"
        instances = [(m.motif, m.start, m.end, int(m.strand)) for m in self.motifs.itertuples() if m.call == call]
        r = self.scores.table.iloc[e.row]
        variant = (f"variant {r.ref}>{r.alt}", e.offset, min(e.offset + max(len(r.ref), len(r.alt), 1),
                                                              self.scores.length))
        instances = [variant] + instances  # the flipper opens centred on its first instance
        self.flipper = NucleotideFlipper(self.model, X, target=self.target, method=self.method, instances=instances,
                                         window=self.window, method_options=self.method_options,
                                         device=self.device)
        self.flipper_box.children = [ipw.HTML(f"<b>flipper on the {allele} window of "
                                              f"{html.escape(f'{r.chrom}:{r.pos} {r.ref}>{r.alt}')}</b>"),
                                     self.flipper]
        return self.flipper
