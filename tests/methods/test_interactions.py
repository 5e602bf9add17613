import math

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers import random_one_hot
from xai_widgets import zoo
from xai_widgets.data import GRAMMAR_RULE, cooperative_grammar
from xai_widgets.evaluation import grammar_sequences, planted_pair_rank
from xai_widgets.methods import Feature, dfim, mutated_importance, pairwise_ism, saturation_mutagenesis
from xai_widgets.zoo.architectures import build

P1, B1, P2, B2 = 5, 2, 9, 0  # G at 5, A at 9
W1, W2, W12 = 1.5, -0.75, 2.25


class PairModel(nn.Module):
    """``w1 [b1 at p1] + w2 [b2 at p2] + w12 [both]``: the only interaction is (p1, b1) x (p2, b2)."""

    def forward(self, X):
        a, c = X[:, B1, P1], X[:, B2, P2]
        return (W1 * a + W2 * c + W12 * a * c)[:, None]


def _with_bases(X, edits):
    X = X.clone()
    for pos, base in edits:
        X[:, :, pos] = 0
        X[:, base, pos] = 1
    return X


@pytest.fixture(scope="module")
def grammar():
    return zoo.load("basset_relu_cooperative_grammar", device="cpu"), cooperative_grammar(n=1000, random_state=1)


# ---------------------------------------------------------------------------------------------
# pairwise ISM


def test_pairwise_epistasis_is_w12_for_the_interacting_pair_and_zero_elsewhere():
    X = _with_bases(random_one_hot(1, 20, seed=2), [(P1, 3), (P2, 1)])  # neither b1 at p1 nor b2 at p2
    start, end = 3, 12
    r = pairwise_ism(PairModel(), X, start=start, end=end, device="cpu", progress=False)
    i, j = P1 - start, P2 - start
    assert r.singles.shape == (9, 4) and r.joint.shape == r.epistasis.shape == (9, 4, 9, 4)
    assert r.singles[i, B1] == W1 and r.singles[j, B2] == W2
    assert r.joint[i, B1, j, B2] == W1 + W2 + W12
    assert r.epistasis[i, B1, j, B2] == W12 and r.epistasis[j, B2, i, B1] == W12
    expected = torch.zeros_like(r.epistasis)
    expected[i, B1, j, B2] = expected[j, B2, i, B1] = W12
    assert torch.equal(r.epistasis, expected)
    assert torch.equal(r.additive, r.singles[:, :, None, None] + r.singles[None, None])
    per_position = torch.zeros(9, 9)
    per_position[i, j] = per_position[j, i] = W12
    assert torch.equal(r.per_position, per_position)
    assert r.top_pairs(3) == [(P1, "G", P2, "A", W12)]
    assert r.prediction == 0.0 and r.positions.tolist() == list(range(start, end))


def test_pairwise_when_both_sites_are_present_every_double_knockout_shows_w12():
    X = _with_bases(random_one_hot(1, 20, seed=3), [(P1, B1), (P2, B2)])
    r = pairwise_ism(PairModel(), X, start=0, end=20, device="cpu", progress=False)
    block = r.epistasis[P1, :, P2, :]
    others = [b for b in range(4)]
    expected = torch.full((4, 4), W12)
    expected[B1, :] = 0  # the original base: a single mutant, no interaction by definition
    expected[:, B2] = 0
    assert torch.equal(block, expected), others
    assert r.per_position.count_nonzero() == 2
    assert r.prediction == W1 + W2 + W12


def test_pairwise_same_position_and_original_bases_are_exactly_additive():
    model = build("basset", n_targets=2, filters=(8, 8, 8)).eval()
    X = random_one_hot(1, 64, seed=4)
    r = pairwise_ism(model, X, start=20, end=26, target=1, device="cpu", progress=False)
    for i in range(6):
        assert torch.all(r.epistasis[i, :, i, :] == 0)
        assert torch.equal(r.joint[i, :, i, :], r.additive[i, :, i, :])
    ref = X[0, :, 20:26].argmax(0)
    for i in range(6):
        assert torch.all(r.epistasis[i, ref[i]] == 0) and torch.all(r.epistasis[:, :, i, ref[i]] == 0)
    assert torch.equal(r.joint, r.joint.permute(2, 3, 0, 1))
    assert r.epistasis.abs().max() > 1e-4  # a nonlinear model does interact
    assert torch.all(r.per_position.diagonal() == 0)


