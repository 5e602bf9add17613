"""SpacingSweep through its public state and the tap callback, against methods.gia directly."""

import numpy as np
import pytest
import torch
import traitlets
from bokeh.events import Tap

from xai_widgets import zoo
from xai_widgets.data import backgrounds
from xai_widgets.methods import saturation_mutagenesis, spacing_sweep
from xai_widgets.widgets.core import SweepCore
from xai_widgets.widgets.sweep import SpacingSweep, resolve_motif


@pytest.fixture(scope="module")
def model():
    return zoo.load("basset_relu_cooperative_grammar", device="cpu")


@pytest.fixture(scope="module")
def sweep(model):
    widget = SpacingSweep(model, spacings=(-15, 15), n_backgrounds=40, target=0, device="cpu", run=False)
    widget.run(wait=True)
    return widget


def test_the_curve_is_the_sweep_computed_directly(sweep, model):
    assert sweep.status == "done"
    bgs = backgrounds(40, 200, random_state=0)
    direct = spacing_sweep(model, bgs, motif_a=resolve_motif("Spi1"), motif_b=resolve_motif("Irf1"),
                           spacings=range(-15, 16), orientations=("+-",), device="cpu", random_state=0)
    np.testing.assert_allclose(sweep.sources["sweep"].data["effect_+-"], direct.effect[0].numpy(), atol=1e-5)
    assert list(sweep.sources["sweep"].data["spacing"]) == list(range(-15, 16))


def test_the_peak_is_the_planted_grammar(sweep):
    orientation, spacing = sweep.peak
    assert orientation in ("++", "--") and 4 <= spacing <= 12
    assert f"{orientation} at {spacing}" in sweep.readout.value


def test_a_click_shows_an_example_with_both_motifs(sweep, model):
    sweep.on_sweep_tap(Tap(sweep.figures["sweep"], x=8.3, y=0.0))
    example = sweep.example
    assert example["spacing"] == 8
    (name_a, start_a, end_a, _), (name_b, start_b, end_b, _) = example["sites"]
    assert (name_a, name_b) == ("Spi1", "Irf1")
    gap = start_b - end_a if example["orientation"][0] == "+" else start_a - end_b
    assert gap == 8
    ism = saturation_mutagenesis(model, example["X"], target=0, device="cpu")
    values = ism.values[0].numpy()
    positions, bases = sweep.sources["example"].data["position"], sweep.sources["example"].data["base"]
    np.testing.assert_allclose(sweep.sources["example"].data["value"],
                               [values["ACGT".index(b), p] for p, b in zip(positions, bases)], atol=1e-6)
    assert list(sweep.sources["sites"].data["motif"]) == ["Spi1", "Irf1"]


def test_cancel_keeps_the_widget_usable(model):
    widget = SpacingSweep(model, spacings=(-5, 5), n_backgrounds=20, target=0, device="cpu", run=False)
    widget.cancel()  # nothing running: harmless
    widget._cancel.set()
    thread_settings = widget._settings()
    widget._sweep(*thread_settings)  # a cancelled run draws nothing
    widget._drain()  # what the worker posted, applied on this (the kernel's) thread
    assert widget.status == "cancelled" and widget.result is None
    assert not widget.run_button.disabled and widget.cancel_button.disabled
    widget.run(wait=True)
    assert widget.status == "done" and widget.result is not None


def test_bad_settings_are_refused(model):
    widget = SpacingSweep(model, target=0, device="cpu", run=False)
    widget.motif_a_box.value = "NOT_A_MOTIF_NAME"
    with pytest.raises(ValueError, match="unknown motif"):
        widget.run()
    widget.motif_a_box.value = "Spi1"
    for box in widget.orientation_boxes.values():
        box.value = False
    with pytest.raises(ValueError, match="orientation"):
        widget.run()
    with pytest.raises(ValueError, match="length"):
        SpacingSweep(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(1)), run=False)
    assert repr(widget) == "SpacingSweep(model=Basset, A='Spi1', B='Irf1', status='idle')"


def test_the_worker_thread_leaves_widget_state_to_the_kernel_thread(model):
    widget = SpacingSweep(model, spacings=(-3, 3), n_backgrounds=10, target=0, device="cpu", run=False)
    widget.run()
    widget._thread.join()  # the sweep is computed, but nothing has been handed over yet
    assert widget.status == "running" and widget.progress.value == 0
    assert len(widget.sources["sweep"].data["spacing"]) == 0 and widget.run_button.disabled
    widget.wait()  # hands the results over on this thread
    assert widget.status == "done" and widget.progress.value == widget.progress.max == 4
    assert list(widget.sources["sweep"].data["spacing"]) == list(range(-3, 4)) and not widget.run_button.disabled


