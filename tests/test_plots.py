"""The Bokeh plot layer: data builders checked value by value, figures, export, INLINE resources."""

import os
import shutil

import numpy as np
import pytest
import torch

from xai_widgets import plots
from xai_widgets.plots.logo import LETTER_WIDTH

from .helpers import random_one_hot


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


@pytest.fixture(scope="module")
def can_export():
    missing = [tool for tool in ("chromium", "chromedriver") if shutil.which(tool) is None]
    if missing:
        message = f"figure export needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def test_export_png_and_svg(tmp_path, can_export):
    fig = plots.logo_figure(torch.randn(4, 20), width=300, height=120)
    png = plots.save_png(fig, tmp_path / "logo.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plots.save_svg(fig, tmp_path / "logo.svg")
    text = svg.read_text()
    assert "<svg" in text and "path" in text
