"""The Bokeh plot layer: data builders checked value by value, figures, export, INLINE resources."""

import numpy as np
import pytest
import torch

from tests.helpers import random_one_hot
from xai_widgets import plots
from xai_widgets.plots.logo import LETTER_WIDTH


def test_stack_bottoms_orders_letters_away_from_zero():
    values = np.array([[1.0, -1.0], [2.0, -2.0], [-1.0, 0.5], [0.5, -0.5]])
    bottoms = plots.stack_bottoms(values)
    # position 0: T (0.5) at 0, A (1) on it, C (2) on top; G (-1) hangs from 0
    np.testing.assert_allclose(bottoms[:, 0], [0.5, 1.5, 0.0, 0.0])
    # position 1: G (0.5) up from 0; T (-0.5) first below 0, then A (-1), then C (-2)
    np.testing.assert_allclose(bottoms[:, 1], [-0.5, -1.5, 0.0, 0.0])


def test_logo_data_has_one_row_per_nonzero_letter_with_its_stack():
    values = torch.randn(4, 30, generator=torch.Generator().manual_seed(0))
    values[2, 5] = 0.0
    data = plots.logo_data(values, start=100)
    assert len(data["position"]) == int((values != 0).sum()) == 4 * 30 - 1
    bottoms = plots.stack_bottoms(values.numpy())
    for pos, base, value, bottom in zip(*(data[k] for k in ("position", "base", "value", "bottom"))):
        b = "ACGT".index(base)
        assert value == pytest.approx(float(values[b, pos - 100]))
        assert bottom == pytest.approx(bottoms[b, pos - 100], abs=1e-6)


def test_logo_outlines_are_computed_in_the_browser_from_the_shared_glyphs():
    from xai_widgets.plots._glyphs import letter_polygons

    fig = plots.logo_figure(torch.randn(4, 10), name="demo")
    xs = fig.select_one({"name": "demo_xs"})
    assert xs.args["width"] == LETTER_WIDTH and xs.args["axis"] == 0
    assert set(xs.args["glyphs"]) == set("ACGT")
    np.testing.assert_allclose(xs.args["glyphs"]["A"][0][1][0], letter_polygons()["A"][0][1][0], atol=1e-4)


def test_every_letter_is_a_filled_outline_in_the_unit_box():
    from xai_widgets.plots._glyphs import letter_polygons

    glyphs = letter_polygons()
    assert set(glyphs) == set("ACGT")
    assert len(glyphs["A"][0]) == 2  # the A has a hole
    for polygons in glyphs.values():
        for polygon in polygons:
            for gx, gy in polygon:
                assert len(gx) == len(gy) >= 3
                assert gx.min() >= -1e-9 and gx.max() <= 1 + 1e-9 and gy.min() >= -1e-9 and gy.max() <= 1 + 1e-9


def test_logo_dataframe_has_logomakers_layout():
    values = torch.randn(1, 4, 12)
    df = plots.logo_dataframe(values, start=5)
    assert list(df.columns) == list("ACGT")
    assert list(df.index) == list(range(5, 17))
    np.testing.assert_allclose(df.to_numpy(), values[0].numpy().T)


def test_heatmap_and_track_data_match_their_inputs():
    delta = torch.randn(4, 9)
    data = plots.heatmap_data(delta)
    np.testing.assert_allclose(data["value"], delta.numpy().reshape(-1))
    assert list(data["y"][:9]) == [3] * 9 and list(data["y"][-9:]) == [0] * 9  # A on top, T at the bottom
    assert data["base"][0] == "A" and data["base"][-1] == "T"
    scores = torch.tensor([0.5, -1.0, 0.0])
    track = plots.track_data(scores, start=2)
    assert list(track["position"]) == [2, 3, 4]
    assert track["color"][0] != track["color"][1]
    assert plots.symmetric_limit([-3.0, 2.0]) == 3.0


