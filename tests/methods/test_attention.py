"""Attention maps, their per-position importance, the comparison with ISM, and ground truth:
the shipped attention model attends to the planted motifs, an untrained one does not."""

import pytest
import torch

from tests.helpers import random_one_hot
from tests.models import TokenAttention
from xai_widgets import zoo
from xai_widgets.data.tasks import motif_presence
from xai_widgets.methods.attention import (
    AttentionMaps,
    attention_importance,
    attention_maps,
    attention_vs_ism,
    ism_importance,
)
from xai_widgets.methods.ism import saturation_mutagenesis
from xai_widgets.metrics import pearson, per_sequence_auroc
from xai_widgets.zoo.architectures import build

FLOOR = 0.75  # the goal; 0.89 on this draw (0.88 on a 1000-sequence draw, random_state=2)


@pytest.fixture(scope="module")
def model():
    return zoo.load("attention_motif_presence", device="cpu")


@pytest.fixture(scope="module")
def task():
    # the default aggregation was chosen on motif_presence(random_state=1), not on this draw
    return motif_presence(n=300, random_state=3)


@pytest.fixture(scope="module")
def maps(model, task):
    return attention_maps(model, task.X[:20], device="cpu")


def untrained_model(seed: int = 0):
    torch.manual_seed(seed)
    return build("attention", **zoo.model_card("attention_motif_presence")["config"]).eval()


def test_maps_have_one_row_per_query_that_sums_to_one(model, task, maps):
    assert isinstance(maps, AttentionMaps)
    assert maps.maps.shape == (20, 2, 4, 50, 50)
    assert (maps.n_layers, maps.n_heads, maps.n_tokens, maps.length) == (2, 4, 50, 200)
    assert maps.stride == 4 and maps.receptive_field == 4 + 2 * (19 // 2)
    assert maps.maps.device.type == "cpu" and maps.X is not None
    torch.testing.assert_close(maps.maps.sum(-1), torch.ones(20, 2, 4, 50))
    # batching changes nothing, and the maps are the model's own
    batched = attention_maps(model, task.X[:20], batch_size=7, device="cpu")
    torch.testing.assert_close(batched.maps, maps.maps)
    with torch.no_grad():
        torch.testing.assert_close(maps.maps[:, 1], model.forward_with_attention(task.X[:20])[1][1])


def test_importance_is_the_attention_received_per_token_spread_to_positions(maps):
    received = maps.maps.mean(dim=(1, 2)).mean(-2)  # (N, L'): mean over heads, layers, queries
    token = attention_importance(maps, spread="token")
    assert token.shape == (20, 200)
    torch.testing.assert_close(token, received.repeat_interleave(4, -1))
    torch.testing.assert_close(token.sum(-1), torch.full((20,), 4.0))  # each token sums to 1 over keys
    default = attention_importance(maps)
    assert default.shape == (20, 200)
    # position i: mean of the tokens whose receptive field [4j - 9, 4j + 13) contains it
    for i in (0, 5, 100, 199):
        tokens = [j for j in range(50) if 4 * j - 9 <= i < 4 * j + 13]
        torch.testing.assert_close(default[:, i], received[:, tokens].mean(-1))


def test_one_layer_one_head_one_query(maps):
    one = attention_importance(maps, layer=1, head=2, query=57, spread="token")
    torch.testing.assert_close(one, maps.maps[:, 1, 2, 57 // 4].repeat_interleave(4, -1))
    last = attention_importance(maps, layer=-1, head=-2, query=57, spread="token")
    torch.testing.assert_close(last, one)
    torch.testing.assert_close(attention_importance(maps, query=57, spread="token").sum(-1), torch.full((20,), 4.0))
    with pytest.raises(ValueError, match="not covered by an attention token"):
        attention_importance(maps, query=200)


def test_rollout_counts_the_residual(maps):
    a = maps.maps.mean(2)
    eye = torch.eye(50)
    expected = ((0.5 * a[:, 1] + 0.5 * eye) @ (0.5 * a[:, 0] + 0.5 * eye)).mean(-2)
    got = attention_importance(maps, rollout=True, spread="token")
    torch.testing.assert_close(got, expected.repeat_interleave(4, -1))
    first = attention_importance(maps, rollout=True, layer=0, spread="token")
    torch.testing.assert_close(first, (0.5 * a[:, 0] + 0.5 * eye).mean(-2).repeat_interleave(4, -1))


def test_a_remainder_of_positions_is_covered_only_by_receptive_fields():
    X = random_one_hot(3, 202, seed=1)
    maps = attention_maps(untrained_model(), X, device="cpu")
    assert maps.n_tokens == 50 and maps.stride == 4
    token = attention_importance(maps, spread="token")
    assert token.shape == (3, 202) and (token[:, 200:] == 0).all()
    assert (attention_importance(maps)[:, 200:] > 0).all()  # the last tokens' receptive fields reach them


def test_errors_say_what_to_do(model, maps):
    with pytest.raises(ValueError, match="target must pick one output"):
        ism_importance(model, random_one_hot(1, 200), target=None, device="cpu")
    with pytest.raises(TypeError, match="no attention_maps method.*ConvAttention"):
        attention_maps(zoo.load("basset_exp_motif_presence", device="cpu"), random_one_hot(2, 200), device="cpu")
    with pytest.raises(ValueError, match="layer 2 is out of range.*2 attention layers"):
        attention_importance(maps, layer=2)
    with pytest.raises(ValueError, match="head -5 is out of range.*4 attention heads"):
        attention_importance(maps, head=-5)
    with pytest.raises(ValueError, match="spread must be one of"):
        attention_importance(maps, spread="pool")
    with pytest.raises(TypeError, match="AttentionMaps"):
        attention_importance(maps.maps)
    with pytest.raises(ValueError, match="receptive_field must be"):
        attention_maps(model, random_one_hot(1, 200), receptive_field=2, device="cpu")


def test_any_model_with_attention_maps_works():
    maps = attention_maps(TokenAttention(), random_one_hot(2, 40), device="cpu")
    assert maps.stride == 8 and maps.receptive_field == 8
    torch.testing.assert_close(attention_importance(maps), attention_importance(maps, spread="token"))
    with pytest.raises(ValueError, match=r"must return \(N, layers, heads, L', L'\)"):
        attention_maps(TokenAttention(broken=True), random_one_hot(2, 40), device="cpu")


def test_attention_vs_ism_correlates_the_two_per_sequence(model, task):
    X = task.X[:2]
    result = attention_vs_ism(model, X, target=4, device="cpu")
    assert result.correlation.shape == (2,) and result.attention.shape == result.ism.shape == (2, 200)
    torch.testing.assert_close(result.ism, saturation_mutagenesis(model, X, target=4, device="cpu").values.sum(1).abs())
    torch.testing.assert_close(result.attention, attention_importance(attention_maps(model, X, device="cpu")))
    for r, a, i in zip(result.correlation, result.attention, result.ism):
        assert float(r) == pytest.approx(pearson(a, i))


def ground_truth_auroc(model, task) -> float:
    keep = task.mask.any(1)  # sequences with a planted instance
    importance = attention_importance(attention_maps(model, task.X[keep], device="cpu"))
    return float(per_sequence_auroc(importance, task.mask[keep]).nanmean())


def test_attention_finds_the_planted_motifs(model, task):
    assert ground_truth_auroc(model, task) >= FLOOR


def test_an_untrained_model_does_not(task):
    """The check can fail: the same architecture untrained attends at random (AUROC ~0.5)."""
    assert ground_truth_auroc(untrained_model(0), task) < 0.6
