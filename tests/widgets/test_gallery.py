"""FilterGallery through its public state and the tap callback, checked against methods.filters."""

import numpy as np
import pytest
import torch
import traitlets
from bokeh.events import Tap

from xai_widgets import zoo
from xai_widgets.data import motif_presence
from xai_widgets.methods import ablate_filters
from xai_widgets.metrics import mean_metric
from xai_widgets.widgets import FilterGallery


@pytest.fixture(scope="module")
def model():
    return zoo.load("basset_exp_motif_presence", device="cpu")


@pytest.fixture(scope="module")
def test_split():
    return motif_presence(n=2000, random_state=4).subset("test")


@pytest.fixture
def gallery(model, test_split):
    return FilterGallery(model, test_split, target=0, sequences=[0, 3], n_motif=400, n_eval=400, device="cpu",
                         progress=False)


def tile_center(gallery, f):
    tiles = gallery.sources["tiles"].data
    i = list(tiles["filter"]).index(f)
    return (tiles["left"][i] + tiles["right"][i]) / 2, (tiles["bottom"][i] + tiles["top"][i]) / 2


def expected_auroc(model, test_split, filters):
    X, y = test_split.X[:400], test_split.y[:400]
    return mean_metric(ablate_filters(model, X, filters=filters, device="cpu").predictions, y, metric="auroc")


def test_tiles_are_sorted_by_importance_and_labelled(gallery):
    assert list(gallery.sources["tiles"].data["filter"]) == gallery.order
    drops = gallery.importance.drop[gallery.order]
    assert all(a >= b for a, b in zip(drops, drops[1:]))
    label = gallery.sources["tiles"].data["label"][0]
    assert label.startswith(f"f{gallery.order[0]} ") and "IC" in label and "n=" in label
    assert repr(gallery) == "FilterGallery(model=Basset, filters=64, ablated=[])"


def test_tapping_a_tile_ablates_that_filter(gallery, model, test_split):
    f = gallery.order[0]
    x, y = tile_center(gallery, f)
    gallery.on_gallery_tap(Tap(gallery.figure, x=x, y=y))
    assert gallery.ablated == (f,) and gallery.focus == f
    assert gallery.auroc == pytest.approx(expected_auroc(model, test_split, [f]), abs=1e-9)
    assert f"{gallery.auroc:.4f}" in gallery.readout.value
    fills = dict(zip(gallery.sources["tiles"].data["filter"], gallery.sources["tiles"].data["fill"]))
    assert fills[f] != fills[gallery.order[1]]
    direct = ablate_filters(model, test_split.X[[0, 3]], filters=[f], device="cpu").predictions
    torch.testing.assert_close(gallery.predictions, direct)
    assert f"filter {f}</b>" in gallery.details.value and "JASPAR match" in gallery.details.value
    gallery.on_gallery_tap(Tap(gallery.figure, x=x, y=y))  # a second click restores it
    assert gallery.ablated == () and gallery.auroc == pytest.approx(gallery.importance.intact_score)


def test_clicks_between_tiles_do_nothing(gallery):
    gallery.on_gallery_tap(Tap(gallery.figure, x=-50.0, y=-50.0))
    assert gallery.ablated == () and gallery.focus is None


def test_keep_only_and_reset(gallery, model, test_split):
    keep = gallery.order[:3]
    gallery.keep_only(keep)
    assert set(gallery.ablated) == set(range(64)) - set(keep)
    assert gallery.auroc == pytest.approx(expected_auroc(model, test_split, gallery.ablated), abs=1e-9)
    assert gallery.auroc < gallery.importance.intact_score - 0.1
    gallery.toggle(keep[0])
    gallery.buttons["keep only focused"].click()
    assert gallery.ablated == tuple(f for f in range(64) if f != keep[0])
    gallery.buttons["reset"].click()
    assert gallery.ablated == () and gallery.focus is None


def test_the_analysis_is_computed_once(model, test_split, gallery, monkeypatch):
    from xai_widgets.widgets.core import gallery as module

    monkeypatch.setattr(module, "filters_from_activations", lambda *a, **k: pytest.fail("recomputed"))
    again = FilterGallery(model, test_split, target=0, sequences=[0, 3], n_motif=400, n_eval=400, device="cpu",
                          progress=False)
    assert again.motifs is gallery.motifs


def test_mean_ablation_and_errors(model, test_split):
    g = FilterGallery(model, (test_split.X[:300], test_split.y[:300]), target=0, sequences=[1], n_motif=300, n_eval=300,
                      mode="mean", device="cpu", progress=False)
    g.toggle(g.order[0])
    direct = ablate_filters(model, test_split.X[[1]], filters=[g.order[0]], mode="mean", means=g.core.means,
                            device="cpu")
    torch.testing.assert_close(g.predictions, direct.predictions)
    with pytest.raises(ValueError, match="filter must be an index"):
        g.toggle(64)
    with pytest.raises(ValueError, match="sequences must index"):
        FilterGallery(model, test_split, target=0, sequences=[10_000], device="cpu", progress=False)
    with pytest.raises(ValueError, match="different lengths"):
        FilterGallery(model, (test_split.X[:10], np.zeros(9)), target=0, device="cpu", progress=False)


class Mirror(traitlets.HasTraits):
    target = traitlets.Int()
    ablated = traitlets.Tuple()
    focus = traitlets.Int(None, allow_none=True)


def test_settable_state_is_traitlets_linked_both_ways(gallery, model, test_split):
    mirror = Mirror()
    for name in ("target", "ablated", "focus"):
        traitlets.link((gallery, name), (mirror, name))
    f, g = gallery.order[:2]
    gallery.toggle(f)  # widget -> mirror
    assert (mirror.ablated, mirror.focus) == ((f,), f)
    mirror.ablated = (g, f)  # mirror -> widget: sorted, evaluated, drawn
    assert gallery.ablated == tuple(sorted((f, g)))
    assert gallery.auroc == pytest.approx(expected_auroc(model, test_split, [f, g]), abs=1e-9)
    fills = dict(zip(gallery.sources["tiles"].data["filter"], gallery.sources["tiles"].data["fill"]))
    assert fills[g] == "#e8a0a0" and fills[gallery.order[2]] == "#ffffff"
    mirror.target = 1
    assert gallery.target_dropdown.value == 1
    direct = ablate_filters(model, test_split.X[[0, 3]], filters=[f, g], device="cpu").predictions
    assert f"{float(direct[0, 1]):+.3f}" in gallery.readout.value
    with pytest.raises(ValueError, match="filter must be an index"):
        gallery.ablated = (64,)


def test_target_follows_the_one_rule_and_the_cache_is_bounded_by_content(model, test_split, gallery):
    from xai_widgets.widgets.core.gallery import ANALYSES

    with pytest.raises(ValueError, match="pass target"):
        FilterGallery(model, test_split, sequences=[0, 3], n_motif=400, n_eval=400, device="cpu", progress=False)
    # a copy of the model (another object, the same weights) reuses the analysis; changed weights do not
    twin = zoo.load("basset_exp_motif_presence", device="cpu")
    assert FilterGallery(twin, test_split, target=0, sequences=[0, 3], n_motif=400, n_eval=400, device="cpu",
                         progress=False).motifs is gallery.motifs
    with torch.no_grad():
        next(twin.parameters()).mul_(1.5)
    other = FilterGallery(twin, test_split, target=0, sequences=[0], n_motif=300, n_eval=300, device="cpu",
                          progress=False)
    assert other.motifs is not gallery.motifs and len(ANALYSES) <= ANALYSES.maxsize