def test_padded_limits_hold_every_finite_value():
    from xai_widgets.plots.tracks import padded_limits

    assert padded_limits([1.0, 3.0, np.nan]) == pytest.approx((0.9, 3.1))  # 5 % of the span of 2
    assert padded_limits([2.0, 3.0], include_zero=True) == pytest.approx((-0.15, 3.15))
    assert padded_limits([2.0, 2.0]) == (1.5, 2.5)  # no span: 0.5 either side
    assert padded_limits([np.nan]) == (0.0, 1.0) and padded_limits([], include_zero=True) == (-0.5, 0.5)


def test_instance_data_and_its_errors():
    data = plots.instance_data([("SP1", 10, 20, -1), ("MAX", 30, 36, "+")])
    assert data["left"] == [9.5, 29.5] and data["right"] == [19.5, 35.5]
    assert data["motif"] == ["SP1", "MAX"] and data["site"] == ["10-20 (-)", "30-36 (+)"]
    with pytest.raises(ValueError, match="start < end"):
        plots.instance_data([("SP1", 20, 10)])


@pytest.mark.parametrize("bad", [torch.zeros(3, 10), torch.zeros(2, 4, 10), np.full((4, 3), np.nan)])
def test_bad_maps_are_refused_with_a_message(bad):
    with pytest.raises(ValueError, match="shape|NaN"):
        plots.logo_data(bad)


def test_panel_figures_share_one_x_range():
    X = random_one_hot(1, 300)
    panel = plots.attribution_panel(X, torch.randn(4, 300), delta=torch.randn(4, 300), instances=[("SP1", 3, 12)],
                                    window=100)
    ranges = {id(fig.x_range) for fig in panel.children}
    assert len(panel.children) == 3 and len(ranges) == 1
    x_range = panel.children[0].x_range
    assert (x_range.start, x_range.end) == (-0.5, 99.5)


def test_notebook_setup_uses_inline_resources_on_every_call(monkeypatch):
    import bokeh.io

    from xai_widgets.plots import _common

    calls = []
    monkeypatch.setattr(bokeh.io, "output_notebook", lambda resources, **kw: calls.append(resources))
    monkeypatch.setattr(_common, "_pages_with_bokehjs", set())
    _common.ensure_bokehjs()  # what widgets call: once per page
    _common.ensure_bokehjs()
    assert len(calls) == 1 and calls[0].mode == "inline"
    plots.setup_notebook()  # what a reloaded page re-runs: always sends
    plots.setup_notebook()
    assert len(calls) == 3 and all(c.mode == "inline" for c in calls)
    monkeypatch.setattr(_common, "_frontend_session", lambda: "a reloaded page")
    _common.ensure_bokehjs()  # a new page gets it again
    _common.ensure_bokehjs()
    assert len(calls) == 4


def test_figure_html_fetches_nothing():
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    html = file_html(plots.logo_figure(torch.randn(4, 20)), INLINE, "logo")
    assert "<script src=" not in html.replace("<script src=\"data:", "")


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))


def test_export_png_and_svg(tmp_path):
    """Playwright renders the figure in Chromium: the PNG has the figure's size times the scale and
    shows the logo (pixels of every base colour, not a blank page); the SVG is BokehJS's SVG of it."""
    from PIL import Image

    fig = plots.logo_figure(torch.randn(4, 20, generator=torch.Generator().manual_seed(0)), width=300, height=120)
    png = plots.save_png(fig, tmp_path / "logo.png", scale=2)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as image:
        assert image.size == (600, 240)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    for base, color in plots.BASE_COLORS.items():
        near = (np.abs(pixels - _rgb(color)).max(axis=1) <= 8).sum()
        assert near > 100, f"no {base} letters ({color}) in the PNG: {near} pixels"
    assert (pixels.min(axis=1) > 240).mean() > 0.3  # and mostly white background, so not one flat colour
    assert fig.output_backend == "canvas"
    svg = plots.save_svg(fig, tmp_path / "logo.svg")
    text = svg.read_text()
    assert text.startswith("<svg") and 'width="300" height="120"' in text.split(">", 1)[0]
    for base, color in plots.BASE_COLORS.items():  # 20 letters: each colour on 20 glyph paths
        assert text.count('fill="rgb({},{},{})"'.format(*_rgb(color))) == 20, base
    assert fig.output_backend == "canvas"  # the figure is left as it was


