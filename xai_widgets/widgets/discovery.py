"""MotifDiscovery: the patterns TF-MoDISco found, traced back to their seqlets and sequences."""

from __future__ import annotations

import html
from contextlib import nullcontext

import ipywidgets as ipw
import numpy as np
import traitlets
from torch import nn

from ..methods import DiscoveryResult
from ..methods.discovery import MATRICES
from ..plots import information_logo, logo_data, logo_figure
from ._common import bokeh_widget
from .core import DiscoveryCore
from .flipper import NucleotideFlipper

SIGN_COLORS = {1: "#2166ac", -1: "#b2182b"}
"""Outline colour of a positive and a negative pattern's tile."""
SELECTED_FILL = "#fff3c4"
"""Background of the selected pattern's tile."""
_MATRIX_LABELS = {"cwm": "CWM (contribution)", "pwm": "PWM (information)"}


def pattern_logo(pattern, kind: str) -> np.ndarray:
    """Letter heights drawn for ``pattern``'s ``kind`` matrix (drawn window, forward strand):
    the CWM itself, or the PWM as an information-content logo. ``(4, W)``."""
    if kind not in MATRICES:
        raise ValueError(f"matrix must be one of {MATRICES}; got {kind!r}")
    m = pattern.matrix(kind)
    return information_logo(m) if kind == "pwm" else m