def test_pairwise_joint_equals_brute_force_double_mutants():
    torch.manual_seed(0)
    model = build("basset", n_targets=1, filters=(8, 8, 8)).eval()
    X = random_one_hot(1, 64, seed=5)
    start, end = 30, 35
    r = pairwise_ism(model, X, start=start, end=end, batch_size=7, device="cpu", progress=False)
    keys, edited = [], []
    for i in range(5):
        for j in range(i + 1, 5):
            for a in range(4):
                for b in range(4):
                    keys.append((i, a, j, b))
                    edited.append(_with_bases(X, [(start + i, a), (start + j, b)]))
    with torch.no_grad():
        expected = model(torch.cat(edited))[:, 0] - model(X)[0, 0]
    observed = torch.stack([r.joint[k] for k in keys])
    torch.testing.assert_close(observed, expected, atol=1e-5, rtol=0)
    assert torch.equal(r.joint, r.joint.permute(2, 3, 0, 1))


def test_pairwise_errors_and_cost_warning():
    X = random_one_hot(2, 20)
    with pytest.raises(ValueError, match=r"one sequence.*X\[i:i\+1\]"):
        pairwise_ism(PairModel(), X, start=0, end=5, device="cpu")
    with pytest.raises(ValueError, match="0 <= start < end <= L"):
        pairwise_ism(PairModel(), X[:1], start=5, end=5, device="cpu")
    with pytest.raises(ValueError, match="0 <= start < end <= L"):
        pairwise_ism(PairModel(), X[:1], start=0, end=21, device="cpu")
    with pytest.warns(UserWarning, match=r"1,710 double mutants.*max_window=20"):
        pairwise_ism(PairModel(), X[:1], start=0, end=20, max_window=10, device="cpu", progress=False)


# ---------------------------------------------------------------------------------------------
# DFIM


@pytest.mark.parametrize("importance", ["ism", "saliency"])
def test_dfim_positions_closed_form(importance):
    # with b1 at p1 and b2 at p2, the ISM attribution of p2 is 3 (w2 + w12) / 4, and 3 w2 / 4
    # once p1 is mutated: the interaction score is 3 |w12| / 4, in both directions
    X = _with_bases(random_one_hot(1, 20, seed=6), [(P1, B1), (P2, B2)])
    r = dfim(PairModel(), X, sources=[P1, P2, 15], importance=importance, n_null=0, device="cpu", progress=False)
    assert r.source_labels == ["pos 5", "pos 9", "pos 15"]
    expected = torch.zeros(3, 3)
    expected[0, 1] = expected[1, 0] = -0.75 * W12
    expected.fill_diagonal_(math.nan)
    torch.testing.assert_close(r.change, expected, equal_nan=True, atol=1e-6, rtol=0)
    torch.testing.assert_close(r.scores, expected.abs(), equal_nan=True, atol=1e-6, rtol=0)
    assert r.null is None and r.z is None and r.p_value is None
    torch.testing.assert_close(r.importance[[P1, P2]], torch.tensor([0.75 * (W1 + W12), 0.75 * (W2 + W12)]))
    assert r.ranked_pairs()[0][:2] == ("pos 5", "pos 9")


