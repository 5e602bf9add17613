"""Fast paths only where they are exact (issue 11): layers whose computation fast ISM does not
know, hooks and lying local plans all give the numbers of plain forward passes."""

import re
import warnings

import pytest
import torch
from torch import nn

from tests.helpers import random_one_hot, randomise_batchnorm
from tests.models import DoubledReLU, DoubledSequential, LyingPlan, ScaledConv, naive_ism
from xai_widgets.contract import LocalPlan
from xai_widgets.data import one_hot
from xai_widgets.methods import (
    dfim,
    fast_ism_support,
    global_importance,
    local_plan,
    maximize_activation,
    pairwise_ism,
    saturation_mutagenesis,
    spacing_sweep,
    supports_fast_ism,
)
from xai_widgets.zoo.architectures import build

L = 30
X1 = one_hot(["ACGTTGCAAGCTTACGGATCCATGCAGTCA"])


def _head(channels=6, pool=5):
    return [nn.MaxPool1d(pool), nn.Flatten(), nn.Linear(channels * (L // pool), 1)]


def scaled_conv():
    torch.manual_seed(1)
    return nn.Sequential(ScaledConv(4, 6, 7, padding=3), nn.ReLU(), *_head()).eval()


def hooked_conv():
    torch.manual_seed(2)
    conv = nn.Conv1d(4, 6, 7, padding=3)
    conv.register_forward_hook(lambda module, inputs, out: 2 * out + 0.1)
    return nn.Sequential(conv, nn.ReLU(), *_head()).eval()


def doubled_relu():
    torch.manual_seed(3)
    return nn.Sequential(nn.Conv1d(4, 6, 7, padding=3), DoubledReLU(), *_head()).eval()


def doubled_sequential():
    torch.manual_seed(4)
    return DoubledSequential(nn.Conv1d(4, 6, 7, padding=3), nn.ReLU(), *_head()).eval()


UNKNOWN = {"scaled_conv": scaled_conv, "hooked_conv": hooked_conv, "doubled_relu": doubled_relu,
           "doubled_sequential": doubled_sequential}


# --- the reproducer and its siblings: not local, so plain forward passes -------------------------


def test_issue_reproducer_scaled_conv_equals_forward_passes():
    model = scaled_conv()
    expected = naive_ism(model, X1, 0)  # a plain loop of forward passes
    assert expected.abs().max() > 0.1
    result = saturation_mutagenesis(model, X1, device="cpu")
    torch.testing.assert_close(result.delta, expected, atol=1e-5, rtol=0)
    assert result.path == "naive"
    torch.testing.assert_close(result.delta, saturation_mutagenesis(model, X1, device="cpu", method="naive").delta)


@pytest.mark.parametrize("name", sorted(UNKNOWN))
def test_unknown_computation_is_not_local(name):
    model = UNKNOWN[name]()
    X = random_one_hot(2, L, seed=5)
    if name == "doubled_relu":  # the convolution before it stays local; the ReLU subclass joins the head
        assert fast_ism_support(model) == "yes" and [type(m) for m in local_plan(model).layers] == [nn.Conv1d]
        assert saturation_mutagenesis(model, X, device="cpu").path == "fast"
        model = nn.Sequential(*list(model)[1:2], *list(model)[:1], *list(model)[2:]).eval()  # ReLU subclass first
    support = fast_ism_support(model)
    assert support.startswith("no: ") and not supports_fast_ism(model) and local_plan(model) is None
    reasons = {"scaled_conv": "layer '0' (ScaledConv)", "hooked_conv": "forward hook",
               "doubled_relu": "layer '0' (DoubledReLU)", "doubled_sequential": "subclasses nn.Sequential"}
    assert reasons[name] in support
    result = saturation_mutagenesis(model, X, device="cpu")
    assert result.path == "naive"
    torch.testing.assert_close(result.delta, naive_ism(model, X, 0), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="the fast path does not apply.*" + re.escape(support[4:])):
        saturation_mutagenesis(model, X, device="cpu", method="fast")


@pytest.mark.parametrize("name", sorted(UNKNOWN))
def test_gia_and_interactions_on_unknown_layers_equal_forward_passes(name):
    model = UNKNOWN[name]()
    X = random_one_hot(3, L, seed=6)
    kwargs = dict(spacings=range(-6, 7, 3), device="cpu", random_state=0)
    path = "naive" if local_plan(model) is None else "fast"  # doubled_relu: the local prefix before it
    auto = spacing_sweep(model, X, motif_a="ACGTG", motif_b="TTGAC", **kwargs)
    naive = spacing_sweep(model, X, motif_a="ACGTG", motif_b="TTGAC", method="naive", **kwargs)
    assert auto.path == path
    torch.testing.assert_close(auto.per_background, naive.per_background, atol=1e-5, rtol=0, equal_nan=True)
    gi = global_importance(model, X, insertions=[("ACGTGCA", 10, "+")], device="cpu", random_state=1)
    gi_naive = global_importance(model, X, insertions=[("ACGTGCA", 10, "+")], device="cpu", random_state=1,
                                 method="naive")
    assert gi.path == path
    torch.testing.assert_close(gi.effect, gi_naive.effect, atol=1e-5, rtol=0)
    _check_interactions(model, X[:1])


def _loop_importance(model):
    """ISM importance (minus the mean effect of the three substitutions) from a plain loop."""
    return lambda V: naive_ism(model, V, 0).sum(1) * -0.25


def _check_interactions(model, x):
    pair = pairwise_ism(model, x, start=8, end=14, target=0, device="cpu", progress=False)
    singles = naive_ism(model, x, 0)[0, :, 8:14].T
    torch.testing.assert_close(pair.singles, singles, atol=1e-5, rtol=0)
    torch.testing.assert_close(pair.additive, singles[:, :, None, None] + singles[None, None], atol=1e-5, rtol=0)
    kwargs = dict(target_features=[(16, 24)], target=0, n_null=0, device="cpu", random_state=0, progress=False)
    ism = dfim(model, x, sources=[(2, 6)], **kwargs)
    loop = dfim(model, x, sources=[(2, 6)], importance=_loop_importance(model), **kwargs)
    torch.testing.assert_close(ism.scores, loop.scores, atol=1e-5, rtol=0)
    assert float(loop.scores.abs().max()) > 0  # the test can tell the two apart


def test_greedy_maximisation_on_a_scaled_conv_follows_forward_passes():
    model = scaled_conv()

    class Opaque(nn.Module):  # the same function with no plan at all
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, x):
            return self.inner(x)

    kwargs = dict(length=L, n_starts=2, search="greedy", steps=3, motif_width=6, device="cpu", random_state=0,
                  progress=False)
    ours, plain = maximize_activation(model, **kwargs), maximize_activation(Opaque(), **kwargs)
    assert torch.equal(ours.sequences, plain.sequences)
    torch.testing.assert_close(ours.trajectory, plain.trajectory)


# --- a plan that lies is caught by the self-check ------------------------------------------------


def test_a_lying_local_plan_falls_back_with_a_warning():
    torch.manual_seed(7)
    model = LyingPlan(3.0).eval()
    X = random_one_hot(2, 40, seed=8)
    assert fast_ism_support(model) == "yes"  # statically fine: only the numbers show the lie
    with pytest.warns(RuntimeWarning, match="disagrees with plain forward passes of LyingPlan.*method='naive'"):
        result = saturation_mutagenesis(model, X, target=1, device="cpu")
    assert result.path == "naive"
    torch.testing.assert_close(result.delta, naive_ism(model, X, 1), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="disagrees.*max difference"):
        saturation_mutagenesis(model, X, target=0, device="cpu", method="fast")
    kwargs = dict(spacings=range(-9, 10, 3), target=0, device="cpu", random_state=0)
    with pytest.warns(RuntimeWarning, match="disagrees"):
        auto = spacing_sweep(model, X, motif_a="ACGTG", motif_b="TTGAC", **kwargs)
    assert auto.path == "naive"
    naive = spacing_sweep(model, X, motif_a="ACGTG", motif_b="TTGAC", method="naive", **kwargs)
    torch.testing.assert_close(auto.per_background, naive.per_background, equal_nan=True)
    with pytest.raises(ValueError, match="disagrees"):
        global_importance(model, X, insertions=[("ACGTGCA", 10, "+")], target=0, device="cpu", method="fast")
    with pytest.warns(RuntimeWarning, match="disagrees"):
        _check_interactions(model, X[:1])


def test_the_check_reruns_when_parameters_change_in_place():
    torch.manual_seed(9)
    model = LyingPlan(1.0).eval()  # gain 1: the plan is right
    X = random_one_hot(2, 40, seed=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the check passes silently
        first = saturation_mutagenesis(model, X, target=0, device="cpu")
    assert first.path == "fast"
    torch.testing.assert_close(first.delta, naive_ism(model, X, 0), atol=1e-5, rtol=0)
    with torch.no_grad():
        model.gain.fill_(3.0)  # in place: a cached "agrees" must not survive this
    with pytest.warns(RuntimeWarning, match="disagrees"):
        second = saturation_mutagenesis(model, X, target=0, device="cpu")
    assert second.path == "naive"
    torch.testing.assert_close(second.delta, naive_ism(model, X, 0), atol=1e-5, rtol=0)


# --- known layers keep the fast path -------------------------------------------------------------


@pytest.mark.parametrize("architecture, config, length", [
    ("deepbind", {}, 60), ("basset", {"activation": "exp"}, 64), ("danq", {"n_filters": 8, "lstm_hidden": 4}, 64),
    ("explainn", {"n_units": 3, "input_length": 60}, 60)])
def test_zoo_models_keep_the_fast_path(architecture, config, length):
    torch.manual_seed(0)
    model = randomise_batchnorm(build(architecture, n_targets=2, **config))
    assert fast_ism_support(model) == "yes"
    X = random_one_hot(2, length, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the self-check passes silently
        result = saturation_mutagenesis(model, X, target=1, device="cpu")
        sweep = spacing_sweep(model, X, motif_a="ACGTGCA", motif_b="TTGACA", spacings=range(-6, 7, 6), target=1,
                              device="cpu", random_state=0)
    assert result.path == "fast" and sweep.path == "fast"
    torch.testing.assert_close(result.delta, naive_ism(model, X, 1), atol=1e-4, rtol=0)
    naive = spacing_sweep(model, X, motif_a="ACGTGCA", motif_b="TTGACA", spacings=range(-6, 7, 6), target=1,
                          device="cpu", random_state=0, method="naive")
    torch.testing.assert_close(sweep.per_background, naive.per_background, atol=1e-4, rtol=0, equal_nan=True)


def test_the_known_prefix_before_an_unknown_layer_stays_fast():
    torch.manual_seed(12)
    model = nn.Sequential(nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(inplace=True), ScaledConv(6, 6, 3, padding=1),
                          nn.ReLU(), *_head()).eval()
    plan = local_plan(model)
    assert [type(m) for m in plan.layers] == [nn.Conv1d, nn.ReLU]
    X = random_one_hot(2, L, seed=13)
    result = saturation_mutagenesis(model, X, device="cpu")
    assert result.path == "fast"
    torch.testing.assert_close(result.delta, naive_ism(model, X, 0), atol=1e-5, rtol=0)

    class Hooked(LyingPlan):  # a true plan whose second layer carries a hook: cut before it
        def __init__(self):
            super().__init__(1.0)
            self.act.register_forward_hook(lambda module, inputs, out: out - 0.5)

    model = Hooked().eval()
    assert len(local_plan(model).layers) == 1
    X = random_one_hot(2, 40, seed=14)
    result = saturation_mutagenesis(model, X, target=1, device="cpu")
    assert result.path == "fast"
    torch.testing.assert_close(result.delta, naive_ism(model, X, 1), atol=1e-5, rtol=0)
    kwargs = dict(spacings=range(-9, 10, 3), target=1, device="cpu", random_state=0)
    fast = spacing_sweep(model, X, motif_a="ACGTG", motif_b="TTGAC", method="fast", **kwargs)
    naive = spacing_sweep(model, X, motif_a="ACGTG", motif_b="TTGAC", method="naive", **kwargs)
    torch.testing.assert_close(fast.per_background, naive.per_background, atol=1e-5, rtol=0, equal_nan=True)


def test_in_place_activations_stay_fast_and_exact():
    torch.manual_seed(15)
    model = nn.Sequential(nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(inplace=True), nn.Conv1d(6, 6, 3, padding=1),
                          nn.ReLU(inplace=True), *_head()).eval()
    X = random_one_hot(3, L, seed=16)
    result = saturation_mutagenesis(model, X, device="cpu")
    assert result.path == "fast"
    torch.testing.assert_close(result.delta, naive_ism(model, X, 0), atol=1e-5, rtol=0)
    kwargs = dict(spacings=range(-6, 7, 2), device="cpu", random_state=0)
    fast = spacing_sweep(model, X, motif_a="ACGTG", motif_b="TTGAC", method="fast", **kwargs)
    naive = spacing_sweep(model, X, motif_a="ACGTG", motif_b="TTGAC", method="naive", **kwargs)
    torch.testing.assert_close(fast.per_background, naive.per_background, atol=1e-5, rtol=0, equal_nan=True)


def test_fast_ism_support_names_the_layer_and_the_setting():
    def support(*layers):
        return fast_ism_support(nn.Sequential(*layers, nn.Flatten(), nn.LazyLinear(1)).eval())

    assert support(nn.Conv1d(4, 4, 3, stride=2)).startswith("no: layer '0' (Conv1d) has stride 2")
    assert "integer zero padding" in support(nn.Conv1d(4, 4, 3, padding="same"))
    assert "integer zero padding" in support(nn.Conv1d(4, 4, 3, padding=1, padding_mode="circular"))
    assert "no running statistics" in support(nn.BatchNorm1d(4, track_running_stats=False), nn.Conv1d(4, 4, 3))
    assert "stride == kernel_size" in support(nn.MaxPool1d(3, stride=1), nn.Conv1d(4, 4, 3))
    # after a local layer, the same layers only end the local prefix (they run in the head)
    assert support(nn.Conv1d(4, 4, 3), nn.BatchNorm1d(4, track_running_stats=False)) == "yes"
    assert len(local_plan(nn.Sequential(nn.Conv1d(4, 4, 3), nn.MaxPool1d(3, stride=1), nn.Flatten())).layers) == 1
    assert support(nn.LSTM(4, 4)).startswith("no: layer '0' (LSTM) is not a layer fast ISM knows")
    assert support(nn.Conv1d(4, 4, 3), nn.ReLU(), nn.MaxPool1d(2), nn.Dropout()) == "yes"
    assert fast_ism_support(build("attention", n_targets=1)).startswith("no: ConvAttention has no local_plan()")

    # a plan layer outside the model keeps its own training flag (model.eval() does not reach it)
    outside = nn.BatchNorm1d(4)

    class Outside(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(4, 4, 3)

        def local_plan(self):
            return LocalPlan([self.conv, outside], True, lambda h: h[:, :1])

        def forward(self, x):
            return outside(self.conv(x)).amax(-1)[:, :1]

    assert fast_ism_support(Outside().eval()) == "yes"  # the known prefix (the convolution)
    assert len(local_plan(Outside().eval()).layers) == 1
    outside.eval()
    assert len(local_plan(Outside().eval()).layers) == 2

    handle = torch.nn.modules.module.register_module_forward_hook(lambda module, inputs, out: None)
    try:
        assert "global forward hooks" in fast_ism_support(nn.Sequential(nn.Conv1d(4, 4, 3), nn.Flatten()))
    finally:
        handle.remove()
    assert fast_ism_support(nn.Sequential(nn.Conv1d(4, 4, 3), nn.Flatten())) == "yes"
