"""AttentionOverlay driven through its public state and the callbacks a click fires; the strip,
ISM track and query marker are checked against direct calls of the methods."""

import numpy as np
import pytest
import torch
import traitlets
from bokeh.events import DoubleTap, Tap

from tests.helpers import random_one_hot
from xai_widgets import zoo
from xai_widgets.data.tasks import motif_presence
from xai_widgets.methods.attention import attention_importance, attention_maps, ism_importance
from xai_widgets.plots import track_data
from xai_widgets.plots.attention import attention_panel, heat_strip_data
from xai_widgets.widgets.attention import AttentionOverlay


@pytest.fixture(scope="module")
def model():
    return zoo.load("attention_motif_presence", device="cpu")


@pytest.fixture(scope="module")
def task():
    return motif_presence(n=10, random_state=11)


@pytest.fixture
def overlay(model, task):
    return AttentionOverlay(model, task.X[0], instances=task.instances.for_sequence(0), target=10, device="cpu")


def tap(overlay, position, figure="sequence", event=Tap):
    overlay.on_sequence_tap(event(overlay.figures[figure], x=position - 0.3, y=0.5))


def assert_strip_matches(overlay, model, task):
    """The strip shows attention_importance of attention_maps for the widget's current state."""
    maps = attention_maps(model, task.X[:1], device="cpu")
    expected = attention_importance(maps, layer=overlay.layer, head=overlay.head, query=overlay.query_position)[0]
    torch.testing.assert_close(overlay.attention, expected)
    np.testing.assert_allclose(overlay.sources["strip"].data["value"], expected.numpy(), rtol=1e-6)
    assert list(overlay.sources["strip"].data["position"]) == list(range(200))
    peak = int(expected.argmax())
    assert f"max attention {float(expected[peak]):.3f} at {peak}" in overlay.readout.value
    assert overlay._strip_colors.high == pytest.approx(float(expected.max()))


def test_initial_state_is_the_attention_received(overlay, model, task):
    torch.testing.assert_close(overlay.maps.maps, attention_maps(model, task.X[:1], device="cpu").maps)
    assert (overlay.query_position, overlay.layer, overlay.head, overlay.show_ism) == (None, None, None, False)
    assert_strip_matches(overlay, model, task)
    assert overlay.readout.value.startswith("attention received (mean over queries) · layer mean · head mean")
    assert "xw-attention-readout" in overlay.readout._dom_classes
    assert overlay.sources["query"].data["left"] == []
    assert overlay.sources["instances"].data["motif"] == [m for m, *_ in task.instances.for_sequence(0)]
    assert overlay.ism_importance is None and not overlay.figures["ism"].visible
    assert repr(overlay) == ("AttentionOverlay(model=ConvAttention, L=200, layers=2, heads=4, target=10, "
                             "query=None, layer=None, head=None)")


def test_names_for_browser_tests(overlay):
    assert {role: fig.name for role, fig in overlay.figures.items()} == {
        "sequence": "attention_sequence", "strip": "attention_strip", "ism": "attention_ism"}
    assert overlay.sources["strip"].name == "attention_strip_source"
    assert overlay.sources["query"].name == "attention_query_source"


def test_a_click_on_the_sequence_makes_the_query(overlay, model, task):
    tap(overlay, 57)
    assert overlay.query_position == 57
    assert_strip_matches(overlay, model, task)
    assert overlay.readout.value.startswith("query 57 · layer mean · head mean")
    assert overlay.sources["query"].data == {"left": [55.5], "right": [59.5], "position": [57]}  # token 14
    tap(overlay, 120, figure="strip", event=DoubleTap)  # a fast second click, on the strip
    assert overlay.query_position == 120
    assert_strip_matches(overlay, model, task)


def test_clicks_outside_the_sequence_are_ignored(overlay):
    tap(overlay, 30)
    tap(overlay, -4)
    tap(overlay, 260)
    assert overlay.query_position == 30


def test_clear_returns_to_the_attention_received(overlay, model, task):
    tap(overlay, 30)
    overlay.clear_button.click()
    assert overlay.query_position is None and overlay.sources["query"].data["left"] == []
    assert_strip_matches(overlay, model, task)


