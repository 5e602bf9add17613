"""First-layer filters as motifs, Tomtom annotation, ablation: exact cases, oracles and ground truth."""

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers import random_one_hot
from tests.models import MotifDetector, plant
from xai_widgets import zoo
from xai_widgets.data import get_motif, read_meme, write_meme
from xai_widgets.data.motifs import jaspar_motifs
from xai_widgets.data.tasks import motif_presence
from xai_widgets.evaluation import planted_e_values, planted_motif_recovery
from xai_widgets.methods.ablation import ablate_filters, filter_importance, redundant_filters
from xai_widgets.methods.filters import filters_from_activations, filters_from_weights, unit_summaries
from xai_widgets.methods.tomtom import _benjamini_hochberg, tomtom_matches


@pytest.fixture(scope="module")
def cebpb():
    return get_motif("CEBPB")


def test_weights_that_are_log_odds_give_back_the_motif(cebpb):
    model = MotifDetector([cebpb.log_odds(pseudocount=1e-6)])  # log2 odds: softmax(ln 2 * W) = p
    (motif,) = filters_from_weights(model, beta=np.log(2))
    np.testing.assert_allclose(motif.probabilities, cebpb.probabilities, atol=1e-4)
    # the scale caveat: a larger beta sharpens the same filter
    (sharp,) = filters_from_weights(model, beta=3 * np.log(2))
    assert sharp.information_content().sum() > motif.information_content().sum() + 3


def test_activation_pwm_recovers_a_planted_motif(cebpb):
    model = MotifDetector([cebpb.log_odds()])
    X, _ = plant(cebpb)
    (motif,) = filters_from_activations(model, X, threshold=0.5, progress=False)
    assert 120 <= motif.n_sites <= 170  # most of the 150 planted sites, few chance hits
    r = np.corrcoef(motif.probabilities.ravel(), cebpb.probabilities.ravel())[0, 1]
    assert r > 0.95
    seq, start, value = motif.meta["top_sites"][0]
    assert seq < 150 and start == 20 and value == pytest.approx(motif.meta["max_activation"])


def test_tomtom_matches_a_jaspar_motif_to_itself(cebpb):
    targets = jaspar_motifs()
    (matches,) = tomtom_matches([cebpb], targets, n_best=3)
    best = matches[0]
    assert best.target_id == cebpb.matrix_id and best.target == "CEBPB"
    assert best.e_value == pytest.approx(best.p_value * len(targets)) and best.e_value < 1e-6
    assert [m.p_value for m in matches] == sorted(m.p_value for m in matches)
    (reverse,) = tomtom_matches([cebpb.reverse_complement()], targets, n_best=1)
    assert reverse[0].target_id == cebpb.matrix_id and reverse[0].strand == "-"


def test_q_values_are_benjamini_hochberg():
    from scipy.stats import false_discovery_control

    p = np.random.default_rng(0).uniform(size=(3, 50)) ** 3
    np.testing.assert_allclose(_benjamini_hochberg(p), false_discovery_control(p, axis=-1), rtol=1e-12)


def test_filters_round_trip_through_meme(cebpb, tmp_path):
    motifs = filters_from_weights(MotifDetector([cebpb.log_odds(), get_motif("SP1").log_odds()]))
    write_meme(motifs, tmp_path / "filters.meme")
    back = read_meme(tmp_path / "filters.meme")
    assert list(back) == ["filter_0", "filter_1"]
    np.testing.assert_allclose(back["filter_1"].probabilities, motifs[1].probabilities, atol=1e-5)


def test_zero_ablation_equals_removing_the_filter(cebpb):
    model = MotifDetector([cebpb.log_odds(), get_motif("SP1").log_odds()])
    X = random_one_hot(20, 50)
    result = ablate_filters(model, X, filters=[1], device="cpu")
    with torch.no_grad():
        direct = model.act1(model.conv1(X))[:, 0].amax(1)[:, None]
    torch.testing.assert_close(result.predictions, direct)
    torch.testing.assert_close(result.intact, model(X))
    mean = ablate_filters(model, X, filters=1, mode="mean", means=torch.tensor([0.0, 100.0]), device="cpu")
    assert torch.all(mean.predictions == 100.0)


def test_redundant_filters_are_found(cebpb):
    pwm = cebpb.log_odds()
    model = MotifDetector([pwm, pwm, get_motif("SP1").log_odds()], bias=-6.0)
    X, y = plant(cebpb, n=200)
    importance = filter_importance(model, X, y=y, device="cpu", progress=False)
    assert importance.drop[0] < 0.01 and importance.drop[1] < 0.01  # each alone is not needed
    pairs = redundant_filters(model, X, y=y, motifs=filters_from_weights(model), importance=importance, device="cpu")
    assert [pair.filters for pair in pairs] == [(0, 1)]
    assert pairs[0].joint_drop > 0.3


