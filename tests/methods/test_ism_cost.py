"""ISM's path chosen by cost (issue 17, "never slower"): plain forward passes when the head after
the local layers dominates, the fast path when the local layers do, the same numbers either way
(issue 21: one decision, ``methods._engine.path.decide``, for every edit-based method).

No test here asserts a time: the decisions tested are the deterministic ones (work counted in
FLOPs), and for the timed band only that the recorded timings and the rule agree.
"""

import math

import pytest
import torch
from torch import nn

from tests.helpers import random_one_hot, randomise_batchnorm
from tests.models import naive_ism
from xai_widgets.methods import predict_edits, saturation_mutagenesis
from xai_widgets.methods._engine.path import (
    HEAD_DOMINATES,
    LOCAL_DOMINATES,
    MIN_TIMING_EDITS,
    PLAIN_MARGIN,
    TIMING_FRACTION,
    decide,
    estimate_costs,
)
from xai_widgets.methods._engine.windows import LengthMajorPlan, WindowEngine
from xai_widgets.zoo.architectures import LocalPlan, build

CPU = torch.device("cpu")


class LSTMHead(nn.Module):
    """One small convolution (the local part), then a bidirectional LSTM over the whole map: the
    head does nearly all the work of every edit."""

    def __init__(self, hidden: int = 32):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(4, 4, 3, padding=1)
        self.lstm = nn.LSTM(4, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, 2)

    def _head(self, h):
        recurrent, _ = self.lstm(h.transpose(1, 2))
        return self.out(recurrent.amax(1))

    def forward(self, x):
        return self._head(self.conv(x))

    def local_plan(self):
        return LocalPlan([self.conv], False, self._head)


def basset_like():
    torch.manual_seed(0)
    return randomise_batchnorm(build("basset", n_targets=2))




def test_head_dominated_model_gets_plain_passes():
    model = LSTMHead().eval()
    X = random_one_hot(2, 60)
    choice = decide(model, X, CPU, n_edits=3 * 60 * 2)
    assert choice.path == "naive" and choice.plan is None
    assert choice.costs["ratio"] >= HEAD_DOMINATES
    assert "head dominates" in choice.reason
    assert decide(model, X, CPU, n_edits=360).plan is None  # the entry point of every method
    assert decide(model, X, CPU, n_edits=360, method="fast").plan is not None  # it exists and agrees; only dearer
    result = saturation_mutagenesis(model, X, target="all", device="cpu")
    assert result.path == "naive"


def test_lstm_flops_are_counted():
    """Without the fused LSTM kernel's FLOPs the head would look free; check them in closed form."""
    hidden, length = 32, 60
    model = LSTMHead(hidden).eval()
    X = random_one_hot(1, length)
    costs = estimate_costs(model, decide(model, X, CPU, n_edits=1, method="fast").plan, X, CPU)
    conv = 2 * length * 4 * 4 * 3
    lstm = 2 * 2 * length * (4 * hidden * 4 + 4 * hidden * hidden)  # two directions
    dense = 2 * 2 * hidden * 2
    assert costs["naive_flops"] == conv + lstm + dense
    # the fast path: the conv on a 3-wide window, the same head
    assert costs["fast_flops"] == 2 * 3 * 4 * 4 * 3 + lstm + dense


def test_local_layers_dominated_model_gets_the_fast_path():
    model = basset_like()
    X = random_one_hot(2, 600)
    choice = decide(model, X, CPU, n_edits=3 * 600 * 2)
    assert choice.path == "fast" and choice.plan is not None
    assert choice.costs["ratio"] <= LOCAL_DOMINATES
    assert decide(model, X, CPU, n_edits=3600).plan is not None
    assert saturation_mutagenesis(model, X, target="all", device="cpu").path == "fast"


@pytest.mark.parametrize("make, length", [(LSTMHead, 40), (basset_like, 120)])
def test_same_numbers_whichever_path(make, length):
    model = make().eval()
    X = random_one_hot(2, length, seed=4)
    expected = naive_ism(model, X, "all")
    results = {method: saturation_mutagenesis(model, X, target="all", device="cpu", method=method)
               for method in ("auto", "fast", "naive")}
    assert results["fast"].path == "fast" and results["naive"].path == "naive"
    assert results["auto"].path == decide(model, X, CPU, n_edits=3 * length * 2).path
    for result in results.values():
        torch.testing.assert_close(result.delta, expected, atol=1e-5, rtol=0)
    assert expected.abs().max() > 1e-3


