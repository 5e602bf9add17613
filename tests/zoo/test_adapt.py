"""adapt(): every option against an expectation computed here from strings and plain loops."""

from collections import namedtuple

import numpy as np
import pytest
import torch
from torch import nn

from xai_widgets import contract, methods
from xai_widgets.adapt import AdaptedModel, adapt, profile_contribution
from xai_widgets.data import one_hot
from xai_widgets.widgets._common import target_options
from xai_widgets.zoo.published import BPNet

RNG = np.random.default_rng(0)
SEQS = ["".join(RNG.choice(list("ACGT"), 30)) for _ in range(5)]


def encode(seqs, alphabet="ACGT", channels_last=False):
    """One-hot in the model's own convention, built from the strings (independent of adapt)."""
    x = torch.tensor(np.array([[[float(base == letter) for letter in alphabet] for base in s] for s in seqs]))
    x = x.float()  # (N, L, 4)
    return x if channels_last else x.transpose(1, 2).contiguous()


def local_model(out_channels=3, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv1d(4, 8, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2), nn.Conv1d(8, 6, 3, padding=1),
                         nn.ReLU(), nn.Flatten(), nn.LazyLinear(out_channels)).eval()


class ChannelsLast(nn.Module):
    """Reads (N, L, 4)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.linear = nn.Linear(4, 2)

    def forward(self, x):
        return torch.tanh(self.linear(x)).sum(dim=1)


class Tracks(nn.Module):
    """Returns (N, 3, L') tracks."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.conv = nn.Conv1d(4, 3, 3)

    def forward(self, x):
        return self.conv(x)


Pair = namedtuple("Pair", ["first", "second"])


class Heads(nn.Module):
    """Returns several heads: a tuple, a named tuple or a dict."""

    def __init__(self, kind):
        super().__init__()
        torch.manual_seed(3)
        self.kind = kind
        self.a, self.b = nn.Conv1d(4, 2, 3), nn.Conv1d(4, 3, 3)

    def forward(self, x):
        a, b = self.a(x).mean(-1), self.b(x).amax(-1)
        return {"tuple": (a, b), "named": Pair(a, b), "dict": {"alpha": a, "beta": b}}[self.kind]


def test_alphabet_order_is_an_index_op_on_the_input():
    model = local_model()
    X = one_hot(SEQS)
    model(encode(SEQS))  # materialise the lazy layer
    adapted = adapt(model, alphabet="actg")
    assert isinstance(adapted, AdaptedModel) and adapted.alphabet == "ACTG"
    torch.testing.assert_close(adapted(X), model(encode(SEQS, "ACTG")))
    assert not torch.allclose(adapted(X), model(X))  # the permutation matters for this model


def test_channels_last_and_alphabet_together():
    model = ChannelsLast()
    expected = model(encode(SEQS, "TGCA", channels_last=True))
    torch.testing.assert_close(adapt(model, alphabet="TGCA", channels_last=True)(one_hot(SEQS)), expected)


def test_crop_and_pad_around_the_centre():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Flatten(), nn.Linear(40, 2))  # needs length 10
    adapted = adapt(model, input_length=10)
    long = one_hot(["AACCGGTTACGTAC"])  # 14: crop 2 on each side
    torch.testing.assert_close(adapted(long), model(one_hot(["CCGGTTACGT"])))
    odd = one_hot(["ACGTACGTACGTA"])  # 13: crop 1 left, 2 right
    torch.testing.assert_close(adapted(odd), model(one_hot(["CGTACGTACG"])))
    short = one_hot(["ACGTACG"])  # 7: one zero column left, two right
    padded = torch.cat([torch.zeros(1, 4, 1), short, torch.zeros(1, 4, 2)], dim=2)
    torch.testing.assert_close(adapted(short), model(padded))
    with pytest.raises(ValueError, match="length 10"):
        adapt(model, input_length=10, length_policy="error")(short)
    with pytest.raises(ValueError, match="length_policy"):
        adapt(model, input_length=10, length_policy="left")