def test_export_of_a_layout_keeps_its_size(tmp_path):
    from bokeh.layouts import column
    from PIL import Image

    layout = column(plots.logo_figure(torch.randn(4, 20), width=300, height=120),
                    plots.logo_figure(torch.randn(4, 20), width=300, height=100))
    with Image.open(plots.save_png(layout, tmp_path / "layout.png")) as image:
        assert image.size == (300, 220)
    assert 'height="220"' in plots.save_svg(layout, tmp_path / "layout.svg").read_text().split(">", 1)[0]


# ---- views a student can read (issue 12) --------------------------------------------------


def test_the_alphabet_is_the_encodings():
    from xai_widgets.data.encoding import ALPHABET
    from xai_widgets.plots import _common

    assert _common.BASES is ALPHABET


def test_ism_heatmap_has_a_colour_bar_on_a_stated_fixed_scale():
    from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper

    delta = torch.tensor([[0.5, -3.0], [0.0, 1.0], [0.2, 0.1], [0.0, 0.0]])
    source = ColumnDataSource(plots.heatmap_data(delta))
    own = plots.ism_heatmap_figure(source, name="own")
    bar = own.select_one({"type": ColorBar})
    assert bar.name == "own_colorbar" and bar.color_mapper is own.select_one({"type": LinearColorMapper})
    assert (bar.color_mapper.low, bar.color_mapper.high) == (-3.0, 3.0)  # the map's largest |change|
    assert "±3" in bar.title and "this map" in bar.title
    fixed = plots.ism_heatmap_figure(source, limit=1.5, fixed_by="the starting sequence", name="fixed")
    mapper = fixed.select_one({"name": "fixed_colors"})
    assert (mapper.low, mapper.high) == (-1.5, 1.5)  # -3.0 lies beyond: drawn in the darkest blue
    assert mapper.low_color != mapper.palette[0] and mapper.high_color != mapper.palette[-1]
    title = fixed.select_one({"type": ColorBar}).title
    assert "fixed at ±1.5" in title and "the starting sequence" in title
    plots.set_heatmap_scale(fixed, 0.25, fixed_by="the starting sequence")
    assert (mapper.low, mapper.high) == (-0.25, 0.25) and "±0.25" in fixed.select_one({"type": ColorBar}).title
    with pytest.raises(ValueError, match="positive"):
        plots.set_heatmap_scale(fixed, 0.0)


def test_flipper_heatmap_scale_stays_fixed_across_edits():
    from bokeh.models import ColorBar

    from xai_widgets.methods import saturation_mutagenesis
    from xai_widgets.widgets import NucleotideFlipper

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(4, 3, 5), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(3 * 36, 2)).eval()
    X = random_one_hot(1, 40, seed=3)
    flipper = NucleotideFlipper(model, X, target=1, device="cpu")
    start_limit = float(saturation_mutagenesis(model, X, target=1, device="cpu").delta.abs().max())
    mapper = flipper.figures["heatmap"].select_one({"name": "flipper_heatmap_colors"})
    assert mapper.high == pytest.approx(start_limit, rel=1e-5) and mapper.low == pytest.approx(-start_limit, rel=1e-5)
    for position in (3, 17, 30):
        flipper.flip(position)
        assert mapper.high == pytest.approx(start_limit, rel=1e-5)  # the edits did not rescale the colours
    edited_limit = float(saturation_mutagenesis(model, flipper.X, target=1, device="cpu").delta.abs().max())
    assert edited_limit != pytest.approx(start_limit, rel=1e-3)  # a rescale would have shown
    assert "the starting sequence" in flipper.figures["heatmap"].select_one({"type": ColorBar}).title
    # the panel stacks its tracks in the flipper's order
    X200 = random_one_hot(1, 50)
    panel = plots.attribution_panel(X200, torch.randn(4, 50), delta=torch.randn(4, 50), name="p")
    assert [fig.name.removeprefix("p_") for fig in panel.children] == list(flipper.figures)[:3]