def test_the_plot_ranges_follow_the_curve_and_a_click_shows_an_example(model):
    widget = SpacingSweep(model, spacings=(-3, 3), n_backgrounds=10, target=0, device="cpu", run=False)
    figure, example = widget.figures["sweep"], widget.figures["example"]
    # empty state: the spacings to sweep on x (BokehJS cannot derive ranges from an empty curve)
    assert (figure.x_range.start, figure.x_range.end) == (-3.5, 3.5) and example.title.text.startswith("click")
    # ... and no example letters, over the sequence's positions
    assert len(widget.sources["example"].data["position"]) == 0
    assert (example.x_range.start, example.x_range.end) == (-0.5, widget.length - 0.5)
    widget.run(wait=True)
    curves = np.concatenate([np.asarray(v, dtype=float) for k, v in widget.sources["sweep"].data.items()
                             if k != "spacing"])
    curves = curves[np.isfinite(curves)]
    assert (figure.x_range.start, figure.x_range.end) == (-3.5, 3.5)
    assert figure.y_range.start < curves.min() and figure.y_range.end > curves.max()
    widget.on_sweep_tap(Tap(figure, x=1.2, y=0.0))
    assert widget.example["spacing"] == 1 and "at spacing 1" in example.title.text
    # the example's y range holds every letter (each spans bottom .. bottom + value)
    letters = widget.sources["example"].data
    bottoms, tops = np.asarray(letters["bottom"]), np.asarray(letters["bottom"]) + np.asarray(letters["value"])
    assert len(bottoms) > 0
    assert (example.y_range.start < min(bottoms.min(), tops.min())
            and example.y_range.end > max(bottoms.max(), tops.max()))


class Mirror(traitlets.HasTraits):
    motif_a = traitlets.Unicode()
    motif_b = traitlets.Unicode()
    orientations = traitlets.Tuple()
    spacings = traitlets.Tuple()
    n_backgrounds = traitlets.Int()
    spacing = traitlets.Int(None, allow_none=True)
    status = traitlets.Unicode()


def test_settable_state_is_traitlets_linked_both_ways(model):
    widget = SpacingSweep(model, spacings=(-3, 3), n_backgrounds=10, device="cpu", run=False)
    mirror = Mirror()
    for name in ("motif_a", "motif_b", "orientations", "spacings", "n_backgrounds", "spacing", "status"):
        traitlets.link((widget, name), (mirror, name))
    widget.motif_b_box.value = "CEBPB"  # widget -> mirror
    widget.orientation_boxes["+-"].value = False
    assert mirror.motif_b == "CEBPB" and mirror.orientations == ("++", "-+", "--")
    # mirror -> widget: the controls follow, and the next sweep uses them
    mirror.motif_b, mirror.orientations, mirror.spacings, mirror.n_backgrounds = "Irf1", ("++",), (-2, 2), 20
    assert widget.motif_b_box.value == "Irf1" and widget.spacing_slider.value == (-2, 2)
    assert [o for o, box in widget.orientation_boxes.items() if box.value] == ["++"]
    widget.run(wait=True)
    assert mirror.status == "done"
    direct = spacing_sweep(model, backgrounds(20, 200, random_state=0), motif_a=resolve_motif("Spi1"),
                           motif_b=resolve_motif("Irf1"),
                           spacings=range(-2, 3), orientations=("++",), device="cpu", random_state=0)
    np.testing.assert_allclose(widget.sources["sweep"].data["effect_++"], direct.effect[0].numpy(), atol=1e-5)
    assert np.isnan(widget.sources["sweep"].data["effect_--"]).all()
    mirror.spacing = 1  # the example shown follows the trait
    assert widget.example["spacing"] == 1 and "at spacing 1" in widget.figures["example"].title.text
    with pytest.raises(ValueError, match="orientations must be among"):
        widget.orientations = ("+x",)


def test_the_core_sweeps_without_a_view_or_a_thread(model):
    core = SweepCore(model, device="cpu")
    settings = core.settings("Spi1", "Irf1", ("--",), (0, 2), 10)
    blocks = []
    parts = core.sweep(*settings, on_block=blocks.append)
    assert blocks == [1] and list(parts[0].spacings) == [0, 1, 2]
    assert core.sweep(*settings, cancelled=lambda: True) is None
