"""Inputs as real data produce them, and models left as they were found (issue 11, parts 3-5, 7).

Every expected value is computed independently of the method under test: plain loops of forward
passes, closed-form windows, or counts made here.
"""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from xai_widgets import data, methods
from xai_widgets._core import MEMORY_BUDGET_BYTES, predict, resolve_batch_size

SEQ = "ACGTTGCAAGCTTACGGATCCATGCAGTCA"


def _model(seed=0, length=30):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(6 * length, 2)).eval()


def _ism_loop(model, X, target):
    """delta[n, b, i] = f(X with base b at i)[target] - f(X)[target], one forward pass per edit."""
    n, _, length = X.shape
    with torch.no_grad():
        ref = model(X)[:, target]
        out = torch.zeros(n, 4, length, dtype=ref.dtype)
        for s in range(n):
            for i in range(length):
                for b in range(4):
                    edited = X[s : s + 1].clone()
                    edited[0, :, i] = 0
                    edited[0, b, i] = 1
                    out[s, b, i] = model(edited)[0, target] - ref[s]
    return out


# --- 3. dtype ------------------------------------------------------------------------------------

def test_float64_sequences_work_with_a_float32_model():
    model, X64 = _model(), data.one_hot([SEQ], dtype=torch.float64)
    expected = _ism_loop(model, X64.float(), 1)
    ism = methods.saturation_mutagenesis(model, X64, target=1)
    torch.testing.assert_close(ism.delta, expected, atol=1e-5, rtol=1e-4)
    for method in (methods.saliency, methods.gradient_x_input, methods.integrated_gradients):
        torch.testing.assert_close(method(model, X64, target=1).values, method(model, X64.float(), target=1).values)
    assert methods.occlusion(model, X64, target=1, window=5).delta.shape == (1, 26)
    assert predict(model, X64).dtype == torch.float32


def test_float32_sequences_work_with_a_float64_model():
    model, X = _model(seed=3).double(), data.one_hot([SEQ])
    expected = _ism_loop(model, X.double(), 0)
    ism = methods.saturation_mutagenesis(model, X, target=0)
    torch.testing.assert_close(ism.delta.double(), expected, atol=1e-6, rtol=1e-5)
    grad = methods.saliency(model, X, target=0).values
    assert grad.dtype == torch.float64


# --- 3. unknown bases ----------------------------------------------------------------------------

@pytest.mark.parametrize("unknown", ["zeros", "uniform"])
def test_ism_substitutes_all_four_bases_at_an_n(unknown):
    seq = "ACGTNGCAAGCTTACGGANCCATGCAGTCA"
    X = data.one_hot([seq], unknown=unknown)
    model = _model(seed=1)
    ism = methods.saturation_mutagenesis(model, X, target=0)
    expected = _ism_loop(model, X, 0)
    for i in (4, 18):  # the N columns: every base is a substitution, none is 0 by construction
        assert (expected[0, :, i] != 0).all()
    torch.testing.assert_close(ism.delta, expected, atol=1e-5, rtol=1e-4)
    for path in ("fast", "naive"):
        torch.testing.assert_close(methods.saturation_mutagenesis(model, X, target=0, method=path).delta, expected,
                                   atol=1e-5, rtol=1e-4)


def test_every_method_accepts_what_one_hot_writes_for_n():
    X = data.one_hot(["ACGTNGCAAGCTTACGGATCCATGCAGTCA"], unknown="zeros")
    model = _model(seed=2)
    grad = methods.saliency(model, X, target=0).values
    gxi = methods.gradient_x_input(model, X, target=0).values
    assert torch.equal(gxi[0, :, 4], torch.zeros(4)) and grad[0, :, 4].abs().sum() > 0
    methods.integrated_gradients(model, X, target=0, baseline="shuffle", n_baselines=3, n_steps=8, random_state=0)
    occ = methods.occlusion(model, X, target=0, window=5, random_state=0)
    assert torch.isfinite(occ.per_position()).all()
    knock = methods.motif_knockout(model, X, sites=[(0, 10, 16)], target=0, random_state=0)
    assert knock.delta.shape == (1,)
    edits = methods.predict_edits(model, X, edits=[(0, 4, "A"), (0, 4, "T")], target=0)
    torch.testing.assert_close(edits, _ism_loop(model, X, 0)[0, [0, 3], 4])


def _stretches(seq):
    return [part for part in seq.split("N") if part]


