"""NucleotideFlipper driven through its public API and the callbacks a click fires; every data
source is checked against values computed directly with xai_widgets.methods and plots."""

import numpy as np
import pytest
import torch
import traitlets
from bokeh.events import Tap

from tests.helpers import random_one_hot
from tests.models import TinyRNN
from xai_widgets import zoo
from xai_widgets._core import predict
from xai_widgets.data import decode, one_hot
from xai_widgets.data.tasks import motif_presence
from xai_widgets.methods import (
    deep_lift_shap,
    get_method,
    gradient_x_input,
    integrated_gradients,
    saliency,
    saturation_mutagenesis,
)
from xai_widgets.plots import heatmap_data, logo_data
from xai_widgets.widgets import NucleotideFlipper
from xai_widgets.widgets.core import FlipperCore


@pytest.fixture(scope="module")
def model():
    return zoo.load("basset_exp_motif_presence", device="cpu")


@pytest.fixture(scope="module")
def task():
    return motif_presence(n=10, random_state=11)


@pytest.fixture
def flipper(model, task):
    return NucleotideFlipper(model, task.X[0], instances=task.instances.for_sequence(0), target=1, device="cpu")


def heatmap_tap(flipper, position, base):
    flipper.on_heatmap_tap(Tap(flipper.figures["heatmap"], x=position + 0.2, y=3 - "ACGT".index(base) - 0.3))


def sequence_tap(flipper, position):
    flipper.on_sequence_tap(Tap(flipper.figures["sequence"], x=position - 0.3, y=0.5))


def assert_sources_match(flipper, model):
    """What the widget shows equals a direct computation for its current sequence."""
    X = flipper.X
    ism = saturation_mutagenesis(model, X, target=flipper.target, device="cpu")
    np.testing.assert_allclose(flipper.sources["heatmap"].data["value"], heatmap_data(ism.delta[0])["value"],
                               atol=1e-5)
    assert flipper.sources["sequence"].data["base"] == logo_data(X)["base"]
    assert list(flipper.sources["sequence"].data["position"]) == list(logo_data(X)["position"])
    expected = float(predict(model, X)[0, flipper.target])
    assert flipper.prediction == pytest.approx(expected, abs=1e-5)
    assert f"{expected:.4f}" in flipper.readout.value
    history = flipper.sources["history"].data["prediction"]
    assert history[flipper.history.__len__() - 1] == pytest.approx(expected, abs=1e-5)


def test_initial_state_matches_direct_computation(flipper, model, task):
    assert flipper.sequence == decode(task.X[:1])[0]
    assert flipper.method == "ism" and flipper.target == 1
    ism = saturation_mutagenesis(model, task.X[:1], target=1, device="cpu")
    torch.testing.assert_close(flipper.attribution, ism.values[0])
    logo = logo_data(ism.values[0])
    assert flipper.sources["logo"].data["value"] == pytest.approx(logo["value"])
    assert flipper.sources["instances"].data["motif"] == [m for m, *_ in task.instances.for_sequence(0)]
    assert [label for label, _ in flipper.target_dropdown.options][1] == "1: CEBPB"
    assert_sources_match(flipper, model)
    assert repr(flipper) == "NucleotideFlipper(model=Basset, L=200, target=1, method='ism', edits=0)"


def test_heatmap_click_makes_that_edit(flipper, model):
    old = flipper.sequence
    target_base = "A" if old[17] != "A" else "C"
    heatmap_tap(flipper, 17, target_base)
    assert flipper.sequence == old[:17] + target_base + old[18:]
    assert flipper.history[-1].label == f"17 {old[17]}>{target_base}"
    assert_sources_match(flipper, model)
    # the heatmap cell clicked predicted exactly this change
    before = saturation_mutagenesis(model, one_hot(old), target=1, device="cpu")
    change = flipper.prediction - flipper.history[0].predictions[1].item()
    assert change == pytest.approx(float(before.delta[0, "ACGT".index(target_base), 17]), abs=1e-4)


def test_clicking_the_current_base_changes_nothing(flipper):
    heatmap_tap(flipper, 3, flipper.sequence[3])
    assert len(flipper.history) == 1


