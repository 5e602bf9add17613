import pytest
import torch

from tests.helpers import random_one_hot
from xai_widgets import zoo
from xai_widgets.methods import deep_lift_shap, supports_deeplift
from xai_widgets.zoo.architectures import build


def test_contributions_sum_to_output_difference():
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    X = random_one_hot(2, 200, seed=1)
    result = deep_lift_shap(model, X, target=0, n_shuffles=6, random_state=1, device="cpu")
    assert result.hypothetical.shape == (2, 4, 200) and result.references.shape == (2, 6, 4, 200)
    with torch.no_grad():
        f_x = model(X)[:, 0]
        f_r = model(result.references.flatten(0, 1))[:, 0].view(2, 6)
    torch.testing.assert_close(result.per_position().sum(1), f_x - f_r.mean(1), atol=1e-4, rtol=1e-4)
    assert torch.all(result.values[~X.bool()] == 0)


def test_same_seed_same_references():
    model = zoo.load("deepbind_motif_presence", device="cpu")
    X = random_one_hot(1, 100)
    a = deep_lift_shap(model, X, target=0, n_shuffles=3, random_state=5, device="cpu")
    b = deep_lift_shap(model, X, target=0, n_shuffles=3, random_state=5, device="cpu")
    assert torch.equal(a.hypothetical, b.hypothetical)


def test_unsupported_models_raise_instead_of_answering_wrongly():
    X = random_one_hot(1, 200)
    for architecture in ("danq", "attention"):
        model = build(architecture, n_targets=1)
        assert not supports_deeplift(model)
        with pytest.raises(ValueError, match="DeepLIFT has no rule"):
            deep_lift_shap(model, X)
    assert supports_deeplift(build("basset", n_targets=1))


def test_reference_shape_errors():
    model = zoo.load("deepbind_motif_presence", device="cpu")
    X = random_one_hot(2, 100)
    with pytest.raises(ValueError, match=r"references must have shape"):
        deep_lift_shap(model, X, target=0, references=torch.zeros(2, 4, 100))


def test_capabilities_say_what_applies_and_why_not():
    from xai_widgets.methods import capabilities

    cnn = capabilities(zoo.load("basset_exp_motif_presence", device="cpu"))
    assert set(cnn.values()) == {"yes"}
    rnn = capabilities(zoo.load("danq_motif_presence", device="cpu"))
    assert rnn["fast_ism"] == "yes"  # its convolutional part; the LSTM head runs in full
    assert "LSTM" in rnn["deep_lift_shap"] and rnn["integrated_gradients"] == "yes"
    attention = capabilities(zoo.load("attention_motif_presence", device="cpu"))
    assert attention["fast_ism"].startswith("no:") and attention["deep_lift_shap"].startswith("no:")