@pytest.mark.parametrize("make, length", [(LSTMHead, 40), (basset_like, 300)])
def test_predict_edits_matches_plain_forward_passes(make, length):
    model = make().eval()
    X = random_one_hot(3, length, seed=5)
    edits = [(0, 0, "G"), (2, length - 1, 0), (1, length // 2, "T"), (0, 7, 3)]
    delta = predict_edits(model, X, edits=edits, target="all", device="cpu")
    with torch.no_grad():
        for row, (i, p, b) in zip(delta, edits):
            edited = X[i : i + 1].clone()
            edited[0, :, p] = 0
            edited[0, "ACGT".index(b) if isinstance(b, str) else b, p] = 1
            torch.testing.assert_close(row, (model(edited) - model(X[i : i + 1]))[0], atol=1e-5, rtol=0)


def test_timed_band_follows_the_recorded_timings():
    """DanQ-like (a convolution, then an LSTM): between the thresholds, both paths are timed
    once; the choice is the rule applied to the recorded per-edit times."""
    torch.manual_seed(0)
    model = randomise_batchnorm(build("danq", n_targets=2))
    X = random_one_hot(2, 96)
    small = decide(model, X, CPU, n_edits=100)
    assert LOCAL_DOMINATES < small.costs["ratio"] < HEAD_DOMINATES
    assert small.path == "fast" and "too few edits" in small.reason and "fast_seconds" not in small.costs
    large = decide(model, X, CPU, n_edits=math.ceil(MIN_TIMING_EDITS / TIMING_FRACTION))
    fast, plain = large.costs["fast_seconds"], large.costs["naive_seconds"]
    assert fast > 0 and plain > 0 and large.costs["timing_edits"] == MIN_TIMING_EDITS
    assert large.path == ("fast" if fast <= PLAIN_MARGIN * plain else "naive")
    assert (large.plan is None) == (large.path == "naive")
    assert large.costs["fast_layout"] in ("channels", "length")
    if large.path == "fast":
        assert isinstance(large.plan, LengthMajorPlan) == (large.costs["fast_layout"] == "length")
    again = decide(model, X, CPU, n_edits=10 ** 6)  # cached: no second timing
    assert again.costs == large.costs and again.path == large.path


def test_explicit_methods_are_kept():
    model = LSTMHead().eval()
    X = random_one_hot(1, 50)
    assert decide(model, X, CPU, n_edits=150, method="fast").path == "fast"
    assert saturation_mutagenesis(model, X, device="cpu", method="fast", target="all").path == "fast"
    assert decide(basset_like(), X, CPU, n_edits=150, method="naive").path == "naive"
    no_plan = nn.Sequential(nn.Flatten(), nn.Linear(200, 2))
    choice = decide(no_plan, X, CPU, n_edits=150)
    assert choice.path == "naive" and choice.reason.startswith("no fast path:")


@pytest.mark.parametrize("make", [LSTMHead, lambda: nn.Sequential(
    nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2), nn.Conv1d(6, 3, 3), nn.Flatten(), nn.Linear(3 * 23, 2))])
def test_length_major_stitch_gives_the_same_outputs(make):
    """The head's stitched map laid out (L', E, C) in memory: the same numbers as the default layout
    and as the model's own forward on the edited sequences."""
    torch.manual_seed(1)
    model = make().eval()
    X = random_one_hot(3, 50, seed=6)
    plan = decide(model, X, CPU, n_edits=1, method="fast").plan
    assert plan is not None and not plan.global_max
    seq, pos, base = torch.nonzero((X != 1).permute(0, 2, 1)).unbind(1)
    with torch.no_grad():
        default = WindowEngine(plan, X).edit_substitutions(seq, pos, base)
        length_major = WindowEngine(LengthMajorPlan(*plan), X).edit_substitutions(seq, pos, base)
        edited = X[seq].clone()
        edited[torch.arange(len(seq)), :, pos] = 0
        edited[torch.arange(len(seq)), base, pos] = 1
        expected = model(edited)
    torch.testing.assert_close(length_major, default, atol=1e-6, rtol=0)
    torch.testing.assert_close(length_major, expected, atol=1e-5, rtol=0)
