"""Our methods against reference implementations (captum, tangermeme) on zoo models."""

import captum.attr as captum_attr
import pytest
import tangermeme.saliency as tangermeme_saliency
import tangermeme.saturation_mutagenesis as tangermeme_ism

from tests.helpers import random_one_hot
from xai_widgets import zoo
from xai_widgets.methods import (
    gradient_x_input,
    integrated_gradients,
    saliency,
    saturation_mutagenesis,
)

MODELS = ["basset_exp_motif_presence", "deepbind_motif_presence", "explainn_motif_presence", "danq_motif_presence"]


def close(ours, reference, rtol=1e-4):
    """Equal within ``rtol`` relative to the largest reference value."""
    reference = reference.detach()
    scale = reference.abs().max().clamp_min(1e-8)
    assert float((ours - reference).abs().max() / scale) < rtol


@pytest.fixture(scope="module")
def X():
    return random_one_hot(3, 200, seed=21)


@pytest.mark.parametrize("name", MODELS)
def test_ism_equals_tangermeme(name, X):
    model = zoo.load(name, device="cpu")
    ours = saturation_mutagenesis(model, X, target=2, device="cpu")
    hypothetical = tangermeme_ism.saturation_mutagenesis(model, X, target=2, hypothetical=True, fast=False,
                                                         device="cpu", batch_size=256)
    projected = tangermeme_ism.saturation_mutagenesis(model, X, target=2, fast=False, device="cpu",
                                                      batch_size=256)
    close(ours.centred(), hypothetical)
    close(ours.values, projected)


@pytest.mark.parametrize("name", MODELS)
def test_saliency_and_gradient_x_input_equal_captum(name, X):
    model = zoo.load(name, device="cpu").eval()
    close(saliency(model, X, target=5, device="cpu").values,
          captum_attr.Saliency(model).attribute(X.clone().requires_grad_(), target=5, abs=False))
    close(gradient_x_input(model, X, target=5, device="cpu").values,
          captum_attr.InputXGradient(model).attribute(X.clone().requires_grad_(), target=5))


@pytest.mark.parametrize("name", MODELS)
def test_corrected_saliency_equals_tangermeme(name, X):
    model = zoo.load(name, device="cpu")
    reference = tangermeme_saliency.saliency(model, X, target=1, hypothetical=True, gradient_correction=True,
                                             device="cpu")
    close(saliency(model, X, target=1, correct=True, device="cpu").values, reference)


@pytest.mark.parametrize("name", MODELS[:2])
@pytest.mark.parametrize("baseline, captum_baseline", [("zeros", 0.0), ("uniform", 0.25)])
def test_integrated_gradients_equal_captum(name, baseline, captum_baseline, X):
    model = zoo.load(name, device="cpu").eval()
    ours = integrated_gradients(model, X, target=0, baseline=baseline, n_steps=50, device="cpu")
    reference = captum_attr.IntegratedGradients(model).attribute(X, baselines=captum_baseline, target=0,
                                                                 n_steps=50, method="gausslegendre")
    close(ours.values, reference)


def _with_explicit_max_pool(model, X):
    """The same model with its global max pool written as MaxPool1d + Flatten, which tangermeme
    knows (it has no rule for a custom GlobalMaxPool module)."""
    import copy

    from torch import nn

    lengths = []
    handle = model.global_pool.register_forward_hook(lambda m, i, o: lengths.append(i[0].shape[-1]))
    model(X[:1])
    handle.remove()
    twin = copy.deepcopy(model)
    twin.global_pool = nn.Sequential(nn.MaxPool1d(lengths[0]), nn.Flatten())
    return twin


@pytest.mark.parametrize("name", ["basset_exp_motif_presence", "basset_relu_motif_presence",
                                  "deepbind_motif_presence", "explainn_motif_presence"])
def test_deep_lift_shap_equals_tangermeme(name, X):
    from tangermeme.deep_lift_shap import _nonlinear
    from tangermeme.deep_lift_shap import deep_lift_shap as tangermeme_dls

    from xai_widgets.contract import Exp
    from xai_widgets.methods import deep_lift_shap

    model = zoo.load(name, device="cpu")
    ours = deep_lift_shap(model, X, target=4, n_shuffles=4, random_state=0, device="cpu")
    twin = _with_explicit_max_pool(model, X) if hasattr(model, "global_pool") and model.local_plan().global_max \
        else model
    reference = tangermeme_dls(twin, X, target=4, references=ours.references, hypothetical=True,
                               additional_nonlinear_ops={Exp: _nonlinear}, device="cpu")
    close(ours.hypothetical, reference)
    assert float(ours.convergence_delta.max()) < 1e-4
