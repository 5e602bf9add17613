import pytest
import torch

from tests.helpers import random_one_hot
from xai_widgets import zoo
from xai_widgets.data import one_hot
from xai_widgets.methods.gradients import (
    correct_gradient,
    gradient_x_input,
    integrated_gradients,
    saliency,
)
from xai_widgets.zoo.architectures import build


@pytest.fixture(scope="module")
def model():
    return zoo.load("basset_exp_motif_presence", device="cpu")


def _finite_difference(model, X, target, eps=1e-3):
    """Central differences of the output along each input coordinate (float64 model)."""
    m = model.double()
    Xd = X.double()
    grad = torch.zeros_like(Xd)
    with torch.no_grad():
        for c in range(4):
            for i in range(X.shape[2]):
                up, down = Xd.clone(), Xd.clone()
                up[:, c, i] += eps
                down[:, c, i] -= eps
                grad[:, c, i] = (m(up)[:, target] - m(down)[:, target]) / (2 * eps)
    model.float()
    return grad.float()


def test_saliency_is_the_gradient():
    torch.manual_seed(0)
    model = build("deepbind", n_targets=2, n_filters=4, filter_width=5).eval()
    X = random_one_hot(2, 20)
    result = saliency(model, X, target=1, device="cpu")
    torch.testing.assert_close(result.values, _finite_difference(model, X, 1), atol=1e-4, rtol=1e-3)
    assert result.method == "saliency" and result.target == 1


def test_correction_sums_to_zero_per_position(model):
    X = random_one_hot(3, 200)
    corrected = saliency(model, X, target=2, correct=True, device="cpu").values
    torch.testing.assert_close(corrected.sum(1), torch.zeros(3, 200), atol=1e-6, rtol=0)
    raw = saliency(model, X, target=2, device="cpu").values
    torch.testing.assert_close(corrected, correct_gradient(raw))
    assert not torch.allclose(raw.sum(1), torch.zeros(3, 200), atol=1e-6)


def test_gradient_x_input_lives_on_observed_bases(model):
    X = random_one_hot(2, 200)
    gxi = gradient_x_input(model, X, target=0, device="cpu")
    raw = saliency(model, X, target=0, device="cpu").values
    assert torch.all(gxi.values[~X.bool()] == 0)
    torch.testing.assert_close(gxi.per_position(), (raw * X).sum(1))


@pytest.mark.parametrize("baseline", ["zeros", "uniform", "shuffle"])
def test_integrated_gradients_completeness(model, baseline):
    """With enough steps the attributions add up to f(x) - f(baseline) within 1 %, on sequences
    whose prediction differs clearly from the baseline's (sequences carrying the target motif)."""
    from xai_widgets.data import motif_presence

    task = motif_presence(n=100, random_state=8)
    t = task.target_names.index("CEBPB")
    X = task.X[task.y[:, t] == 1][:2]
    ig = integrated_gradients(model, X, target=t, baseline=baseline, n_steps=512, n_baselines=2, device="cpu",
                              random_state=0)
    assert ig.completeness_gap.shape == (2,)
    assert float(ig.completeness_gap.max()) < 0.01, ig.completeness_gap
    if baseline == "zeros":
        assert torch.all(ig.values[~X.bool()] == 0)


def test_integrated_gradients_gap_shrinks_with_steps(model):
    X = random_one_hot(1, 200, seed=4)
    coarse = integrated_gradients(model, X, target=0, n_steps=2, rule="riemann_trapezoid", device="cpu")
    fine = integrated_gradients(model, X, target=0, n_steps=128, rule="riemann_trapezoid", device="cpu")
    assert float(fine.completeness_gap[0]) < float(coarse.completeness_gap[0])


def test_gradient_errors(model):
    X = one_hot("ACGT" * 50)
    with pytest.raises(ValueError, match="pass target"):
        saliency(model, X, target=None)
    with pytest.raises(TypeError, match="int"):
        saliency(model, X, target=1.5)
    with pytest.raises(ValueError, match="baseline"):
        integrated_gradients(model, X, target=0, baseline="random")
    with pytest.raises(ValueError, match="baseline tensor"):
        integrated_gradients(model, X, target=0, baseline=torch.zeros(1, 4, 10))
    with pytest.raises(ValueError, match="n_steps"):
        integrated_gradients(model, X, target=0, n_steps=1)
    with pytest.raises(ValueError, match="rule"):
        integrated_gradients(model, X, target=0, rule="simpson")
