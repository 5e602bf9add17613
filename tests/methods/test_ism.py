import pytest
import torch
from torch import nn

from tests.helpers import random_one_hot, randomise_batchnorm
from tests.models import naive_ism
from xai_widgets import zoo
from xai_widgets.data import one_hot
from xai_widgets.methods import (
    occlusion,
    predict_edits,
    saturation_mutagenesis,
    supports_fast_ism,
)
from xai_widgets.zoo.architectures import build


@pytest.mark.parametrize("architecture, config", [
    ("deepbind", {}), ("basset", {"activation": "exp"}), ("basset", {"activation": "relu", "pools": [3, 2]}),
    ("explainn", {"n_units": 5}), ("danq", {}), ("attention", {})])
def test_ism_equals_edit_by_edit_prediction(architecture, config):
    torch.manual_seed(0)
    model = randomise_batchnorm(build(architecture, n_targets=3, **config))
    length = 200 if architecture == "explainn" else 96
    X = random_one_hot(2, length)
    result = saturation_mutagenesis(model, X, target=1, device="cpu", batch_size=300,
                                    method="auto" if architecture == "attention" else "fast")
    assert result.path == ("naive" if architecture == "attention" else "fast")
    expected = naive_ism(model, X, 1)
    assert result.delta.shape == (2, 4, length)
    torch.testing.assert_close(result.delta, expected, atol=1e-4, rtol=0)
    assert result.delta.abs().max() > 1e-3  # not trivially zero


def test_fast_equals_naive_on_shipped_models_and_long_sequences():
    X = random_one_hot(2, 1000, seed=3)
    for name in ("basset_exp_motif_presence", "deepbind_motif_presence"):
        model = zoo.load(name, device="cpu")
        fast = saturation_mutagenesis(model, X, target="all", device="cpu", method="fast")
        naive = saturation_mutagenesis(model, X, target="all", device="cpu", method="naive")
        assert fast.delta.shape == (2, 12, 4, 1000)
        torch.testing.assert_close(fast.delta, naive.delta, atol=1e-4, rtol=0)
        torch.testing.assert_close(fast.prediction, naive.prediction, atol=1e-5, rtol=0)


def test_fast_ism_on_a_sequential_model_with_dilation_and_flatten():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 8, 5, padding=2), nn.ReLU(), nn.MaxPool1d(3),
                          nn.Conv1d(8, 8, 3, padding=2, dilation=2), nn.ELU(), nn.Conv1d(8, 6, 4),
                          nn.Flatten(), nn.Linear(6 * 17, 2)).eval()
    assert supports_fast_ism(model)
    X = random_one_hot(3, 61)
    fast = saturation_mutagenesis(model, X, target=0, device="cpu")
    assert fast.path == "fast"
    torch.testing.assert_close(fast.delta, naive_ism(model, X, 0), atol=1e-5, rtol=0)


def test_ism_invariants_and_forms():
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    X = random_one_hot(3, 200, seed=5)
    result = saturation_mutagenesis(model, X, target=4, device="cpu")
    assert torch.all(result.delta[X.bool()] == 0)  # the reference base changes nothing
    torch.testing.assert_close(result.centred().sum(1), torch.zeros(3, 200), atol=1e-5, rtol=0)
    attribution = result.values
    assert torch.all(attribution[~X.bool()] == 0)
    with torch.no_grad():
        torch.testing.assert_close(result.prediction, model(X)[:, 4])


def test_ism_target_none_keeps_all_outputs():
    model = zoo.load("deepbind_motif_presence", device="cpu")
    X = random_one_hot(1, 50)
    every = saturation_mutagenesis(model, X, target="all", device="cpu")
    one = saturation_mutagenesis(model, X, target=7, device="cpu")
    assert every.delta.shape == (1, 12, 4, 50) and every.prediction.shape == (1, 12)
    torch.testing.assert_close(every.delta[:, 7], one.delta)


def test_short_sequences_fall_back_to_full_maps():
    torch.manual_seed(0)
    model = randomise_batchnorm(build("basset", n_targets=1))
    X = random_one_hot(2, 24)
    torch.testing.assert_close(saturation_mutagenesis(model, X, device="cpu").delta, naive_ism(model, X, 0),
                               atol=1e-5, rtol=0)


def test_ism_errors():
    model = zoo.load("deepbind_motif_presence", device="cpu")
    X = one_hot("ACGT" * 10)
    with pytest.raises(ValueError, match="out of range"):
        saturation_mutagenesis(model, X, target=12)
    with pytest.raises(ValueError, match="method"):
        saturation_mutagenesis(model, X, method="fastest")
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        saturation_mutagenesis(model, X[0])
    with pytest.raises(ValueError, match="not one-hot"):
        saturation_mutagenesis(model, X * 2)
    attention_model = build("attention", n_targets=2)
    assert not supports_fast_ism(attention_model)
    with pytest.raises(ValueError, match="the fast path does not apply"):
        saturation_mutagenesis(attention_model, X, target=0, method="fast")

    class Bad(nn.Module):
        def forward(self, x):
            return x.sum((1, 2))  # (N,), not (N, T)

    with pytest.raises(ValueError, match=r"must map \(N, 4, L\) to \(N, T\)"):
        saturation_mutagenesis(Bad(), X)