@pytest.mark.parametrize("unknown", ["zeros", "uniform"])
def test_shuffles_keep_n_in_place_and_each_stretch_composition(unknown):
    seq = "ACGTTGCANNAGCTTACGGATCNCATGCAGTCAGGA"
    X = data.one_hot([seq], unknown=unknown)
    for shuffled in data.dinucleotide_shuffle(X, 5, random_state=0)[0]:
        out = data.decode(shuffled[None])[0]
        assert [i for i, c in enumerate(out) if c == "N"] == [i for i, c in enumerate(seq) if c == "N"]
        torch.testing.assert_close(shuffled[:, [8, 9, 22]], X[0][:, [8, 9, 22]])
        for a, b in zip(_stretches(seq), _stretches(out)):
            pairs = lambda s: sorted(s[i : i + 2] for i in range(len(s) - 1))  # noqa: E731
            assert pairs(a) == pairs(b) and a[0] == b[0] and a[-1] == b[-1]
    for shuffled in data.shuffle(X, 5, random_state=0)[0]:
        out = data.decode(shuffled[None])[0]
        assert [i for i, c in enumerate(out) if c == "N"] == [i for i, c in enumerate(seq) if c == "N"]
        assert sorted(out) == sorted(seq)


def test_soft_masked_and_long_sequences():
    model = _model(seed=4)
    upper, lower = data.one_hot([SEQ]), data.one_hot([SEQ[:10].lower() + SEQ[10:]])
    torch.testing.assert_close(methods.saturation_mutagenesis(model, lower, target=0).delta,
                               methods.saturation_mutagenesis(model, upper, target=0).delta)
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv1d(4, 8, 9, padding=4), nn.ReLU(), nn.AdaptiveMaxPool1d(1), nn.Flatten(),
                         nn.Linear(8, 1)).eval()
    long = data.one_hot(["".join("ACGT"[i] for i in np.random.default_rng(0).integers(0, 4, 6000))])
    grad = methods.saliency(conv, long).values
    assert grad.shape == (1, 4, 6000) and torch.isfinite(grad).all()


# --- 4. the model is left as it was found -------------------------------------------------------

def _train_mode_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(4, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.3),
                         nn.Flatten(), nn.Linear(120, 1))


METHOD_CALLS = {
    "saliency": lambda m, X: methods.saliency(m, X),
    "gradient_x_input": lambda m, X: methods.gradient_x_input(m, X),
    "integrated_gradients": lambda m, X: methods.integrated_gradients(m, X, n_steps=4),
    "saturation_mutagenesis": lambda m, X: methods.saturation_mutagenesis(m, X),
    "predict_edits": lambda m, X: methods.predict_edits(m, X, edits=[(0, 3, "A")]),
    "occlusion": lambda m, X: methods.occlusion(m, X, window=5, random_state=0),
    "motif_knockout": lambda m, X: methods.motif_knockout(m, X, sites=[(0, 2, 8)], random_state=0),
    "predict": lambda m, X: predict(m, X),
}


@pytest.mark.parametrize("name", sorted(METHOD_CALLS))
def test_methods_restore_training_mode_and_requires_grad(name):
    model, X = _train_mode_model(), data.one_hot([SEQ])
    model.train()
    model[1].eval()  # mixed modes must come back exactly, not as one flag for the whole model
    model[5].weight.requires_grad_(False)
    before = [m.training for m in model.modules()]
    grads = [p.requires_grad for p in model.parameters()]
    METHOD_CALLS[name](model, X)
    assert [m.training for m in model.modules()] == before
    assert [p.requires_grad for p in model.parameters()] == grads


def test_methods_compute_in_eval_mode():
    model, X = _train_mode_model(), data.one_hot([SEQ])
    model.train()  # dropout would make two calls differ, batch statistics would change the values
    first, second = methods.saliency(model, X).values, methods.saliency(model, X).values
    torch.testing.assert_close(first, second)
    reference = methods.saliency(model.eval(), X).values
    torch.testing.assert_close(first, reference)


def test_state_is_restored_when_a_method_raises():
    model, X = _train_mode_model(), data.one_hot([SEQ])
    model.train()
    with pytest.raises(ValueError, match="out of range"):
        methods.saturation_mutagenesis(model, X, target=5)
    assert all(m.training for m in model.modules())


# --- 5. no silent zeros --------------------------------------------------------------------------