def test_sequence_click_cycles_the_base(flipper, model):
    old = flipper.sequence[40]
    sequence_tap(flipper, 40)
    assert flipper.sequence[40] == "ACGT"[("ACGT".index(old) + 1) % 4]
    assert_sources_match(flipper, model)


def test_clicks_outside_the_sequence_are_ignored(flipper):
    flipper.on_sequence_tap(Tap(flipper.figures["sequence"], x=-3.0, y=0.5))
    flipper.on_heatmap_tap(Tap(flipper.figures["heatmap"], x=500.0, y=1.0))
    assert len(flipper.history) == 1


def test_undo_redo_reset(flipper, model):
    start = flipper.sequence
    flipper.edit(5, "A" if start[5] != "A" else "G")
    once = flipper.sequence
    flipper.edit(6, "A" if start[6] != "A" else "G")
    twice = flipper.sequence
    flipper.undo()
    assert flipper.sequence == once and len(flipper.history) == 2
    assert_sources_match(flipper, model)
    flipper.redo()
    assert flipper.sequence == twice
    flipper.redo()  # nothing left to redo
    assert flipper.sequence == twice
    flipper.undo()
    flipper.undo()
    flipper.undo()  # at the start already
    assert flipper.sequence == start
    flipper.edit(9, "T" if start[9] != "T" else "C")  # a new edit drops the undone ones
    flipper.redo()
    assert len(flipper.history) == 2 and flipper.sequence[5:7] == start[5:7]
    # undone steps are faded in the history plot
    flipper.undo()
    assert list(flipper.sources["history"].data["alpha"]) == [1.0, 0.3]
    flipper.reset()
    assert flipper.sequence == start and len(flipper.history) == 1
    assert_sources_match(flipper, model)


def test_knock_out_shuffles_only_the_span_and_restore_undoes_it(flipper, model):
    start = flipper.sequence
    begin, end = flipper.span_slider.value
    assert (begin, end) != (0, 10)  # the span starts on the first planted instance
    flipper.knock_out(begin, end)
    after = flipper.sequence
    assert after[:begin] == start[:begin] and after[end:] == start[end:]
    assert after[begin:end] != start[begin:end]
    assert sorted(after[begin:end]) == sorted(start[begin:end])  # a shuffle keeps the composition
    assert flipper.history[-1].label == f"knock-out {begin}-{end}"
    assert_sources_match(flipper, model)
    flipper.restore(begin, end)
    assert flipper.sequence == start
    with pytest.raises(ValueError, match="start < end"):
        flipper.knock_out(20, 10)


def test_buttons_fire_the_same_actions(flipper):
    start = flipper.sequence
    flipper.flip(0)
    flipper.buttons["undo"].click()
    assert flipper.sequence == start
    flipper.buttons["redo"].click()
    assert flipper.sequence != start
    flipper.buttons["knock out"].click()
    assert flipper.history[-1].label.startswith("knock-out")
    flipper.buttons["reset"].click()
    assert flipper.sequence == start and len(flipper.history) == 1


@pytest.mark.parametrize("method", ["saliency", "gradient_x_input", "integrated_gradients", "deep_lift_shap"])
def test_method_selector_shows_that_methods_map(flipper, model, method):
    flipper.method_dropdown.value = method
    assert flipper.method == method
    X, options = flipper.X, get_method(method).defaults
    expected = {"saliency": lambda: saliency(model, X, target=1, device="cpu").values,
                "gradient_x_input": lambda: gradient_x_input(model, X, target=1, device="cpu").values,
                "integrated_gradients": lambda: integrated_gradients(model, X, target=1, device="cpu",
                                                                     **options).values,
                "deep_lift_shap": lambda: deep_lift_shap(model, X, target=1, device="cpu", **options).values}[method]()
    torch.testing.assert_close(flipper.attribution, expected[0], atol=1e-5, rtol=1e-4)
    assert flipper.sources["logo"].data["value"] == pytest.approx(logo_data(expected[0])["value"], abs=1e-5)


def test_target_selector_recomputes(flipper, model):
    flipper.target_dropdown.value = 5
    assert flipper.target == 5
    assert_sources_match(flipper, model)


def test_a_burst_of_clicks_ends_in_the_state_the_edits_imply(flipper, model):
    rng = np.random.default_rng(0)
    expected = list(flipper.sequence)
    for _ in range(10):
        position, base = int(rng.integers(0, 200)), "ACGT"[int(rng.integers(0, 4))]
        heatmap_tap(flipper, position, base)
        expected[position] = base
    assert flipper.sequence == "".join(expected)
    assert_sources_match(flipper, model)