def test_predict_edits_match_the_ism_map():
    model = zoo.load("deepbind_motif_presence", device="cpu")
    X = random_one_hot(2, 100, seed=7)
    ism = saturation_mutagenesis(model, X, target=3, device="cpu")
    edits = [(0, 5, "A"), (1, 99, "t"), (1, 0, 2)]
    delta = predict_edits(model, X, edits=edits, target=3, device="cpu")
    expected = torch.stack([ism.delta[0, 0, 5], ism.delta[1, 3, 99], ism.delta[1, 2, 0]])
    torch.testing.assert_close(delta, expected, atol=1e-5, rtol=0)
    assert predict_edits(model, X, edits=edits, target="all", device="cpu").shape == (3, 12)
    with pytest.raises(ValueError, match="out of range"):
        predict_edits(model, X, edits=[(0, 100, "A")], target=0)
    with pytest.raises(ValueError, match="out of range"):
        predict_edits(model, X, edits=[(0, 1, "N")], target=0)
    with pytest.raises(ValueError, match="empty"):
        predict_edits(model, X, edits=[], target=0)


def test_occlusion_finds_the_planted_motif():
    from xai_widgets.data import motif_presence

    task = motif_presence(n=200, random_state=9)
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    t = task.target_names.index("CEBPB")
    rows = [i for i in range(200) if task.y[i, t] == 1 and task.y[i].sum() == 1][:3]
    result = occlusion(model, task.X[rows], target=t, window=10, stride=2, random_state=0, device="cpu")
    assert result.delta.shape == (3, 96) and result.per_position().shape == (3, 200)
    for row, scores in zip(rows, result.per_position()):
        (_, start, end, _), = task.instances.for_sequence(row)
        inside = scores[start:end].mean()
        outside = torch.cat([scores[:max(start - 10, 0)], scores[end + 10:]]).mean()
        assert inside < outside - 1.0  # occluding the motif lowers the prediction most


def test_occlusion_fills_and_errors():
    model = zoo.load("deepbind_motif_presence", device="cpu")
    X = random_one_hot(1, 60)
    zeros = occlusion(model, X, target=0, window=60, fill="zeros", device="cpu")
    with torch.no_grad():
        expected = model(torch.zeros(1, 4, 60))[0, 0] - model(X)[0, 0]
    torch.testing.assert_close(zeros.delta[0, 0], expected)
    with pytest.raises(ValueError, match="fill"):
        occlusion(model, X, target=0, fill="noise")
    with pytest.raises(ValueError, match="window"):
        occlusion(model, X, target=0, window=61)


def test_motif_knockout_of_planted_sites_matches_the_truth():
    """Knocking out a planted CEBPB site lowers the CEBPB output; a non-CEBPB site barely moves it."""
    from xai_widgets.data import get_motif, motif_presence
    from xai_widgets.methods import motif_knockout

    task = motif_presence(n=300, random_state=12)
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    t = task.target_names.index("CEBPB")
    result = motif_knockout(model, task.X, sites=task.instances, target=t, random_state=0, device="cpu")
    assert len(result.sites) == len(task.instances) and result.delta.shape == (len(task.instances),)
    is_cebpb = torch.tensor([m == "CEBPB" for m in task.instances.motif])
    with torch.no_grad():
        logit = model(task.X)[:, t][torch.as_tensor(task.instances.sequence)]
    change = torch.sigmoid(logit + result.delta) - torch.sigmoid(logit)  # in probability
    assert change[is_cebpb].mean() < -0.8
    assert change[~is_cebpb].abs().mean() < 0.05
    scanned = motif_knockout(model, task.X[:20], motif=get_motif("CEBPB"), target=t, random_state=0, device="cpu")
    assert all(0 <= s < 20 for s, _, _ in scanned.sites)


def test_scan_finds_planted_consensus_on_both_strands():
    from xai_widgets.data import get_motif, reverse_complement, scan

    motif = get_motif("CEBPB")
    background = "T" * 30
    X = one_hot([background[:5] + motif.consensus + background[:15],
                 background[:12] + reverse_complement(motif.consensus) + background[:8]])
    hits = scan(X, motif, threshold=0.95)
    assert hits == [(0, 5, 15, 1), (1, 12, 22, -1)] or hits == [(0, 5, 15, 1), (1, 12, 22, 1)]
    with pytest.raises(ValueError, match="threshold"):
        scan(X, motif, threshold=0)


def test_motif_knockout_errors():
    from xai_widgets.methods import motif_knockout

    model = zoo.load("deepbind_motif_presence", device="cpu")
    X = random_one_hot(1, 50)
    with pytest.raises(ValueError, match="either sites"):
        motif_knockout(model, X)
    with pytest.raises(ValueError, match="outside"):
        motif_knockout(model, X, sites=[(0, 45, 60)], target=0)