def test_vector_output_becomes_one_column():
    model = Tracks()
    adapted = adapt(lambda_module(lambda x: model(x).sum(dim=(1, 2))))
    X = one_hot(SEQS)
    out = adapted(X)
    assert out.shape == (5, 1)
    torch.testing.assert_close(out[:, 0], torch.stack([model(X[i : i + 1]).sum() for i in range(5)]))


class lambda_module(nn.Module):  # noqa: N801 - reads like a function
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


@pytest.mark.parametrize("reduction", ["sum", "mean", ("window", 3, 9)])
def test_track_outputs_are_reduced(reduction):
    model = Tracks()
    X = one_hot(SEQS)
    out = adapt(model, reduction=reduction)(X)
    tracks = model(X).detach()  # (5, 3, 28)
    expected = torch.empty(5, 3)
    for i in range(5):
        for t in range(3):
            values = [float(tracks[i, t, j]) for j in range(tracks.shape[2])]
            if reduction == "sum":
                expected[i, t] = sum(values)
            elif reduction == "mean":
                expected[i, t] = sum(values) / len(values)
            else:
                expected[i, t] = sum(values[3:9])
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_reduction_errors_say_what_to_do():
    X = one_hot(SEQS)
    with pytest.raises(ValueError, match="reduction='sum'"):
        adapt(Tracks())(X)
    with pytest.raises(ValueError, match="leave reduction=None"):
        adapt(local_model(), reduction="sum")(X)
    with pytest.raises(ValueError, match="exceeds the output length"):
        adapt(Tracks(), reduction=("window", 20, 40))(X)
    with pytest.raises(ValueError, match="reduction must be"):
        adapt(Tracks(), reduction=("window", 5, 2))


@pytest.mark.parametrize("kind, output, column, name", [
    ("tuple", 1, "b", None), ("tuple", -2, "a", None), ("named", "second", "b", "second"), ("named", 0, "a", "first"),
    ("dict", "beta", "b", "beta"), ("dict", 0, "a", "alpha")])
def test_heads_by_index_and_name(kind, output, column, name):
    model = Heads(kind)
    X = one_hot(SEQS)
    adapted = adapt(model, output=output)
    out = adapted(X)
    expected = model.a(X).mean(-1) if column == "a" else model.b(X).amax(-1)
    torch.testing.assert_close(out, expected)
    if name is None:
        assert adapted.output_names is None
    else:
        width = expected.shape[1]
        assert adapted.output_names == tuple(f"{name}[{t}]" for t in range(width))


def test_head_errors():
    X = one_hot(SEQS)
    with pytest.raises(ValueError, match="pass output="):
        adapt(Heads("dict"))(X)
    with pytest.raises(KeyError, match="gamma"):
        adapt(Heads("dict"), output="gamma")(X)
    with pytest.raises(IndexError, match="out of range"):
        adapt(Heads("tuple"), output=2)(X)
    with pytest.raises(KeyError, match="by index"):
        adapt(Heads("tuple"), output="a")(X)
    with pytest.raises(TypeError, match="leave output=None"):
        adapt(Tracks(), output=0, reduction="sum")(X)


def test_output_names_travel_to_target_menus():
    model = local_model(out_channels=2)
    model(one_hot(SEQS))
    adapted = adapt(model, alphabet="ACTG", output_names=["dev", "hk"])
    assert adapted.output_names == ("dev", "hk")
    assert target_options(adapted, 2) == [("0: dev", 0), ("1: hk", 1)]
    with pytest.raises(ValueError, match="2 names but the adapted model gives 3"):
        adapt(local_model(out_channels=3), output_names=["dev", "hk"])(one_hot(SEQS))
    model.card = {"task": {"target_names": ["x", "y"]}}
    inherited = adapt(model, alphabet="ACTG")
    inherited(one_hot(SEQS))
    assert inherited.output_names == ("x", "y")
    assert model.card == {"task": {"target_names": ["x", "y"]}}  # the wrapped model's card is not touched