def test_history_edit_axis_has_integer_ticks_and_names_undone_steps():
    from bokeh.models import BasicTicker, ColumnDataSource, NumeralTickFormatter

    data = plots.history_data([3.0, -6.0, -5.0], ["start", "knock-out 1-5", "7 A>C"], current=1)
    assert data["state"] == ["done", "done", "undone (redo)"] and list(data["alpha"]) == [1.0, 1.0, 0.3]
    fig = plots.history_figure(ColumnDataSource(data))
    ticker, formatter = fig.xaxis[0].ticker, fig.xaxis[0].formatter
    assert isinstance(ticker, BasicTicker) and ticker.min_interval == 1  # never a tick between two edits
    assert isinstance(formatter, NumeralTickFormatter) and formatter.format == "0"
    assert (fig.x_range.range_padding, fig.x_range.range_padding_units) == (0.5, "absolute")
    assert fig.x_range.bounds == (-0.5, None)  # no step -1 while only the start is drawn
    assert ("", "@state") in fig.tools[-1].tooltips


def test_motif_boxes_are_named_and_have_no_tooltip_over_the_cells():
    from bokeh.models import ColumnDataSource, HoverTool, LabelSet

    boxes = ColumnDataSource(plots.instance_data([("GABPA", 10, 20), ("SP1", 30, 38)]))
    heatmap = plots.ism_heatmap_figure(ColumnDataSource(plots.heatmap_data(torch.randn(4, 50))), name="h")
    plots.add_instance_boxes(heatmap, boxes)
    hovers = heatmap.select({"type": HoverTool})
    assert len(hovers) == 1  # only the cells' own tooltip: nothing covers the value under the pointer
    assert [field for field, _ in hovers[0].tooltips] == ["position", "to", "change"]
    assert heatmap.select_one({"type": LabelSet}) is None  # unnamed unless asked
    logo = plots.logo_figure(torch.randn(4, 50), name="l")
    plots.add_instance_boxes(logo, boxes, names=True)
    names = logo.select_one({"type": LabelSet})
    assert names.source is boxes and names.text == "motif"
    panel = plots.attribution_panel(random_one_hot(1, 50), torch.randn(4, 50), instances=[("GABPA", 10, 20)],
                                    name="q")
    labelled = [fig.name for fig in panel.children if fig.select_one({"type": LabelSet}) is not None]
    assert labelled == ["q_logo"]
    assert list(panel.children[1].select_one({"type": LabelSet}).source.data["motif"]) == ["GABPA"]


def test_sequence_letters_only_when_readable():
    from bokeh.models import ColumnDataSource, CustomJS, Range1d

    X = random_one_hot(1, 300)
    for shown, readable in ((80, True), (200, False)):
        x_range = Range1d(-0.5, shown - 0.5)
        fig = plots.sequence_figure(ColumnDataSource(plots.logo_data(X)), width=900, x_range=x_range,
                                    name=f"s{shown}")
        letters, cells = fig.select_one({"name": f"s{shown}_letters"}), fig.select_one({"name": f"s{shown}_cells"})
        assert letters.visible is readable and cells.visible is not readable
        assert (900 / shown >= plots.tracks.MIN_LETTER_PX) is readable
        callbacks = x_range.js_property_callbacks
        assert {"change:start", "change:end"} <= set(callbacks)  # zooming toggles them in the browser
        assert isinstance(callbacks["change:end"][0], CustomJS)


def test_readout_names_the_output_and_its_unit():
    assert plots.output_unit("binary") == plots.output_unit("multilabel") == "logit"
    assert plots.output_unit("regression") == "predicted value" and plots.output_unit(None) == "model output"
    text = plots.readout_html(3.08123, -6.2, output="3: GABPA", unit="logit")
    assert "<b>3: GABPA</b>" in text and "(logit)" in text and "3.0812" in text and "+9.2812" in text
    assert "1.2" in plots.readout_html(1.234, digits=1) and "1.23" not in plots.readout_html(1.234, digits=1)