def test_occlusion_covers_the_last_positions():
    model, X = _model(seed=5), data.one_hot([SEQ])
    occ = methods.occlusion(model, X, target=0, window=5, stride=4, fill="zeros")
    assert occ.starts.tolist() == [0, 4, 8, 12, 16, 20, 24, 25]
    with torch.no_grad():
        ref = model(X)[0, 0]
        hidden = X.clone()
        hidden[..., 25:30] = 0
        last = model(hidden)[0, 0] - ref
        hidden = X.clone()
        hidden[..., 24:29] = 0
        before_last = model(hidden)[0, 0] - ref
    torch.testing.assert_close(occ.per_position()[0, 29], last)
    torch.testing.assert_close(occ.per_position()[0, 28], (last + before_last) / 2)
    assert (occ.per_position()[0] != 0).all()


def test_occlusion_with_gaps_gives_nan_and_warns():
    model, X = _model(seed=5), data.one_hot([SEQ])
    with pytest.warns(RuntimeWarning, match="NaN"):
        occ = methods.occlusion(model, X, target=0, window=3, stride=7, fill="zeros")
    covered = torch.zeros(30, dtype=torch.bool)
    for s in occ.starts.tolist():
        covered[s : s + 3] = True
    assert torch.isnan(occ.per_position()[0, ~covered]).all() and torch.isfinite(occ.per_position()[0, covered]).all()


def test_occlusion_with_stride_one_needs_no_extra_window():
    model, X = _model(seed=5), data.one_hot([SEQ])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        occ = methods.occlusion(model, X, target=0, window=7, stride=3, fill="uniform")
    assert occ.starts.tolist() == [0, 3, 6, 9, 12, 15, 18, 21, 23]


# --- 7. bounded memory ---------------------------------------------------------------------------

def test_default_batch_size_follows_the_memory_rule():
    model = nn.Sequential(nn.Conv1d(4, 32, 5, padding=2), nn.ReLU(), nn.AdaptiveMaxPool1d(1), nn.Flatten(),
                          nn.Linear(32, 1)).eval()
    short, long = torch.zeros(1, 4, 1000), torch.zeros(1, 4, 4000)
    per_sequence = 4 * (4 * 1000 + 32 * 1000 * 2 + 32 + 32 + 1)  # input + conv + relu + pool + flatten + linear
    assert resolve_batch_size(None, model, short, "cpu") == MEMORY_BUDGET_BYTES // per_sequence
    assert resolve_batch_size(None, model, long, "cpu") < resolve_batch_size(None, model, short, "cpu") / 3
    assert resolve_batch_size(None, model, short, "cpu", backward=True) < resolve_batch_size(None, model, short, "cpu")
    assert resolve_batch_size(7, model, short, "cpu") == 7


_MEMORY_SCRIPT = """
import json, resource, sys, torch
from xai_widgets import data, methods, zoo
torch.set_num_threads(1)
model = zoo.load("basset_exp_motif_presence", device="cpu")
g = torch.Generator().manual_seed(0)
X = data.one_hot(["".join("ACGT"[i] for i in torch.randint(0, 4, (6000,), generator=g).tolist())])
methods.saturation_mutagenesis(model, X[:, :, :200], target=0)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
methods.{call}
print(json.dumps((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024))
"""


@pytest.mark.parametrize("call", ["saturation_mutagenesis(model, X, target=0)",
                                  "saliency(model, X.repeat(64, 1, 1), target=0)"])
def test_peak_memory_of_default_batches_stays_in_budget(call):
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT.replace("{call}", call)], capture_output=True,
                         text=True, timeout=600, check=True)
    peak_mb = json.loads(out.stdout.strip().splitlines()[-1])
    assert peak_mb < 2 * MEMORY_BUDGET_BYTES / 2**20, f"peak {peak_mb:.0f} MB for {call}"


# --- targets by name ----------------------------------------------------------------------------

def test_targets_by_output_name():
    from xai_widgets.adapt import adapt

    model = adapt(_model(seed=6), output_names=["dev", "hk"])
    X = data.one_hot([SEQ])
    by_name = methods.saturation_mutagenesis(model, X, target="hk").delta
    torch.testing.assert_close(by_name, _ism_loop(model, X, 1))
    torch.testing.assert_close(methods.saliency(model, X, target="dev").values,
                               methods.saliency(model, X, target=0).values)
    with pytest.raises(ValueError, match="its outputs are"):
        methods.saliency(model, X, target="dvl")
    with pytest.raises(ValueError, match="declares no output names"):
        methods.saliency(_model(), X, target="dev")