def test_long_sequences_and_a_zoomed_window(model):
    X = random_one_hot(1, 2000, seed=3)
    flipper = NucleotideFlipper(model, X, target=0, device="cpu", window=150)
    x_range = flipper.figures["heatmap"].x_range
    assert (x_range.start, x_range.end) == (-0.5, 149.5) and x_range.bounds == (-0.5, 1999.5)
    flipper.edit(1500, "A" if flipper.sequence[1500] != "A" else "C")
    assert len(flipper.sources["heatmap"].data["value"]) == 8000
    assert_sources_match(flipper, model)


def test_any_model_mapping_n4l_to_nt_works():
    model = TinyRNN()
    flipper = NucleotideFlipper(model, "ACGTTGCA" * 10, target=0, device="cpu")
    assert [label for label, _ in flipper.target_dropdown.options] == ["0: output 0", "1: output 1"]
    assert "deep_lift_shap" not in flipper.available_methods
    flipper.edit(3, "A")
    assert flipper.ism.path == "naive"
    assert_sources_match(flipper, model)
    with pytest.raises(ValueError, match="deep_lift_shap does not apply to TinyRNN"):
        NucleotideFlipper(model, "ACGT" * 10, method="deep_lift_shap", device="cpu")


def test_bad_input_is_refused_with_a_message(model):
    with pytest.raises(ValueError, match="not one of A, C, G, T|unknown|N"):
        NucleotideFlipper(model, "ACGN" * 10, device="cpu")
    with pytest.raises(ValueError, match="one sequence"):
        NucleotideFlipper(model, random_one_hot(2, 50), device="cpu")
    with pytest.raises(ValueError, match="method must be one of"):
        NucleotideFlipper(model, "ACGT" * 10, method="shap", device="cpu")
    with pytest.raises(ValueError, match="out of range"):
        NucleotideFlipper(model, "ACGT" * 10, target=12, device="cpu")
    flipper = NucleotideFlipper(model, "ACGT" * 10, target=0, device="cpu")
    with pytest.raises(ValueError, match="outside the sequence"):
        flipper.edit(40, "A")
    with pytest.raises(ValueError, match="base must be"):
        flipper.edit(0, "N")


class Mirror(traitlets.HasTraits):
    """Another HasTraits object to link a widget's state to."""

    sequence = traitlets.Unicode()
    target = traitlets.Int()
    method = traitlets.Unicode()
    span = traitlets.Tuple()


def test_settable_state_is_traitlets_linked_both_ways(flipper, model):
    mirror = Mirror()
    for name in ("sequence", "target", "method", "span"):
        traitlets.link((flipper, name), (mirror, name))
    assert (mirror.sequence, mirror.target, mirror.method) == (flipper.sequence, 1, "ism")
    # widget -> mirror: a click edits, the linked sequence follows
    old = flipper.sequence
    sequence_tap(flipper, 5)
    assert mirror.sequence == flipper.sequence != old and flipper.history[-1].label.startswith("5 ")
    # mirror -> widget: setting the trait is one edit, and the figures show it
    edited = "A" * 10 + flipper.sequence[10:]
    mirror.sequence = edited
    assert flipper.sequence == edited and flipper.history[-1].label == "set"
    assert_sources_match(flipper, model)
    mirror.target = 0
    assert flipper.target == 0 and flipper.target_dropdown.value == 0
    assert_sources_match(flipper, model)
    mirror.method = "saliency"
    assert flipper.method_dropdown.value == "saliency"
    expected = saliency(model, flipper.X, target=0, device="cpu").values[0]
    torch.testing.assert_close(flipper.attribution, expected)
    assert flipper.sources["logo"].data["value"] == pytest.approx(logo_data(expected)["value"])
    mirror.span = (20, 30)
    assert flipper.span_slider.value == (20, 30)
    flipper.buttons["knock out"].click()
    assert flipper.history[-1].label == "knock-out 20-30" and mirror.sequence == flipper.sequence
    with pytest.raises(ValueError, match="length"):
        flipper.sequence = "ACGT"


