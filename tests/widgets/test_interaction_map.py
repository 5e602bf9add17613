"""InteractionMap through its public state and tap callback, against methods.interactions."""

import numpy as np
import pytest
import traitlets
from bokeh.events import Tap

from xai_widgets import zoo
from xai_widgets.data import cooperative_grammar
from xai_widgets.methods import dfim, mutated_importance, pairwise_ism
from xai_widgets.widgets.interaction import InteractionMap


@pytest.fixture(scope="module")
def model():
    return zoo.load("basset_relu_cooperative_grammar", device="cpu")


@pytest.fixture(scope="module")
def grammar():
    task = cooperative_grammar(n=50, random_state=3)
    return task.X[:1], task.instances.for_sequence(0)


@pytest.fixture(scope="module")
def dfim_map(model, grammar):
    X, sites = grammar
    return InteractionMap(model, X, instances=sites, n_null=2, device="cpu", progress=False)


def test_dfim_cells_are_the_dfim_scores(dfim_map, model, grammar):
    X, sites = grammar
    direct = dfim(model, X, sources=sites, n_null=2, device="cpu", random_state=0, progress=False)
    np.testing.assert_allclose(dfim_map.sources["cells"].data["value"],
                               np.nan_to_num(direct.scores.numpy().ravel()), atol=1e-5)
    labels = [f"{name}:{start}-{end}" for name, start, end, _ in sites]
    assert list(dfim_map.heatmap.x_range.factors) == labels
    assert repr(dfim_map) == "InteractionMap(model=Basset, mode='dfim', features=3, selected=None)"


def test_a_click_shows_importance_before_and_after(dfim_map, model, grammar):
    X, sites = grammar
    n = len(sites)
    source, target = 1, 2  # the cell (row 1, column 2); rows are drawn top to bottom
    dfim_map.on_cell_tap(Tap(dfim_map.heatmap, x=target + 0.5, y=n - 1 - source + 0.5))
    assert dfim_map.selected == (source, target)
    after = mutated_importance(model, X, source=sites[source], device="cpu", random_state=0)
    np.testing.assert_allclose(dfim_map.sources["after"].data["value"], after.numpy(), atol=1e-5)
    _, start, end, _ = sites[target]
    assert f"{float(after[start:end].sum()):.4f}" in dfim_map.readout.value
    assert list(dfim_map.sources["chosen"].data["left"]) == [start - 0.5]


def test_pairwise_mode(model, grammar):
    X, sites = grammar
    _, start, end, _ = sites[1]
    widget = InteractionMap(model, X, window=(start, start + 8), mode="pairwise", device="cpu", progress=False)
    direct = pairwise_ism(model, X, start=start, end=start + 8, device="cpu", progress=False)
    np.testing.assert_allclose(widget.sources["cells"].data["value"], direct.per_position.numpy().ravel(), atol=1e-5)
    widget.select(0, 3)
    assert widget.selected == (0, 3) and len(widget.sources["after"].data["value"]) == X.shape[2]


def test_bad_input(model, grammar):
    X, sites = grammar
    with pytest.raises(ValueError, match="mode must be"):
        InteractionMap(model, X, instances=sites, mode="both", device="cpu")
    with pytest.raises(ValueError, match="window"):
        InteractionMap(model, X, mode="pairwise", device="cpu")
    with pytest.raises(ValueError, match="features"):
        InteractionMap(model, X, device="cpu")


class Mirror(traitlets.HasTraits):
    selected = traitlets.Tuple(None, allow_none=True)


def test_selected_is_a_traitlet_linked_both_ways(dfim_map, model, grammar):
    X, sites = grammar
    mirror = Mirror()
    traitlets.link((dfim_map, "selected"), (mirror, "selected"))
    dfim_map.select(0, 1)  # widget -> mirror
    assert mirror.selected == (0, 1)
    mirror.selected = (2, 0)  # mirror -> widget: the after track follows
    after = mutated_importance(model, X, source=sites[2], device="cpu", random_state=0)
    np.testing.assert_allclose(dfim_map.sources["after"].data["value"], after.numpy(), atol=1e-5)
    assert list(dfim_map.sources["chosen"].data["left"]) == [sites[0][1] - 0.5]
    with pytest.raises(ValueError, match="a cell is"):
        dfim_map.selected = (0, 3)
