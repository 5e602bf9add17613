"""Methods on the two published zoo models (DeepSTARR, BPNet CTCF) against independent oracles:
tangermeme's and bpnet-lite's DeepLIFT/DeepSHAP on the same references, plain loops of forward
passes for fast ISM."""

import warnings

import pytest
import tangermeme.deep_lift_shap as tangermeme_dls
import torch

from tests.helpers import REALDATA, random_one_hot
from tests.models import naive_ism
from xai_widgets import data, zoo
from xai_widgets.adapt import adapt
from xai_widgets.contract import Residual, fast_ism_support
from xai_widgets.data import dinucleotide_shuffle
from xai_widgets.methods import deep_lift_shap, saturation_mutagenesis
from xai_widgets.methods._engine import decide
from xai_widgets.methods._engine.windows import WindowEngine
from xai_widgets.zoo.published import BPNet, DeepSTARR

REALDATA = REALDATA


@pytest.fixture(scope="module")
def fly():
    return data.fly_enhancers().X


@pytest.fixture(scope="module")
def deepstarr():
    return zoo.load("deepstarr", device="cpu")


@pytest.fixture(scope="module")
def bpnet():
    return zoo.load("bpnet_ctcf", device="cpu")


def tangermeme_hypothetical(model, X, target, references, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tangermeme warns when its own summation fails
        return tangermeme_dls.deep_lift_shap(model, X, target=target, references=references, hypothetical=True,
                                             device="cpu", batch_size=16, **kw)


# --- DeepLIFT / DeepSHAP --------------------------------------------------------------------

@pytest.mark.parametrize("target", [0, 1])
def test_deeplift_deepstarr_equals_tangermeme(deepstarr, fly, target):
    X = fly[:4]
    references = dinucleotide_shuffle(X, 6, random_state=1)
    ours = deep_lift_shap(deepstarr, X, target=target, references=references, device="cpu")
    assert ours.convergence_delta.max() < 1e-4 and ours.gap.abs().max() < 1e-4
    expected = tangermeme_hypothetical(deepstarr, X, target, references)
    torch.testing.assert_close(ours.hypothetical, expected, rtol=0, atol=1e-5)
    # contributions add up to f(x) - mean f(r), checked with plain forward passes
    with torch.no_grad():
        change = deepstarr(X)[:, target] - deepstarr(references.flatten(0, 1)).view(4, 6, 2)[..., target].mean(1)
    torch.testing.assert_close(ours.values.sum((1, 2)), change, rtol=0, atol=1e-4)


def test_deeplift_on_the_adapted_raw_deepstarr(deepstarr, fly):
    """The authors' ACTG weights through the adapter give the same attributions as the shipped model."""
    raw = DeepSTARR()
    raw.load_state_dict(torch.load(REALDATA / "deepstarr" / "deepstarr_keras_port_ACTG.pth", map_location="cpu",
                                   weights_only=True))
    X = fly[4:6]
    references = dinucleotide_shuffle(X, 5, random_state=2)
    ours = deep_lift_shap(adapt(raw, alphabet="ACTG"), X, target=1, references=references, device="cpu")
    shipped = deep_lift_shap(deepstarr, X, target=1, references=references, device="cpu")
    assert ours.convergence_delta.max() < 1e-4
    torch.testing.assert_close(ours.hypothetical, shipped.hypothetical, rtol=0, atol=1e-5)


@pytest.fixture(scope="module")
def bpnet_oracle():
    import bpnetlite  # noqa: F401  (test dependency: unpickling the original model needs it)

    model = torch.load(REALDATA / "bpnet_ctcf" / "bpnet_ctcf_k562.full_model.torch", map_location="cpu",
                       weights_only=False)
    return model.eval()


@pytest.mark.parametrize("target, wrapper", [(0, "CountWrapper"), (1, "ProfileWrapper")])
def test_deeplift_bpnet_equals_bpnet_lite(bpnet, bpnet_oracle, target, wrapper):
    """Counts and profile heads against bpnet-lite's DeepLIFT (tangermeme with its rule for the
    profile scaling) on the original model; the profile head's rule is what makes it add up."""
    import bpnetlite.attribute
    import bpnetlite.bpnet

    X = random_one_hot(1, 2114, seed=5)
    references = dinucleotide_shuffle(X, 3, random_state=3)
    ours = deep_lift_shap(bpnet, X, target=target, references=references, device="cpu")
    assert ours.convergence_delta.max() < 1e-4 and ours.gap.abs().max() < 1e-4
    oracle = getattr(bpnetlite.bpnet, wrapper)(bpnet_oracle)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = bpnetlite.attribute.deep_lift_shap(oracle, X, references=references, hypothetical=True,
                                                      device="cpu", batch_size=8)
    torch.testing.assert_close(ours.hypothetical, expected, rtol=0, atol=1e-5)


def test_profile_head_needs_its_rule(bpnet):
    """Without a rule for the profile scaling (treated as linear, as plain tangermeme does) the
    summation fails by far more than the tolerance: the rule is what the test above checks."""
    X = random_one_hot(1, 2114, seed=5)
    references = dinucleotide_shuffle(X, 2, random_state=3)
    with pytest.warns(RuntimeWarning, match="Convergence deltas"):
        tangermeme_dls.deep_lift_shap(bpnet, X, target=1, references=references, hypothetical=True, device="cpu")


# --- fast ISM -------------------------------------------------------------------------------



def test_fast_ism_deepstarr_equals_plain_loop(deepstarr, fly):
    X = fly[:2]
    ours = saturation_mutagenesis(deepstarr, X, target="all", method="fast", device="cpu")
    assert ours.path == "fast"
    torch.testing.assert_close(ours.delta, naive_ism(deepstarr, X, "all"), rtol=0, atol=1e-5)


def test_fast_ism_on_a_small_bpnet_equals_plain_loop():
    """Residual blocks, the joined profile/counts conv and cropping, on every edit of short inputs."""
    torch.manual_seed(0)
    raw = BPNet(n_filters=8, n_layers=3, iconv_width=7, fconv_width=9, trimming=20, input_length=120).eval()
    for module in raw.modules():  # larger weights than the init, so the residual paths matter
        if isinstance(module, torch.nn.Conv1d):
            torch.nn.init.normal_(module.weight, std=0.3)
    model = adapt(raw, profile="both")
    assert fast_ism_support(model) == "yes"
    X = random_one_hot(2, 120, seed=4)
    ours = saturation_mutagenesis(model, X, target="all", method="fast", device="cpu")
    assert ours.path == "fast"
    torch.testing.assert_close(ours.delta, naive_ism(model, X, "all"), rtol=0, atol=1e-5)


def test_fast_ism_engine_on_bpnet_ctcf_equals_forward_passes(bpnet):
    """The published BPNet at 2,114 bp: edits at both ends and in the middle, both outputs."""
    X = random_one_hot(1, 2114, seed=6)
    plan = decide(bpnet, X, torch.device("cpu"), n_edits=1, method="fast").plan
    assert plan is not None and any(isinstance(layer, Residual) for layer in plan.layers)
    pos = torch.cat([torch.arange(0, 12), torch.arange(1050, 1062), torch.arange(2102, 2114)]).repeat_interleave(3)
    base = (X[0].argmax(0)[pos] + torch.arange(len(pos)) % 3 + 1) % 4
    seq = torch.zeros(len(pos), dtype=torch.long)
    with torch.no_grad():
        fast = WindowEngine(plan, X).edit_substitutions(seq, pos, base)
        edited = X.repeat(len(pos), 1, 1)
        edited[torch.arange(len(pos)), :, pos] = 0
        edited[torch.arange(len(pos)), base, pos] = 1
        expected = bpnet(edited)
    torch.testing.assert_close(fast, expected, rtol=0, atol=1e-5)


def test_residual_body_must_keep_the_length():
    good = torch.nn.Sequential(Residual(torch.nn.Conv1d(4, 4, 3, padding=2, dilation=2), torch.nn.ReLU()))
    assert fast_ism_support(good) == "yes"
    bad = torch.nn.Sequential(Residual(torch.nn.Conv1d(4, 4, 3, padding=0)))
    assert "changes the length" in fast_ism_support(bad)
    pooled = torch.nn.Sequential(Residual(torch.nn.MaxPool1d(2)))
    assert "changes the length" in fast_ism_support(pooled)
