"""Attributions recover the planted motifs (Koo & Ploenzke 2021 set-up, issue floors)."""

import pytest
import torch

from xai_widgets import zoo
from xai_widgets.methods import integrated_gradients, saliency, saturation_mutagenesis
from xai_widgets.metrics import per_sequence_auroc
from xai_widgets.zoo.specs import ZOO_SPECS, spec_task

N_POSITIVES = 500
FLOOR = 0.88


@pytest.fixture(scope="module")
def positives():
    task = spec_task(ZOO_SPECS["basset_exp_attribution_benchmark"]).subset("test")
    rows = torch.nonzero(task.y[:, 0] == 1).flatten()[:N_POSITIVES]
    assert len(rows) == N_POSITIVES
    return task.X[rows], task.mask[rows]


@pytest.fixture(scope="module")
def model():
    return zoo.load("basset_exp_attribution_benchmark", device="cpu")


def mean_auroc(per_position: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean per-sequence AUROC of |attribution| per position against the planted mask."""
    return float(per_sequence_auroc(per_position.abs(), mask).nanmean())


def test_ism_finds_planted_motifs(model, positives):
    X, mask = positives
    assert mean_auroc(saturation_mutagenesis(model, X, device="cpu").values.sum(1), mask) >= FLOOR


def test_corrected_saliency_finds_planted_motifs(model, positives):
    X, mask = positives
    assert mean_auroc(saliency(model, X, correct=True, device="cpu").per_position(), mask) >= FLOOR


def test_integrated_gradients_find_planted_motifs(model, positives):
    X, mask = positives
    ig = integrated_gradients(model, X, baseline="shuffle", n_baselines=20, n_steps=8, device="cpu", random_state=0)
    assert mean_auroc(ig.per_position(), mask) >= FLOOR


def test_a_random_model_does_not(positives):
    """The check can fail: an untrained model's attributions are far from the floor."""
    from xai_widgets.zoo.architectures import build

    torch.manual_seed(0)
    X, mask = positives
    untrained = build("basset", n_targets=1, activation="exp")
    assert mean_auroc(saliency(untrained, X, correct=True, device="cpu").per_position(), mask) < 0.7


def test_deep_shap_finds_planted_motifs(model, positives):
    from xai_widgets.methods import deep_lift_shap

    X, mask = positives
    result = deep_lift_shap(model, X, n_shuffles=5, random_state=0, device="cpu", batch_size=250)
    assert mean_auroc(result.per_position(), mask) >= FLOOR
