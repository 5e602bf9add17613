"""methods.diagnose: it flags each kind of silent failure, and passes on healthy models (issue 11, part 9)."""

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from tests.models import Reused, ScaledConv
from xai_widgets import data, methods, metrics, zoo
from xai_widgets.contract import LocalPlan
from xai_widgets.methods import deeplift, diagnostics

X = data.one_hot(["ACGTTGCAAGCTTACGGATCCATGCAGTCA"])


def _scaled_model():
    torch.manual_seed(1)
    return nn.Sequential(ScaledConv(4, 6, 7, padding=3), nn.ReLU(), nn.MaxPool1d(5), nn.Flatten(),
                         nn.Linear(36, 1)).eval()


def test_healthy_zoo_model_passes():
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    task = data.motif_presence(n=40, random_state=0)
    positives = task.X[task.y[:, 0] == 1][:3]
    result = methods.diagnose(model, positives, target=0, random_state=0)
    assert result.ok, result.summary()
    assert result.applicability["fast_ism"] == "yes" and result.fast_path["agrees"]
    assert float(result.deeplift_gap.max()) < diagnostics.GAP_TOLERANCE
    assert set(result.rank_agreement) == {"saliency", "gradient_x_input", "integrated_gradients", "deep_lift_shap"}
    assert "no problem found" in result.summary()


def test_reused_module_passes_after_the_fix_and_the_gap_check_is_independent(monkeypatch):
    model = Reused().eval()
    assert methods.diagnose(model, X, random_state=0).deeplift_gap.max() < 1e-5
    # what a wrong rule looks like (before the fix the reused ReLU gave contributions off by
    # 3.5e-3): the gap is recomputed from plain forward passes, so any such error is flagged
    real = methods.deep_lift_shap

    def off_by_a_little(*args, **kwargs):
        result = real(*args, **kwargs)
        return type(result)(**{**result.__dict__, "hypothetical": result.hypothetical + 3.5e-3 / 30})

    monkeypatch.setattr(methods, "deep_lift_shap", off_by_a_little)
    monkeypatch.setattr(deeplift, "deep_lift_shap", off_by_a_little)  # diagnose imports it from its module
    flagged = methods.diagnose(model, X, random_state=0)
    assert not flagged.ok and any("DeepLIFT" in w for w in flagged.warnings)


def test_functional_nonlinearity_is_reported_as_not_applicable():
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv, self.fc = nn.Conv1d(4, 4, 3, padding=1), nn.Linear(4, 1)

        def forward(self, x):
            return self.fc(torch.relu(self.conv(x)).mean(-1))

    result = methods.diagnose(Functional().eval(), X, random_state=0)
    assert result.applicability["deep_lift_shap"].startswith("no:") and result.deeplift_gap is None
    assert "deep_lift_shap" not in result.rank_agreement


def test_subclassed_conv_is_not_fast_and_a_permissive_plan_would_be_flagged(monkeypatch):
    model = _scaled_model()
    result = methods.diagnose(model, X, random_state=0)
    assert result.applicability["fast_ism"].startswith("no:") and result.fast_path is None
    # before the fix the layer was taken for a plain convolution: that plan is flagged
    permissive = LocalPlan([model[0], model[1], model[2]], False, lambda h: model[4](model[3](h)))
    monkeypatch.setattr(diagnostics, "local_plan", lambda m: permissive)
    flagged = methods.diagnose(model, X, random_state=0)
    assert flagged.fast_path["max_difference"] > 0.1
    assert any("fast ISM path disagrees" in w for w in flagged.warnings)


def test_a_lying_local_plan_is_flagged():
    class Lying(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(2)
            self.conv, self.fc = nn.Conv1d(4, 5, 5, padding=2), nn.Linear(5, 1)

        def forward(self, x):
            return self.fc(2.0 * torch.relu(self.conv(x)).amax(-1))

        def local_plan(self):
            return LocalPlan([self.conv, nn.ReLU()], True, self.fc)  # leaves out the gain of 2

    result = methods.diagnose(Lying().eval(), X, random_state=0)
    assert not result.fast_path["agrees"] and any("fast ISM" in w for w in result.warnings)


def test_training_mode_and_batch_statistics_are_traps():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.3),
                          nn.Flatten(), nn.Linear(120, 1))
    model.train()
    result = methods.diagnose(model, X, random_state=0)
    assert any("training mode" in w for w in result.warnings)
    assert model.training  # left as found
    model.eval()
    assert not any("training mode" in w for w in methods.diagnose(model, X, random_state=0).warnings)
    no_stats = nn.Sequential(nn.Conv1d(4, 4, 3, padding=1), nn.BatchNorm1d(4, track_running_stats=False),
                             nn.ReLU(), nn.Flatten(), nn.Linear(120, 1)).eval()
    assert any("batch norm without running statistics" in w
               for w in methods.diagnose(no_stats, X.repeat(2, 1, 1), random_state=0).warnings)


def test_non_one_hot_input_is_flagged_without_computing():
    soft = torch.softmax(torch.randn(1, 4, 30, generator=torch.Generator().manual_seed(0)), dim=1)
    result = methods.diagnose(Reused().eval(), soft, random_state=0)
    assert not result.ok and "not one-hot" in result.warnings[0] and result.applicability == {}


def test_saturation_is_flagged():
    model = nn.Sequential(nn.Flatten(), nn.Linear(120, 1), nn.Sigmoid()).eval()
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].weight[0, 0 * 30 + 15] = 30.0  # A at position 15 drives the logit to +20
        model[1].bias.fill_(-10.0)
    seq = "ACGTTGCAAGCTTACAGATCCATGCAGTCA"  # A at 15
    result = methods.diagnose(model, data.one_hot([seq]), random_state=0)
    assert result.gradient_to_ism_ratio < diagnostics.SATURATION_RATIO
    assert any("saturated" in w for w in result.warnings)
    logits = nn.Sequential(model[0], model[1]).eval()  # the same model explained on logits: no saturation
    assert not any("saturated" in w for w in methods.diagnose(logits, data.one_hot([seq]), random_state=0).warnings)


def test_real_inputs_diagnose_cleanly():
    model = Reused().eval()
    x64 = data.one_hot(["ACGTTGCAAGCTTACGGATCCATGCAGTCA"], dtype=torch.float64)
    xn = data.one_hot(["ACGTNGCAAGCTTACGGATCCATGCAGTCA"], unknown="zeros")
    for x in (x64, xn):
        result = methods.diagnose(model, x, random_state=0)
        assert result.ok, result.summary()


def test_spearman_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    b[:10] = b[0]  # ties
    assert metrics.spearman(a, b) == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)


def test_flipper_shows_the_verdict():
    from xai_widgets.widgets import NucleotideFlipper

    model = _scaled_model()
    flipper = NucleotideFlipper(model, X, target=0)
    assert flipper.diagnosis is None
    flipper.buttons["diagnose"].click()
    assert flipper.diagnosis.summary() == methods.diagnose(model, flipper.X, target=0, random_state=0).summary()
    assert "fast_ism: no:" in flipper.diagnosis_box.value and "no problem found" in flipper.diagnosis_box.value
    flipper.edit(3, "G")
    assert flipper.diagnose().summary() == methods.diagnose(model, flipper.X, target=0, random_state=0).summary()