def small_bpnet():
    torch.manual_seed(5)
    model = BPNet(n_filters=6, n_layers=2, trimming=10, input_length=60).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)
    return model


def test_profile_modes_against_the_formula():
    model = small_bpnet()
    X = one_hot(["".join(RNG.choice(list("ACGT"), 60)) for _ in range(3)])
    with torch.no_grad():
        logits, counts = model(X)
    expected_profile = []
    for i in range(3):
        values = [float(v) for v in logits[i].flatten()]
        mean = sum(values) / len(values)
        weights = np.exp(np.array(values) - max(values))
        weights /= weights.sum()
        expected_profile.append(sum(w * (v - mean) for w, v in zip(weights, values)))
    expected_profile = torch.tensor(expected_profile, dtype=torch.float32)[:, None]
    both = adapt(model, profile="both")
    assert both.output_names == ("counts", "profile")
    torch.testing.assert_close(both(X), torch.cat([counts, expected_profile], dim=1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(adapt(model, profile="counts")(X), counts)
    torch.testing.assert_close(adapt(model, profile="profile")(X), expected_profile, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(profile_contribution(logits), expected_profile, rtol=1e-5, atol=1e-5)
    # the heads may be named: a dict output with the profile head under another key
    swapped = lambda_module(lambda x: {"c": model(x)[1], "p": model(x)[0]})
    torch.testing.assert_close(adapt(swapped, profile="both", output=("p", "c"))(X), both(X))


def test_profile_gradient_uses_detached_softmax_weights():
    model = small_bpnet()
    X = one_hot(["".join(RNG.choice(list("ACGT"), 60))]).requires_grad_(True)
    grad = torch.autograd.grad(adapt(model, profile="profile")(X).sum(), X)[0]
    logits = model(X)[0].flatten(1)
    centred = logits - logits.mean(dim=1, keepdim=True)
    weights = torch.tensor(np.exp(centred.detach().numpy()) / np.exp(centred.detach().numpy()).sum())
    expected = torch.autograd.grad((weights * centred).sum(), X, retain_graph=True)[0]
    torch.testing.assert_close(grad, expected, rtol=1e-4, atol=1e-6)
    full_softmax = torch.autograd.grad((torch.softmax(centred, dim=1) * centred).sum(), X)[0]
    assert not torch.allclose(grad, full_softmax, rtol=1e-3, atol=1e-5)  # detaching changes the gradient


def test_profile_option_errors():
    with pytest.raises(ValueError, match="profile must be one of"):
        adapt(small_bpnet(), profile="shape")
    with pytest.raises(ValueError, match="reduction does not apply"):
        adapt(small_bpnet(), profile="counts", reduction="sum")
    with pytest.raises(TypeError, match=r"\(profile logits, log counts\)"):
        adapt(local_model(), profile="counts")(one_hot(SEQS))
    with pytest.raises(ValueError, match="permutation"):
        adapt(local_model(), alphabet="ACGU")


def plain_ism(model, seqs):
    """ISM by plain forward passes of the wrapped model on its own encoding (ACTG strings)."""
    n, length = len(seqs), len(seqs[0])
    reference = model(encode(seqs, "ACTG"))
    delta = torch.zeros(n, reference.shape[1], 4, length)
    for i, s in enumerate(seqs):
        for j in range(length):
            for b, base in enumerate("ACGT"):
                if base != s[j]:
                    edited = encode([s[:j] + base + s[j + 1 :]], "ACTG")
                    delta[i, :, b, j] = model(edited)[0] - reference[i]
    return delta


@torch.no_grad()
def test_ism_on_an_adapted_local_model_fast_and_naive_match_plain_loops():
    model = local_model()
    model(encode(SEQS))
    adapted = adapt(model, alphabet="ACTG")
    assert methods.supports_fast_ism(adapted)
    X = one_hot(SEQS)
    fast = methods.saturation_mutagenesis(adapted, X, target="all", method="fast", device="cpu")
    naive = methods.saturation_mutagenesis(adapted, X, target="all", method="naive", device="cpu")
    assert fast.path == "fast" and naive.path == "naive"
    expected = plain_ism(model, SEQS)
    torch.testing.assert_close(naive.delta, expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fast.delta, expected, rtol=1e-4, atol=1e-5)
    # a length change is not an index op the fast path can fold in: plain forward passes then
    assert not methods.supports_fast_ism(adapt(model, alphabet="ACTG", input_length=30))
    assert not methods.supports_fast_ism(adapt(ChannelsLast()))


@torch.no_grad()
def test_fast_ism_of_an_adapted_zoo_model_with_reduction_of_heads():
    from xai_widgets import zoo

    base = zoo.load("basset_relu_motif_presence", device="cpu")
    heads = lambda_module(lambda x: {"logits": base(x), "other": -base(x)})
    heads.local_plan = lambda: base.local_plan()._replace(head=lambda h: {"logits": base.local_plan().head(h)})
    adapted = adapt(heads, output="logits")
    X = one_hot(["".join(RNG.choice(list("ACGT"), 60)) for _ in range(2)])
    fast = methods.saturation_mutagenesis(adapted, X, target=3, method="fast", device="cpu")
    naive = methods.saturation_mutagenesis(base, X, target=3, method="naive", device="cpu")
    torch.testing.assert_close(fast.delta, naive.delta, rtol=1e-4, atol=1e-5)
    assert adapted.output_names == tuple(f"logits[{t}]" for t in range(12))


def test_saliency_on_an_adapted_model_is_the_permuted_gradient():
    model = local_model()
    model(encode(SEQS))
    adapted = adapt(model, alphabet="ACTG")
    result = methods.saliency(adapted, one_hot(SEQS), target=2, device="cpu")
    x_model = encode(SEQS, "ACTG").requires_grad_(True)
    grad_model = torch.autograd.grad(model(x_model)[:, 2].sum(), x_model)[0]  # rows A, C, T, G
    expected = grad_model[:, [0, 1, 3, 2]]  # back to A, C, G, T
    torch.testing.assert_close(result.values, expected)


def test_first_conv_refuses_a_permuted_alphabet():
    model = local_model()
    assert adapt(model).first_conv is model[0]
    assert contract.first_conv(adapt(model)) is model[0]
    with pytest.warns(FutureWarning, match="contract.first_conv"):
        assert methods.first_layer(adapt(model)) is model[0]
    with pytest.raises(ValueError, match="not in ACGT order"):
        methods.filters_from_weights(adapt(model, alphabet="ACTG"))


def test_adapt_argument_errors():
    with pytest.raises(TypeError, match="nn.Module"):
        adapt(lambda x: x)
    with pytest.raises(ValueError, match="input_length"):
        adapt(local_model(), input_length=0)
    with pytest.raises(ValueError, match="output must be"):
        adapt(local_model(), output=1.5)
    with pytest.raises(ValueError, match="pair"):
        adapt(small_bpnet(), profile="both", output=0)
    with pytest.raises(ValueError, match="output_names"):
        adapt(local_model(), output_names="dev")


def test_flipper_takes_an_adapted_model_and_shows_its_output_names():
    from xai_widgets.widgets import NucleotideFlipper

    model = local_model(out_channels=2)
    model(encode(SEQS))
    adapted = adapt(model, alphabet="ACTG", output_names=["dev", "hk"])
    flipper = NucleotideFlipper(adapted, SEQS[0], target=1, device="cpu")
    assert flipper.target_dropdown.options == (("0: dev", 0), ("1: hk", 1))
    assert flipper.ism.path == "fast"
    expected = plain_ism(model, SEQS[:1])[0, 1]
    torch.testing.assert_close(flipper.ism.delta[0], expected, rtol=1e-4, atol=1e-5)