def test_unit_summaries_read_the_transparent_model():
    model = zoo.load("explainn_motif_presence", device="cpu")
    units = unit_summaries(model, progress=False)
    assert len(units) == 32 and units[0].output_weights.shape == (12,)
    torch.testing.assert_close(torch.as_tensor(units[5].output_weights, dtype=torch.float32),
                               model.output.weight[:, 5].detach())
    with pytest.raises(ValueError, match="not an ExplaiNN-style model"):
        unit_summaries(zoo.load("deepbind_motif_presence", device="cpu"))


def test_bad_arguments_are_refused(cebpb):
    model = MotifDetector([cebpb.log_odds()])
    X = random_one_hot(4, 40)
    with pytest.raises(ValueError, match="threshold"):
        filters_from_activations(model, X, threshold=0.0, progress=False)
    with pytest.raises(ValueError, match="out of range"):
        ablate_filters(model, X, filters=[3])
    with pytest.raises(ValueError, match="mode"):
        ablate_filters(model, X, filters=[0], mode="noise")
    with pytest.raises(ValueError, match="no Conv1d"):
        filters_from_weights(nn.Sequential(nn.Flatten(), nn.Linear(160, 1)))


@pytest.fixture(scope="module")
def held_out():
    task = motif_presence(random_state=0)
    return task, task.subset("test")


@pytest.mark.parametrize("name, at_least, at_most", [("basset_exp_motif_presence", 10, 12),
                                                     ("basset_relu_motif_presence", 0, 7)])
def test_filters_recover_the_planted_motifs(held_out, name, at_least, at_most):
    """Koo & Ploenzke's exponential first layer: >= 10 of 12 planted motifs matched by a filter
    (Tomtom E < 0.1 against JASPAR vertebrates); the ReLU twin, as they report, far fewer."""
    task, test = held_out
    model = zoo.load(name, device="cpu")
    motifs = filters_from_activations(model, test.X[:3000], progress=False)
    recovered = planted_motif_recovery(motifs, task.motifs)
    assert at_least <= sum(v is not None for v in recovered.values()) <= at_most
    if name.startswith("basset_exp"):
        # the most important filter matching each recovered motif ranks in the top half by ablation
        importance = filter_importance(model, test.X[:2000], y=test.y[:2000], progress=False)
        rank = np.empty(len(motifs), dtype=int)
        rank[importance.order] = np.arange(len(motifs))
        e_values = planted_e_values(motifs, task.motifs)
        for tf, found in recovered.items():
            if found is not None:
                assert rank[e_values[tf] < 0.1].min() < len(motifs) // 2, tf



def test_a_model_built_from_jaspar_motifs_reads_directly(held_out):
    """The transparent zoo model: units 0-11 are the planted JASPAR motifs (frozen); each matches
    its own matrix, and for most outputs its own motif's unit is the most predictive fixed unit."""
    task, test = held_out
    model = zoo.load("explainn_jaspar_motif_presence", device="cpu")
    units = unit_summaries(model, test.X[:2000], y=test.y[:2000], progress=False)
    e_values = planted_e_values([unit.motif for unit in units], task.motifs)
    for u, name in enumerate(task.motifs):
        assert e_values[name][u] < 0.1, (u, name, e_values[name][u])
    aurocs = np.stack([unit.contribution_auroc for unit in units[:12]])  # (fixed units, outputs)
    own = aurocs.argmax(0) == np.arange(12)
    assert own.sum() >= 10, aurocs.argmax(0)


def test_filter_importance_picks_pearson_for_regression_labels():
    import torch
    from torch import nn

    from xai_widgets.methods import filter_importance
    from xai_widgets.metrics import pearson

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 3, 5, padding=2), nn.ReLU(), nn.AdaptiveMaxPool1d(1), nn.Flatten(),
                          nn.Linear(3, 1)).eval()
    X = torch.nn.functional.one_hot(torch.randint(0, 4, (60, 40)), 4).permute(0, 2, 1).float()
    with torch.no_grad():
        y = model(X) + 0.1 * torch.randn(60, 1)
    result = filter_importance(model, X, y=y, progress=False)
    assert result.metric == "pearson"
    with torch.no_grad():
        reference = pearson(model(X)[:, 0], y[:, 0])
    assert abs(result.intact_score - reference) < 1e-5 and not np.isnan(result.drop).any()