def test_the_core_runs_without_a_view_and_target_follows_the_one_rule(model):
    core = FlipperCore(model, one_hot("ACGT" * 25), target=1, device="cpu")
    assert core.edit(0, "C") and not core.edit(0, "C")
    ism = saturation_mutagenesis(model, core.X, target=1, device="cpu")
    _, values = core.compute()
    torch.testing.assert_close(values, ism.values[0])
    assert core.undo() and core.sequence.startswith("ACGT") and not core.undo()
    with pytest.raises(ValueError, match="pass target"):
        FlipperCore(model, one_hot("ACGT" * 25), device="cpu")
    with pytest.raises(ValueError, match="pass target"):
        NucleotideFlipper(model, "ACGT" * 25, device="cpu")
    assert FlipperCore(TinyRNN(), one_hot("ACGT" * 5), target="1", device="cpu").target == 1


def test_the_visible_window_comes_first_and_the_rest_completes_it(model, monkeypatch):
    """ISM of a window, a wider window (only its new positions computed), then the rest: the
    result equals a fresh computation, and no position is computed twice."""
    import xai_widgets.widgets.core.flipper as core_module

    calls = []

    def spy(*args, positions, **kwargs):
        calls.append(sorted(torch.as_tensor(positions).tolist()))
        return saturation_mutagenesis_at(*args, positions=positions, **kwargs)

    saturation_mutagenesis_at = core_module.mutagenesis_at
    monkeypatch.setattr(core_module, "mutagenesis_at", spy)
    core = FlipperCore(model, random_one_hot(1, 300, seed=4), target=2, device="cpu")
    core.edit(100, "A" if core.sequence[100] != "A" else "G")
    delta, values = core.window_maps(90, 130)
    fresh = saturation_mutagenesis(model, core.X, target=2, device="cpu")
    torch.testing.assert_close(delta, fresh.delta[0, :, 90:130], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(values, fresh.values[0, :, 90:130], atol=1e-5, rtol=1e-4)
    core.ism_at(110, 160)
    ism, attribution = core.compute()
    assert calls == [list(range(90, 130)), list(range(130, 160)), list(range(90)) + list(range(160, 300))]
    torch.testing.assert_close(ism.delta, fresh.delta, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ism.prediction, fresh.prediction)
    torch.testing.assert_close(attribution, fresh.values[0], atol=1e-5, rtol=1e-4)
    # memoised: after undo and redo, a window of the state is a slice of its whole result
    core.undo()
    core.compute()  # the start state: saturation_mutagenesis, no window
    core.redo()
    assert core.has_result("ism")
    torch.testing.assert_close(core.window_maps(0, 10)[0], fresh.delta[0, :, :10], atol=1e-5, rtol=1e-4)
    assert len(calls) == 3
    # a partial result of another sequence is not reused
    core.ism_at(0, 20)
    core.edit(5, "A" if core.sequence[5] != "A" else "C")
    ism, _ = core.compute()
    torch.testing.assert_close(ism.delta, saturation_mutagenesis(model, core.X, target=2, device="cpu").delta,
                               atol=1e-5, rtol=1e-4)


def test_a_zoomed_flipper_shows_the_window_then_the_rest_in_deferred_chunks(model):
    X = random_one_hot(1, 400, seed=6)
    flipper = NucleotideFlipper(model, X, target=3, device="cpu", window=40)
    assert flipper.visible_span() == (0, 48)  # the 40 visible positions and a margin of 8
    pending, delays = [], []
    flipper.defer = lambda delay, f, *args: (pending.append((f, args)), delays.append(delay))
    flipper.flush_seconds = 0  # send the heatmap after every deferred span
    before = np.array(flipper.sources["heatmap"].data["value"]).reshape(4, 400)
    sequence_tap(flipper, 20)
    # the edited sequence and the window's heatmap and logo are shown; the rest still shows the old values
    fresh = saturation_mutagenesis(model, flipper.X, target=3, device="cpu")
    shown = np.array(flipper.sources["heatmap"].data["value"]).reshape(4, 400)
    np.testing.assert_allclose(shown[:, :48], fresh.delta[0, :, :48], atol=1e-5)
    np.testing.assert_array_equal(shown[:, 48:], before[:, 48:])
    window_logo = logo_data(fresh.values[0, :, :48])
    logo = flipper.sources["logo"].data
    rows = [i for i, p in enumerate(logo["position"]) if p < 48]
    assert [logo["base"][i] for i in rows] == window_logo["base"]
    np.testing.assert_allclose([logo["value"][i] for i in rows], window_logo["value"], atol=1e-5)
    assert len(pending) == 1 and delays == [flipper.rest_delay]
    # while an edit waits for the lock (on another thread), a step only reschedules itself
    flipper._waiting = 1
    f, args = pending.pop()
    f(*args)
    assert pending == [(f, args)]
    np.testing.assert_array_equal(np.array(flipper.sources["heatmap"].data["value"]).reshape(4, 400)[:, 48:],
                                  before[:, 48:])
    flipper._waiting = 0
    # one chunk, then a click: the old chain stops, the new one ends in the new state
    f, args = pending.pop()
    f(*args)
    np.testing.assert_allclose(np.array(flipper.sources["heatmap"].data["value"]).reshape(4, 400)[:, 48:96],
                               fresh.delta[0, :, 48:96], atol=1e-5)
    stale = pending.pop()
    heatmap_tap(flipper, 30, "A" if flipper.sequence[30] != "A" else "T")
    stale[0](*stale[1])
    assert len(pending) == 1  # the stale chain added nothing
    while pending:
        f, args = pending.pop()
        f(*args)
    assert_sources_match(flipper, model)
    # reading the maps while deferred steps are pending completes them at once; the steps then stop
    sequence_tap(flipper, 10)
    assert len(pending) == 1
    torch.testing.assert_close(flipper.ism.delta, saturation_mutagenesis(model, flipper.X, target=3,
                                                                         device="cpu").delta, atol=1e-5, rtol=1e-4)
    assert_sources_match(flipper, model)
    f, args = pending.pop()
    f(*args)
    assert not pending
    np.testing.assert_allclose(flipper.attribution, saturation_mutagenesis(
        model, flipper.X, target=3, device="cpu").values[0], atol=1e-5)
    from bokeh.models import LinearColorMapper  # the colour scale stays fixed at the starting sequence's

    start = saturation_mutagenesis(model, flipper.core.original, target=3, device="cpu").delta
    mapper = flipper.figures["heatmap"].select_one({"type": LinearColorMapper})
    assert mapper.high == pytest.approx(float(start.abs().max()), rel=1e-5)


def test_the_view_delegates_to_its_core(flipper):
    """The view does not re-declare its core's state or edits (issue 21): each is the core's,
    read through or wrapped (lock, then redraw). The view's own: the traitlets ``sequence``,
    ``target`` and ``method`` (settable state the core validates), ``ism`` and ``attribution``
    (which first finish deferred drawing) and ``diagnose`` (which shows the verdict)."""
    import inspect

    view = vars(NucleotideFlipper)
    core_names = {n for n in set(vars(FlipperCore)) | set(vars(flipper.core)) if not n.startswith(("_", "check_"))}
    own = {n for n in core_names & (set(view) | set(vars(flipper)))
           if n in vars(flipper) or (inspect.unwrap(view[n]) is not vars(FlipperCore).get(n)
                                     and type(view[n]).__name__ != "_FromCore")}
    # traitlets (the view's settable state, validated by the core), and the three that add view work
    assert own == {"sequence", "target", "method", "ism", "attribution", "diagnose"}, own
    for name in ("model", "device", "original", "X", "history", "prediction", "diagnosis", "available_methods",
                 "method_options"):
        assert getattr(flipper, name) is getattr(flipper.core, name) or getattr(flipper, name) == getattr(flipper.core,
                                                                                                        name)
    with pytest.raises(AttributeError, match="the core's state"):
        flipper.X = flipper.X
    for name in ("edit", "flip", "knock_out", "restore", "undo", "redo", "reset"):
        assert inspect.signature(getattr(flipper, name)) == inspect.signature(getattr(flipper.core, name)), name
        assert getattr(NucleotideFlipper, name).__doc__ == getattr(FlipperCore, name).__doc__
    assert flipper.edit(3, flipper.sequence[3]) is False  # no edit: the core says so, nothing redrawn
    assert flipper.edit(3, "A" if flipper.sequence[3] != "A" else "C") is True and flipper.core.cursor == 1
    assert flipper.undo() is True and flipper.undo() is False