def test_layer_and_head_dropdowns(overlay, model, task):
    tap(overlay, 80)
    overlay.layer_dropdown.value = 1
    overlay.head_dropdown.value = 2
    assert (overlay.layer, overlay.head) == (1, 2)
    assert overlay.readout.value.startswith("query 80 · layer 1 · head 2")
    assert_strip_matches(overlay, model, task)
    overlay.layer_dropdown.value = "mean"
    assert overlay.layer is None
    assert_strip_matches(overlay, model, task)
    # setting the state moves the dropdowns; negative indices count from the end
    overlay.head = -1
    assert overlay.head == 3 and overlay.head_dropdown.value == 3
    assert_strip_matches(overlay, model, task)
    assert [label for label, _ in overlay.layer_dropdown.options] == ["layer 0", "layer 1", "all layers (mean)"]
    assert [label for label, _ in overlay.head_dropdown.options][-1] == "mean of heads"


def test_ism_toggle_shows_the_ism_importance(overlay, model, task):
    overlay.ism_toggle.value = True
    assert overlay.show_ism and overlay.figures["ism"].visible
    expected = ism_importance(model, task.X[:1], target=10, device="cpu")[0]
    torch.testing.assert_close(overlay.ism_importance, expected)
    np.testing.assert_allclose(overlay.sources["ism"].data["value"], expected.numpy(), rtol=1e-6)
    assert "r with |ISM| (10)" in overlay.readout.value
    # an explicit y range (BokehJS cannot derive one while the track is hidden) holding every bar
    low, high = overlay.figures["ism"].y_range.start, overlay.figures["ism"].y_range.end
    assert low <= 0 and low < expected.min().item() and high > expected.max().item()
    overlay.show_ism = False
    assert not overlay.ism_toggle.value and not overlay.figures["ism"].visible


def test_a_burst_of_clicks_ends_on_the_last_one(overlay, model, task):
    rng = np.random.default_rng(0)
    positions = rng.integers(0, 200, size=12).tolist()
    for p in positions:
        tap(overlay, p, event=Tap if p % 2 else DoubleTap)
    assert overlay.query_position == positions[-1]
    assert_strip_matches(overlay, model, task)


def test_default_target_follows_the_one_rule(model, task):
    # issue 12: target=None is the only output; this model has 12, so it must be named
    # (it used to default to the top prediction)
    with pytest.raises(ValueError, match="pass target"):
        AttentionOverlay(model, task.X[1], device="cpu")


class Mirror(traitlets.HasTraits):
    query_position = traitlets.Int(None, allow_none=True)
    layer = traitlets.Int(None, allow_none=True)
    head = traitlets.Int(None, allow_none=True)
    show_ism = traitlets.Bool(False)
    target = traitlets.Int()


def test_settable_state_is_traitlets_linked_both_ways(overlay, model, task):
    mirror = Mirror()
    for name in ("query_position", "layer", "head", "show_ism", "target"):
        traitlets.link((overlay, name), (mirror, name))
    assert mirror.target == 10
    tap(overlay, 57)  # widget -> mirror
    assert mirror.query_position == 57
    mirror.layer, mirror.head = 1, 2  # mirror -> widget, and the strip follows
    assert (overlay.layer_dropdown.value, overlay.head_dropdown.value) == (1, 2)
    assert_strip_matches(overlay, model, task)
    mirror.show_ism, mirror.target = True, 3
    assert overlay.target_dropdown.value == 3
    expected = ism_importance(model, task.X[:1], target=3, device="cpu")[0]
    np.testing.assert_allclose(overlay.sources["ism"].data["value"], track_data(expected)["value"], atol=1e-6)


def test_bad_input_is_refused_with_a_message(model, overlay):
    with pytest.raises(TypeError, match="no attention_maps method"):
        AttentionOverlay(zoo.load("basset_exp_motif_presence", device="cpu"), "ACGT" * 50, device="cpu")
    with pytest.raises(ValueError, match="out of range"):
        AttentionOverlay(model, "ACGT" * 50, target=12, device="cpu")
    with pytest.raises(ValueError, match="one sequence"):
        AttentionOverlay(model, random_one_hot(2, 200), device="cpu")
    with pytest.raises(ValueError, match="layer 2 is out of range"):
        overlay.layer = 2
    with pytest.raises(ValueError, match="not covered by an attention token"):
        overlay.query_position = 200
    assert overlay.layer is None and overlay.query_position is None


def test_static_panel_draws_the_same_columns(task):
    attention = torch.rand(200)
    panel = attention_panel(task.X[0], attention, ism=torch.rand(200), query=9, stride=4)
    assert panel.figures["ism"].visible
    assert panel.layout.children == [panel.figures[role] for role in ("strip", "sequence", "ism")]
    np.testing.assert_allclose(panel.sources["strip"].data["value"], heat_strip_data(attention)["value"])
    assert panel.sources["query"].data["left"] == [7.5]
    with pytest.raises(ValueError, match="positions but X has"):
        attention_panel(task.X[0], torch.rand(150))