def test_before_and_after_share_one_y_range():
    from bokeh.models import ColumnDataSource, DataRange1d

    before = ColumnDataSource(plots.track_data(np.array([0.0, 3.0, -1.0])))
    after = ColumnDataSource(plots.track_data(np.array([0.0, 0.5, -0.2])))
    figures = plots.before_after_figures(before, after, name="imp")
    assert figures["before"].y_range is figures["after"].y_range
    assert isinstance(figures["before"].y_range, DataRange1d)
    assert set(figures["before"].y_range.renderers) == set(figures["before"].renderers + figures["after"].renderers)
    assert figures["before"].x_range is figures["after"].x_range
    assert [f.yaxis[0].axis_label for f in figures.values()] == ["before", "after"]
    assert [f.name for f in figures.values()] == ["imp_before", "imp_after"]


def test_interaction_heatmap_cells_colour_bar_and_titles_that_fit():
    from types import SimpleNamespace

    from bokeh.models import ColorBar

    from xai_widgets.plots.interaction import KINDS, title_fits

    features = [SimpleNamespace(label=f"motif{i}:{10 * i}-{10 * i + 8}", start=10 * i, end=10 * i + 8)
                for i in range(3)]
    matrix = np.array([[np.nan, 0.5, 2.0], [0.1, np.nan, 0.0], [1.0, 0.3, np.nan]])
    data = plots.interaction_data(matrix, features)
    for row, (s, t) in enumerate((s, t) for s in range(3) for t in range(3)):
        assert data["source"][row] == features[s].label and data["target"][row] == features[t].label
        expected = matrix[s, t]
        assert data["value"][row] == (0.0 if np.isnan(expected) else expected)
        assert data["shown"][row] == ("n/a" if np.isnan(expected) else f"{expected:.4f}")
        assert (data["source_left"][row] == features[s].start - 0.5
                and data["target_right"][row] == features[t].end - 0.5)
    with pytest.raises(ValueError, match="shape"):
        plots.interaction_data(matrix[:2], features)
    fig = plots.interaction_figure(matrix, features)
    bar = fig.select_one({"type": ColorBar})
    assert (bar.color_mapper.low, bar.color_mapper.high) == (0, 2.0) and bar.title == KINDS["dfim"][1]
    hover_fields = [field for field, _ in fig.tools[-1].tooltips]
    assert hover_fields == ["source", "target", "score"]
    for n in (1, 2, 6, 12):
        for kind in KINDS:
            many = [SimpleNamespace(label=f"f{i}", start=i, end=i + 1) for i in range(n)]
            fig = plots.interaction_figure(np.zeros((n, n)), many, kind=kind)
            assert title_fits(fig.title.text, fig), (kind, n, fig.width)
    old_title = "DFIM: |change of target importance| when the source is mutated"  # was cut off at 440 px
    assert not title_fits(old_title, fig.__class__(width=440, min_border_left=110))
    with pytest.raises(ValueError, match="kind"):
        plots.interaction_figure(matrix, features, kind="epistasis")


def test_attention_panel_names_motifs_on_the_sequence_and_has_a_colour_bar():
    from bokeh.models import ColorBar, LabelSet

    X = random_one_hot(1, 60)
    panel = plots.attention_panel(X, torch.rand(60), instances=[("SP1", 5, 15)], name="a")
    named = [role for role, fig in panel.figures.items() if fig.select_one({"type": LabelSet}) is not None]
    assert named == ["sequence"]  # the ISM track may be hidden: the always-shown sequence names them
    sequence = panel.figures["sequence"]
    assert sequence.y_range.start < -0.1  # a band below the bases holds the names
    bar = panel.figures["strip"].select_one({"type": ColorBar})
    assert (bar.color_mapper is panel.figures["strip"].select_one({"name": "a_strip_colors"})
            and "attention" in bar.title)