class MotifDiscovery(ipw.VBox):
    """A gallery of TF-MoDISco patterns; click one to list its seqlets, click a seqlet to edit it.

    Every pattern of ``result`` is drawn as a logo of its drawn window (the CWM, or the PWM as an
    information logo) titled with its seqlet count and best Tomtom match of *that* matrix
    (``pattern.matches[matrix]``: matches are computed on the drawn matrix, see
    :mod:`xai_widgets.methods.discovery`); positive patterns are outlined blue, negative ones
    red. Selecting a pattern (a click on its logo or its row in the pattern list) lists its
    matches and seqlets; selecting a seqlet opens its sequence in a :class:`NucleotideFlipper`
    centred on the seqlet, which is marked.

    All user-settable state is in traitlets: :attr:`pattern` (a pattern name), :attr:`seqlet`
    (a row of that pattern's ``seqlets`` DataFrame) and :attr:`matrix` (``"cwm"`` or ``"pwm"``).
    The widget computes nothing but the flipper's predictions and attributions.

    Parameters
    ----------
    model : torch.nn.Module
        The model whose attributions were clustered (used by the flipper).
    X : torch.Tensor, numpy.ndarray or AttributionStore, shape (N, 4, L)
        The sequences ``result`` was computed on (same order), or the store it came from.
    result : DiscoveryResult
        From :func:`~xai_widgets.methods.discover_motifs` (keyword-only).
    target : int or str, optional
        Output the flipper explains (index, or name for models with ``output_names``); default
        None: the only output of a single-output model (required for multi-output models).
    matrix : {"cwm", "pwm"}, optional
        Matrix drawn at start; default ``"cwm"``.
    method : str, optional
        Attribution method of the flipper (an interactive method of the registry,
        :func:`~xai_widgets.methods.method_names`); default ``"ism"``.
    method_options : dict, optional
        Passed to the flipper; default None: its defaults.
    columns : int, optional
        Logos per gallery row; default 3.
    rows : int, optional
        Rows visible in the pattern and seqlet lists; default 8.
    window : int, optional
        Columns the flipper shows around the seqlet; default 100.
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available.
    width : int, optional
        Pixels; default 900.

    Raises
    ------
    TypeError
        If ``model`` is not a module or ``result`` not a DiscoveryResult.
    ValueError
        If ``X`` does not have ``result``'s number of sequences and length, ``result`` has no
        pattern, or ``target``/``matrix`` is invalid.
    """

    pattern = traitlets.Unicode(None, allow_none=True)
    seqlet = traitlets.Int(None, allow_none=True)
    matrix = traitlets.Unicode("cwm")

    def __init__(self, model: nn.Module, X, *, result: DiscoveryResult, target=None, matrix: str = "cwm",
                 method: str = "ism", method_options: dict | None = None, columns: int = 3, rows: int = 8,
                 window: int = 100, device="auto", width: int = 900):
        from bokeh.events import DoubleTap, Tap
        from bokeh.layouts import gridplot
        from bokeh.models import ColumnDataSource

        self.core = core = DiscoveryCore(model, X, result, target=target, device=device)
        if matrix not in MATRICES:
            raise ValueError(f"matrix must be one of {MATRICES}; got {matrix!r}")
        self.model, self.X, self.result, self.device = model, core.X, result, core.device
        self.output_names, self.target = core.output_names, core.target
        self.method, self.method_options, self.window, self.width = method, method_options, window, width
        self.flipper = None
        self._relisting = False
        self._patterns = core.patterns

        # Bokeh: one small logo per pattern, in a grid
        tile_width = max(160, width // columns - 10)
        self.sources, self.figures = {}, {}
        for p in result.patterns:
            self.sources[p.name] = ColumnDataSource(name=f"discovery_logo_{p.name}_source")
            fig = logo_figure(source=self.sources[p.name], width=tile_width, height=150, title=p.name,
                              y_label="", name=f"discovery_logo_{p.name}")
            fig.outline_line_color, fig.outline_line_width = SIGN_COLORS[1 if p.sign > 0 else -1], 3
            for event in (Tap, DoubleTap):
                fig.on_event(event, self.on_logo_tap)
            self.figures[p.name] = fig

        # ipywidgets: header, matrix toggle, pattern list, matches, seqlets, flipper
        self.header = ipw.HTML().add_class("xw-discovery-header")
        self.matrix_buttons = ipw.ToggleButtons(options=[(_MATRIX_LABELS[k], k) for k in MATRICES], value=matrix,
                                                style={"button_width": "150px"})
        self.pattern_list = ipw.Select(options=[], rows=min(rows, len(result.patterns)),
                                       layout=ipw.Layout(width=f"{width}px"))
        self.pattern_list.add_class("xw-discovery-patterns")
        self.matches_box = ipw.HTML().add_class("xw-discovery-matches")
        self.seqlet_list = ipw.Select(options=[], rows=rows, layout=ipw.Layout(width=f"{width}px"))
        self.seqlet_list.add_class("xw-discovery-seqlets")
        self.flipper_box = ipw.VBox()
        traitlets.link((self.matrix_buttons, "value"), (self, "matrix"))
        traitlets.link((self.pattern_list, "value"), (self, "pattern"))
        traitlets.link((self.seqlet_list, "value"), (self, "seqlet"))

        self.plot = None
        self.matrix = matrix
        self._draw()  # logos filled before the figures are sent (no empty ranges)
        self.observe(lambda _: self._draw(), names="matrix")
        self.observe(lambda _: self._select_pattern(), names="pattern")
        self.observe(lambda _: self._select_seqlet(), names="seqlet")
        self.pattern = result.patterns[0].name
        self.plot = bokeh_widget(gridplot([self.figures[p.name] for p in result.patterns], ncols=columns,
                                          toolbar_location=None))
        super().__init__([self.header, self.matrix_buttons, self.plot, self.pattern_list, self.matches_box,
                          self.seqlet_list, self.flipper_box])
        self.add_class("xw-discovery")

    def __repr__(self) -> str:
        return (f"MotifDiscovery(model={type(self.model).__name__}, patterns={len(self.result.patterns)}, "
                f"pattern={self.pattern!r}, seqlet={self.seqlet}, matrix={self.matrix!r})")

    @traitlets.validate("pattern")
    def _check_pattern(self, proposal):
        try:
            return self.core.check_pattern(proposal["value"])
        except ValueError as error:
            raise traitlets.TraitError(str(error)) from error

    @traitlets.validate("matrix")
    def _check_matrix(self, proposal):
        if proposal["value"] not in MATRICES:
            raise traitlets.TraitError(f"matrix must be one of {MATRICES}; got {proposal['value']!r}")
        return proposal["value"]

    def on_logo_tap(self, event) -> None:
        """A click on a pattern's logo selects that pattern."""
        for name, fig in self.figures.items():
            if event.model is fig:
                self.pattern = name

    # ---- text ---------------------------------------------------------------------------
    def _best(self, p) -> str:
        best = p.best_match(self.matrix)
        return f"{best.target} E={best.e_value:.2g}" if best is not None else "no match"

    def _pattern_label(self, p) -> str:
        return (f"{p.name:<8} {'positive' if p.sign > 0 else 'negative':<9} {p.n_seqlets:>6} seqlets  "
                f"width {p.window[1] - p.window[0]:>3}  best {self.matrix.upper()} match: {self._best(p)}")

    @staticmethod
    def seqlet_label(row) -> str:
        """The seqlet list's text for one row of a pattern's ``seqlets`` DataFrame."""
        name = f" {row['name']}" if row["name"] is not None else ""
        genomic = (f"  {row['chrom']}:{int(row['genomic_start'])}-{int(row['genomic_end'])} ({row['genomic_strand']})"
                   if row["chrom"] is not None else "")
        return (f"sequence {int(row['sequence'])}{name}  {int(row['start'])}-{int(row['end'])} ({row['strand']})  "
                f"contribution {float(row['contribution']):+.4f}{genomic}")

    # ---- drawing ------------------------------------------------------------------------
    def _batched(self):
        return self.plot.batched() if self.plot is not None else nullcontext()

    def _draw(self) -> None:
        """Draw every pattern's :attr:`matrix` logo and title; relabel the pattern list."""
        with self._batched():
            for p in self.result.patterns:
                self.sources[p.name].data = logo_data(pattern_logo(p, self.matrix))
                fig = self.figures[p.name]
                fig.title.text = f"{p.name}: {p.n_seqlets} seqlets, {self._best(p)}"
                fig.yaxis.axis_label = "contribution" if self.matrix == "cwm" else "bits"
        selected = self.pattern
        with self.hold_trait_notifications():
            self.pattern_list.options = [(self._pattern_label(p), p.name) for p in self.result.patterns]
            self.pattern_list.value = selected
        self.header.value = (
            "<style>.xw-discovery-patterns select, .xw-discovery-seqlets select {font-family: monospace; "
            "font-size: 12px}</style>"
            f"<b>{len(self.result.patterns)} patterns</b> "
            f"({sum(p.sign > 0 for p in self.result.patterns)} positive, outlined blue; "
            f"{sum(p.sign < 0 for p in self.result.patterns)} negative, red) from {self.result.n_sequences} "
            f"sequences; drawn: {html.escape(_MATRIX_LABELS[self.matrix])}, matched with Tomtom on this drawn "
            f"matrix against {html.escape(self.result.matched_against)}")
        if self.pattern is not None:
            self._show_matches()

    def _show_matches(self) -> None:
        p = self._patterns[self.pattern]
        found = p.matches.get(self.matrix, [])
        rows = "".join(f"<tr><td>{html.escape(m.target)} ({html.escape(m.target_id)})</td><td>{m.p_value:.2g}</td>"
                       f"<td>{m.e_value:.2g}</td><td>{m.q_value:.2g}</td><td>{m.strand}</td></tr>" for m in found)
        note = ("" if p.informative.get(self.matrix, True) else
                " (uninformative matrix: Tomtom did not compare it)")
        self.matches_box.value = (
            f"<b>{html.escape(p.name)}</b>: {p.n_seqlets} seqlets, Tomtom matches of the drawn "
            f"{self.matrix.upper()}{note}" +
            (f"<table><tr><th>match</th><th>p</th><th>E</th><th>q</th><th>strand</th></tr>{rows}</table>"
             if found else "<br><i>no match</i>"))

    def _select_pattern(self) -> None:
        name = self.pattern
        with self._batched():
            for p in self.result.patterns:
                self.figures[p.name].background_fill_color = SELECTED_FILL if p.name == name else "#ffffff"
        self._relisting = True  # new options select their first row: not a click, open nothing
        try:
            self.seqlet_list.options = [] if name is None else [
                (self.seqlet_label(r), i) for i, r in enumerate(self.seqlets().to_dict("records"))]
            self.seqlet_list.index = None
            self.seqlet = None
        finally:
            self._relisting = False
        self.flipper_box.children = []
        self.flipper = None
        if name is None:
            self.matches_box.value = "<i>select a pattern</i>"
        else:
            self._show_matches()

    def seqlets(self):
        """The selected pattern's seqlets (a DataFrame; row ``i`` is :attr:`seqlet` ``i``)."""
        if self.pattern is None:
            raise ValueError("select a pattern first")
        return self.core.seqlets(self.pattern)

    def _select_seqlet(self) -> None:
        if self.seqlet is not None and not self._relisting:
            self.open_flipper(self.seqlet)

    # ---- flipper ------------------------------------------------------------------------
    def open_flipper(self, seqlet: int | None = None) -> NucleotideFlipper:
        """Open the sequence of the selected pattern's seqlet ``seqlet`` (default :attr:`seqlet`)
        in a :class:`NucleotideFlipper`, centred on the seqlet, which is marked.

        Returns
        -------
        NucleotideFlipper
            Also kept as :attr:`flipper` and shown below the lists.
        """
        seqlet = self.seqlet if seqlet is None else seqlet
        table = self.seqlets()
        if seqlet is None or not 0 <= int(seqlet) < len(table):
            raise ValueError(f"seqlet must be a row 0..{len(table) - 1} of pattern {self.pattern!r}'s seqlets; "
                             f"got {seqlet!r}")
        row = table.iloc[int(seqlet)]
        i, start, end = int(row["sequence"]), int(row["start"]), int(row["end"])
        self.flipper = NucleotideFlipper(self.model, self.X[i], target=self.target, method=self.method,
                                         instances=[(f"{self.pattern} ({row['strand']})", start, end, row["strand"])],
                                         window=self.window, method_options=self.method_options,
                                         device=self.device, width=self.width)
        self.flipper_box.children = [ipw.HTML(f"<b>flipper on sequence {i}</b>, centred on seqlet {int(seqlet)} of "
                                              f"{html.escape(self.pattern)}: {self.seqlet_label(row)}")
                                     .add_class("xw-discovery-flipper-title"), self.flipper]
        return self.flipper