def test_dfim_spans_and_motif_instances_only_the_interacting_pair_depends():
    X = _with_bases(random_one_hot(1, 40, seed=7), [(P1, B1), (P2, B2)])
    features = [("A", 3, 7, 1), ("B", 8, 12, -1), (20, 30)]
    r = dfim(PairModel(), X, sources=features, n_draws=6, n_null=4, random_state=0, device="cpu", progress=False)
    assert r.source_labels == ["A:3-7", "B:8-12", "20-30"]
    assert r.sources[0] == Feature("A:3-7", 3, 7, "A", 1)
    scores = r.scores
    assert scores[0, 1] > 0.5 and scores[1, 0] > 0.5
    assert scores[2, :2].eq(0).all() and scores[:2, 2].eq(0).all()
    assert r.null.shape == (4, 3, 3) and r.z.shape == r.p_value.shape == (3, 3)
    assert r.p_value[0, 2] == 1.0  # a null score of 0 is never below an observed 0
    assert r.null[:, 2, :2].eq(0).all() and r.null[:, :2, 2].eq(0).all()  # no interaction in any shuffle
    torch.testing.assert_close(r.p_value[0, 1], (1 + (r.null[:, 0, 1] >= scores[0, 1]).sum()) / 5.0)
    torch.testing.assert_close(r.z[1, 0], (scores[1, 0] - r.null[:, 1, 0].mean()) / r.null[:, 1, 0].std())
    assert math.isnan(r.p_value[0, 0]) and math.isnan(r.z[1, 1])


def test_dfim_targets_aggregates_and_mutations():
    X = _with_bases(random_one_hot(1, 40, seed=8), [(P1, B1), (P2, B2)])
    kwargs = dict(n_null=0, device="cpu", progress=False, random_state=1)
    r = dfim(PairModel(), X, sources=[(3, 7)], target_features=[(8, 12), P2, (30, 35)], aggregate="max", **kwargs)
    assert r.scores.shape == (1, 3)
    assert r.scores[0, 0] == r.scores[0, 1] > 0 and r.scores[0, 2] == 0
    shuffled = dfim(PairModel(), X, sources=[(0, 8), (8, 12)], mutation="shuffle", **kwargs)
    assert shuffled.mutation == "shuffle" and shuffled.scores.shape == (2, 2)
    with pytest.raises(ValueError, match="same features as sources and targets"):
        r.pair_scores()


def test_dfim_custom_importance_and_errors():
    X = random_one_hot(1, 30)
    model = PairModel()
    r = dfim(model, X, sources=[P1, P2], importance=lambda V: V[:, 0], n_null=0, device="cpu", progress=False)
    assert r.method == "<lambda>"
    with pytest.raises(ValueError, match=r"map \(M, 4, L\) to \(M, L\)"):
        dfim(model, X, sources=[P1, P2], importance=lambda V: V, n_null=0, device="cpu", progress=False)
    with pytest.raises(ValueError, match="importance must be one of"):
        dfim(model, X, sources=[P1], importance="deepshap", device="cpu")
    with pytest.raises(ValueError, match="one sequence"):
        dfim(model, random_one_hot(3, 30), sources=[P1], device="cpu")
    with pytest.raises(ValueError, match=r"cannot read feature 'CTCF'.*for_sequence"):
        dfim(model, X, sources=["CTCF"], device="cpu")
    with pytest.raises(ValueError, match="outside a sequence of length 30"):
        dfim(model, X, sources=[(25, 31)], device="cpu")
    with pytest.raises(ValueError, match="sources is empty"):
        dfim(model, X, sources=[], device="cpu")
    with pytest.raises(ValueError, match="lists a feature twice"):
        dfim(model, X, sources=[3, 3], device="cpu")
    with pytest.raises(ValueError, match="n_null must be 0"):
        dfim(model, X, sources=[3], n_null=1, device="cpu")
    with pytest.raises(ValueError, match="aggregate must be one of"):
        dfim(model, X, sources=[3], aggregate="mean", device="cpu")


# ---------------------------------------------------------------------------------------------
# ground truth: the cooperative grammar model


