import pytest
import torch
from torch import nn

from tests.helpers import random_one_hot
from xai_widgets import zoo
from xai_widgets._core import predict
from xai_widgets.data import GRAMMAR_RULE, cooperative_grammar, decode, get_motif, scan
from xai_widgets.methods.maximize import MaximizationResult, maximize_activation


def _filter_model(width=6, seed=0):
    """One convolutional filter and a global max: the optimum is the filter's consensus."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv1d(4, 1, width), nn.AdaptiveMaxPool1d(1), nn.Flatten()).eval()


def _filter_optimum(conv):
    weight = conv.weight.detach()[0]  # (4, w)
    return float(weight.max(0).values.sum() + conv.bias.detach()[0]), "".join("ACGT"[i] for i in weight.argmax(0))


class PairModel(nn.Module):
    """``1 [G at 3] + 0.5 [T at 8] + 2 [both]``: the maximum is 3.5."""

    def forward(self, X):
        a, c = X[:, 2, 3], X[:, 3, 8]
        return (1.0 * a + 0.5 * c + 2.0 * a * c)[:, None]


@pytest.mark.parametrize("method", ["greedy", "relaxed"])
def test_single_filter_reaches_its_consensus(method):
    model = _filter_model()
    optimum, consensus = _filter_optimum(model[0])
    r = maximize_activation(model, length=30, n_starts=4, search=method, steps=60 if method == "greedy" else 120,
                            motif_width=6, random_state=0, device="cpu", progress=False)
    assert isinstance(r, MaximizationResult)
    assert r.sequences.shape == (4, 4, 30) and torch.all(r.sequences.sum(1) == 1)
    assert abs(float(r.activations.max()) - optimum) < 1e-5
    assert r.motif.consensus == consensus
    if method == "greedy":  # a local optimum under single edits is the global one here
        torch.testing.assert_close(r.activations, torch.full((4,), optimum), atol=1e-5, rtol=0)
        assert all(consensus in s for s in decode(r.sequences))
        assert r.motif.information_content().min() > 1.99
    else:  # the relaxation may settle on a near-tie base (weights within 0.01)
        assert torch.all(r.activations > optimum - 0.01)
    assert r.windows.shape == (4, 2) and torch.all(r.windows[:, 1] == 1)
    torch.testing.assert_close(r.activations, predict(model, r.sequences, device="cpu")[:, 0])
    assert r.trajectory.shape[1] == 4 and torch.all(r.trajectory[-1] <= r.activations + 1e-6)
    if method == "greedy":
        assert torch.all(r.trajectory.diff(dim=0) >= 0)  # every accepted edit improves
        assert r.relaxed_trajectory is None and r.trajectory.shape[0] <= 61
    else:
        assert r.relaxed_trajectory.shape == (120, 4)


@pytest.mark.parametrize("method, relaxation, penalty", [
    ("greedy", "softmax", None), ("relaxed", "straight_through", "entropy"), ("relaxed", "softmax", "entropy"),
    ("relaxed", "softmax", "l2"), ("relaxed", "straight_through", None)])
def test_interaction_model_reaches_its_maximum_exactly(method, relaxation, penalty):
    r = maximize_activation(PairModel(), length=12, n_starts=3, search=method, relaxation=relaxation,
                            penalty=penalty, steps=100, motif_width=8, random_state=1, device="cpu", progress=False)
    assert torch.equal(r.activations, torch.full((3,), 3.5))
    assert all(s[3] == "G" and s[8] == "T" for s in decode(r.sequences))
    assert r.objective == "output 0" and r.best.shape == (1, 4, 12)


def test_hidden_channel_of_the_zoo_model():
    model = zoo.load("basset_relu_cooperative_grammar", device="cpu")
    channel = 12  # an Irf1-like filter whose every column has a positive best weight, so the best
    # window lies inside the sequence (not partly in the zero padding) and is the filter's consensus
    assert torch.all(model.conv1.weight[channel].max(0).values > 0)
    optimum, consensus = _filter_optimum(_conv_channel(model.conv1, channel))
    assert "ACTGAAA" in consensus
    by_name = maximize_activation(model, length=60, layer="conv1", channel=channel, n_starts=4, steps=200,
                                  motif_width=19, random_state=0, device="cpu", progress=False)
    torch.testing.assert_close(by_name.activations.max(), torch.tensor(optimum), atol=1e-4, rtol=0)
    assert (by_name.activations > optimum - 1e-4).sum() >= 3
    assert by_name.objective == "conv1[12] (max over positions)"
    assert by_name.motif.consensus == consensus
    by_module = maximize_activation(model, length=60, layer=model.conv1, channel=channel, n_starts=4, steps=200,
                                    motif_width=19, random_state=0, device="cpu", progress=False)
    assert torch.equal(by_module.sequences, by_name.sequences)
    assert all(p.requires_grad for p in model.parameters())  # restored


def _conv_channel(conv, channel):
    single = nn.Conv1d(4, 1, conv.kernel_size[0])
    with torch.no_grad():
        single.weight.copy_(conv.weight[channel : channel + 1])
        single.bias.copy_(conv.bias[channel : channel + 1])
    return single


def test_grammar_model_maximum_beats_random_and_data_and_holds_the_grammar():
    model = zoo.load("basset_relu_cooperative_grammar", device="cpu")
    r = maximize_activation(model, length=200, random_state=0, device="cpu", progress=False)
    task = cooperative_grammar(n=2000, random_state=1)
    data_best = float(predict(model, task.X, batch_size=1000, device="cpu").max())
    random_predictions = predict(model, random_one_hot(500, 200, seed=9), batch_size=500, device="cpu")[:, 0]
    assert data_best > 3.0  # the grammar (+2) with Spi1 (+1) and Irf1 (+0.5)
    assert r.activations.median() > data_best  # most starts beat the best of 2000 data sequences
    assert r.activations.max() > data_best + 2
    assert r.activations.min() > random_predictions.max() + 2  # and all of them every random one
    spi1 = scan(r.sequences, get_motif("Spi1"), threshold=0.6)
    irf1 = scan(r.sequences, get_motif("Irf1"), threshold=0.6)
    assert {h[0] for h in spi1} == {h[0] for h in irf1} == set(range(8))
    grammar = {a[0] for a in spi1 for p in irf1 if a[0] == p[0] and GRAMMAR_RULE.forms_grammar(*a[1:], *p[1:])}
    assert len(grammar) >= 6  # same strand, Irf1 4-12 bp downstream of Spi1
    assert r.trajectory[0].max() < 1.5 and r.trajectory.shape == (301, 8)
    greedy = maximize_activation(model, length=200, search="greedy", n_starts=2, steps=40, random_state=0,
                                 device="cpu", progress=False)
    assert greedy.activations.max() > data_best and torch.all(greedy.trajectory.diff(dim=0) >= 0)


def test_errors():
    model = PairModel()
    kwargs = dict(length=12, device="cpu", progress=False)
    with pytest.raises(ValueError, match="search must be one of"):
        maximize_activation(model, search="adam", **kwargs)
    with pytest.raises(ValueError, match="relaxation must be one of"):
        maximize_activation(model, relaxation="gumbel", **kwargs)
    with pytest.raises(ValueError, match="penalty must be one of"):
        maximize_activation(model, penalty="l1", **kwargs)
    with pytest.raises(ValueError, match="layer= and channel= together"):
        maximize_activation(model, channel=3, **kwargs)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        maximize_activation(model, steps=0, **kwargs)
    with pytest.raises(ValueError, match="length must be a positive integer"):
        maximize_activation(model, length=0, device="cpu")
    with pytest.raises(ValueError, match="out of range: the model has 1 output"):
        maximize_activation(model, target=2, **kwargs)
    conv = _filter_model()
    with pytest.raises(ValueError, match="not a submodule"):
        maximize_activation(conv, layer=nn.Conv1d(4, 2, 3), channel=0, length=20, device="cpu")
    with pytest.raises(ValueError, match="has no layer 'conv9'"):
        maximize_activation(conv, layer="conv9", channel=0, length=20, device="cpu")
    with pytest.raises(ValueError, match="channel 4 is out of range: the layer has 1 channels"):
        maximize_activation(conv, layer=conv[0], channel=4, length=20, device="cpu")
    with pytest.raises(ValueError, match="cannot run on sequences of length 3"):
        maximize_activation(conv, length=3, device="cpu")


def test_old_method_spelling_of_search_warns_and_still_works():
    """0.1 spelled the search ``method=``; ``method`` now chooses the edit path everywhere."""
    model = PairModel()
    kwargs = dict(length=12, n_starts=2, steps=2, device="cpu", random_state=0)
    with pytest.warns(FutureWarning, match="use search='greedy'"):
        old = maximize_activation(model, method="greedy", **kwargs)
    new = maximize_activation(model, search="greedy", **kwargs)
    assert old.search == new.search == "greedy"
    torch.testing.assert_close(old.sequences, new.sequences)
    with pytest.warns(FutureWarning, match="use .search"):
        assert new.method == "greedy"
    with pytest.raises(ValueError, match="method must be one of"):
        maximize_activation(model, method="quick", **kwargs)