def test_dfim_ranks_the_planted_pair_above_every_distractor_pair(grammar):
    model, task = grammar
    rows = grammar_sequences(task)
    assert len(rows) >= 30
    for i in rows[:30]:
        inst = task.instances.for_sequence(int(i))
        assert any(m not in (GRAMMAR_RULE.anchor, GRAMMAR_RULE.partner) for m, *_ in inst)
    ranks = planted_pair_rank(model, task, sequences=rows[:30], n_draws=4, device="cpu", progress=False)
    assert len(ranks.rank) == 30
    assert np.all(ranks.rank == 1), ranks  # first against every pair involving CTCF or REST
    assert np.all(ranks.rank_overall == 1)
    assert ranks.fraction_first == 1.0
    assert np.median(ranks.planted_score - ranks.best_distractor_score) > 1.0


def test_dfim_null_marks_only_the_planted_pair_as_extreme(grammar):
    model, task = grammar
    i = int(grammar_sequences(task)[0])
    inst = task.instances.for_sequence(i)
    r = dfim(model, task.X[i : i + 1], sources=inst, n_null=10, n_draws=4, random_state=0, device="cpu", progress=False)
    names = [f.name for f in r.sources]
    a, p = names.index("Spi1"), names.index("Irf1")
    assert r.p_value[a, p] == r.p_value[p, a] == 1 / 11
    z = r.z.clone()
    z[a, p] = z[p, a] = math.nan
    assert r.z[a, p] > 10 and r.z[p, a] > 10 and r.z[a, p] > np.nanmax(z.numpy())
    assert r.change[a, p] < 0 and r.change[p, a] < 0  # losing the partner lowers importance


def test_dfim_ism_importance_is_the_ism_attribution(grammar):
    # the built-in "ism" importance evaluates only the edits it reads (fast path); the same numbers
    # as the full saturation_mutagenesis attribution passed as a custom importance
    model, task = grammar
    i = int(grammar_sequences(task)[1])
    kwargs = dict(n_draws=2, n_null=0, random_state=3, device="cpu", progress=False)
    inst = task.instances.for_sequence(i)
    fast = dfim(model, task.X[i : i + 1], sources=inst, **kwargs)
    full = dfim(model, task.X[i : i + 1], sources=inst,
                importance=lambda V: saturation_mutagenesis(model, V, device="cpu").values.sum(1), **kwargs)
    torch.testing.assert_close(fast.change, full.change, atol=1e-5, rtol=0, equal_nan=True)
    torch.testing.assert_close(fast.importance, full.importance, atol=1e-5, rtol=0)


def test_mutated_importance_reproduces_a_dfim_row(grammar):
    model, task = grammar
    i = int(grammar_sequences(task)[2])
    inst = task.instances.for_sequence(i)
    r = dfim(model, task.X[i : i + 1], sources=inst, n_draws=3, n_null=0, random_state=5, device="cpu", progress=False)
    reordered = dfim(model, task.X[i : i + 1], sources=inst[::-1], n_draws=3, n_null=0, random_state=5, device="cpu",
                     progress=False)
    torch.testing.assert_close(reordered.change, r.change.flip(0, 1), atol=1e-5, rtol=0, equal_nan=True)
    for s in range(len(r.sources)):
        after = mutated_importance(model, task.X[i : i + 1], source=inst[s], n_draws=3, random_state=5,
                                   device="cpu")
        assert after.shape == (task.X.shape[2],)
        for t, tgt in enumerate(r.target_features):
            if s != t:
                expected = (after - r.importance)[tgt.start : tgt.end].sum()  # instances do not overlap
                assert abs(float(expected - r.change[s, t])) < 1e-4
    with pytest.raises(ValueError, match="random_state must be None"):
        mutated_importance(model, task.X[i : i + 1], source=inst[0], random_state=-1, device="cpu")


def test_planted_pair_rank_errors(grammar):
    model, task = grammar
    no_grammar = next(i for i in range(len(task)) if i not in set(grammar_sequences(task, require_distractor=False)))
    with pytest.raises(ValueError, match="does not carry the planted grammar"):
        planted_pair_rank(model, task, sequences=[no_grammar], device="cpu", progress=False)
