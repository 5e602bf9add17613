import math

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers import random_one_hot, randomise_batchnorm
from xai_widgets import zoo
from xai_widgets.contract import GlobalMaxPool, LocalPlan
from xai_widgets.data import ORIENTATIONS, b_start, backgrounds, insert_motif, insert_motifs, one_hot
from xai_widgets.data.encoding import decode, reverse_complement
from xai_widgets.data.motifs import Motif, get_motif
from xai_widgets.data.shuffle import dinucleotide_counts
from xai_widgets.data.tasks import GRAMMAR_RULE
from xai_widgets.methods import global_importance, motif_effects, spacing_sweep
from xai_widgets.zoo.architectures import build

# A/T-only motifs in C/G-only backgrounds: a full match can only come from an insertion, and
# these two were chosen so that no junction of (A or rc A) with (B or rc B) creates one.
A, B = "AAAATT", "ATAAAT"
WINDOW = (4, 12)  # the toy grammar: B 4-12 bp downstream of A, both on the + strand


def _toy_layers(a: str = A, b: str = B, window=WINDOW):
    """conv1: exact-match indicators of a and b (+ strand only); conv2: passes them through and
    adds a cooperative channel that is 1 when b starts ``wa + g`` after a, g in ``window``."""
    width = max(len(a), len(b))
    conv1 = nn.Conv1d(4, 2, width)
    conv2 = nn.Conv1d(2, 3, len(a) + window[1] + 1, padding=len(a) + window[1])
    with torch.no_grad():
        conv1.weight.zero_()
        for c, motif in enumerate((a, b)):
            conv1.weight[c, :, : len(motif)] = one_hot(motif)[0]
            conv1.bias[c] = -(len(motif) - 1)
        conv2.weight.zero_()
        conv2.bias.copy_(torch.tensor([0.0, 0.0, -1.0]))
        last = conv2.kernel_size[0] - 1
        conv2.weight[0, 0, last] = 1  # a passes through (reads conv1 output j)
        conv2.weight[1, 1, last] = 1  # b passes through
        conv2.weight[2, 0, 0] = 1  # a at j - last ...
        for g in range(window[0], window[1] + 1):
            conv2.weight[2, 1, len(a) + g] = 1  # ... and b starting len(a) + g later
    head = nn.Linear(3, 1)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.5, 2.0]]))
        head.bias.fill_(0.1)
    return [conv1, nn.ReLU(), conv2, nn.ReLU()], head


class ToyGrammar(nn.Module):
    """f = 0.1 + [a] + 0.5 [b] + 2 [a, then b 4-12 bp downstream], + strand only; has a local plan
    with a global max (the fast path's prefix/suffix-max route)."""

    def __init__(self):
        super().__init__()
        layers, self.head = _toy_layers()
        self.layers = nn.ModuleList(layers)

    def local_plan(self):
        return LocalPlan(list(self.layers), True, self.head)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.head(x.amax(-1))


class Opaque(nn.Module):
    """The same function without a local plan: only the plain path applies."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)


def _toy_sequential():
    layers, head = _toy_layers()
    return nn.Sequential(*layers, GlobalMaxPool(), head)  # local plan without global max: stitched maps


def _cg_backgrounds(n=12, length=60, seed=0):
    return backgrounds(n, length, gc=1.0, random_state=seed)


# --- insertion and backgrounds ---------------------------------------------------------------


def test_insert_motif_forms_and_strands():
    X = _cg_backgrounds(3, 20)
    out = insert_motif(X, "AACGT", position=4)
    assert all(s[4:9] == "AACGT" for s in decode(out))
    assert decode(out)[0][:4] == decode(X)[0][:4] and decode(out)[0][9:] == decode(X)[0][9:]
    assert all(s[4:9] == "ACGTT" for s in decode(insert_motif(X, "AACGT", position=4, strand="-")))
    assert all(s[8:13] == "AACGT" for s in decode(insert_motif(X, "AACGT")))  # centred: 10 - 5 // 2
    torch.testing.assert_close(insert_motif(X, one_hot("AACGT")[0], position=4), out)
    torch.testing.assert_close(insert_motif(X, Motif.from_consensus("m", "AACGT"), position=4), out)
    assert torch.equal(X, _cg_backgrounds(3, 20))  # input untouched
    # a Motif is sampled per background, reproducibly
    motif = Motif("soft", np.full((4, 8), 0.25))
    first = insert_motif(X, motif, position=2, random_state=5)
    assert torch.equal(first, insert_motif(X, motif, position=2, random_state=5))
    assert len({s[2:10] for s in decode(first)}) > 1
    # several at once; per-background one-hot sites
    both = insert_motifs(X, [("AAAA", 0, "+"), ("TTTT", 10)])
    assert all(s[:4] == "AAAA" and s[10:14] == "TTTT" for s in decode(both))
    per = one_hot(["ACGT", "CCCC", "GGGG"])
    assert [s[5:9] for s in decode(insert_motif(X, per, position=5))] == ["ACGT", "CCCC", "GGGG"]


def test_insert_motif_errors():
    X = _cg_backgrounds(2, 20)
    with pytest.raises(ValueError, match="does not fit"):
        insert_motif(X, "ACGT", position=17)
    with pytest.raises(ValueError, match="does not fit"):
        insert_motif(X, "ACGT", position=-1)
    with pytest.raises(ValueError, match="strand"):
        insert_motif(X, "ACGT", position=0, strand="+1")
    with pytest.raises(ValueError, match="N"):
        insert_motif(X, "ACNT", position=0)
    with pytest.raises(ValueError, match="overlap"):
        insert_motifs(X, [("ACGT", 0), ("ACGT", 3)])
    with pytest.raises(ValueError, match="shape"):
        insert_motif(X, torch.zeros(3, 4, 5), position=0)
    with pytest.raises(ValueError, match="one-hot"):
        insert_motif(X, torch.full((4, 5), 0.25), position=0)
    with pytest.raises(TypeError, match="motif"):
        insert_motif(X, 42, position=0)
    with pytest.raises(ValueError, match="empty"):
        insert_motifs(X, [])


def test_backgrounds_random_and_shuffled():
    X = backgrounds(50, 400, gc=0.7, random_state=1)
    assert X.shape == (50, 4, 400) and torch.equal(X, backgrounds(50, 400, gc=0.7, random_state=1))
    assert abs(float(X[:, 1:3].sum() / (50 * 400)) - 0.7) < 0.01
    data = random_one_hot(6, 80, seed=2)
    few = backgrounds(4, from_sequences=data, random_state=0)
    many = backgrounds(14, from_sequences=data, random_state=0)
    assert few.shape == (4, 4, 80) and many.shape == (14, 4, 80)
    counts = {tuple(dinucleotide_counts(x).flatten().tolist()) for x in data}
    assert all(tuple(dinucleotide_counts(x).flatten().tolist()) in counts for x in torch.cat([few, many]))
    assert not any(torch.equal(x, y) for x in many for y in data)
    assert backgrounds(from_sequences=data, random_state=0).shape == (6, 4, 80)
    with pytest.raises(ValueError, match="length"):
        backgrounds(5)
    with pytest.raises(ValueError, match="gc"):
        backgrounds(5, 10, gc=1.5)
    with pytest.raises(ValueError, match="positive"):
        backgrounds(0, 10)


def test_b_start_matches_the_grammar_rule_gap():
    # the sweep's spacing is GrammarRule's gap, measured in A's strand direction
    for orientation in ORIENTATIONS:
        for spacing in (0, 4, 9, 12):
            a0, wa, wb = 50, 13, 11
            s = b_start(a0, spacing, orientation=orientation, width_a=wa, width_b=wb)
            strand = 1 if orientation[0] == "+" else -1
            gap = s - (a0 + wa) if strand == 1 else a0 - (s + wb)
            assert gap == spacing
            same_strand = orientation[0] == orientation[1]
            assert GRAMMAR_RULE.forms_grammar(a0, a0 + wa, strand, s, s + wb, strand if same_strand else -strand) \
                == (same_strand and 4 <= spacing <= 12)
            # negative spacings put B upstream, |s| bases away
            up = b_start(a0, -spacing - 1, orientation=orientation, width_a=wa, width_b=wb)
            assert (up < a0) == (strand == 1)


# --- closed form on the toy grammar -----------------------------------------------------------


def _expected_toy_effects(spacings):
    coop = np.array([1.0 if WINDOW[0] <= s <= WINDOW[1] else 0.0 for s in spacings])
    return {"++": 1.5 + 2 * coop, "+-": np.full(len(spacings), 1.0), "-+": np.full(len(spacings), 0.5),
            "--": np.zeros(len(spacings))}


@pytest.mark.parametrize("make_model, method, path", [(ToyGrammar, "fast", "fast"), (_toy_sequential, "fast", "fast"),
                                                      (lambda: Opaque(ToyGrammar()), "auto", "naive")])
def test_spacing_sweep_closed_form(make_model, method, path):
    # "fast" named: on these tiny toys plain passes are cheaper per edit, so "auto" times both
    # paths and may take either (the engine's cost rule); the closed form must hold on each
    model = make_model()
    X = _cg_backgrounds()
    spacings = range(-25, 26)
    result = spacing_sweep(model, X, motif_a=A, motif_b=B, spacings=spacings, device="cpu", batch_size=300,
                           method=method)
    assert result.path == path
    assert result.position_a == 27
    # B of width 6 next to A at [27, 33) of 60 bases: gaps up to 21 fit on either side
    expected_skipped = {(o, s) for o in ORIENTATIONS for s in spacings if abs(s) > 21}
    assert set(result.skipped) == expected_skipped
    assert result.valid.sum() == 4 * 43 and bool((result.b_start[~result.valid] == -1).all())
    expected = _expected_toy_effects(list(spacings))
    for o, orientation in enumerate(result.orientations):
        valid = result.valid[o].numpy()
        np.testing.assert_allclose(result.effect[o].numpy()[valid], expected[orientation][valid], atol=1e-5)
        assert torch.isnan(result.effect[o][~result.valid[o]]).all()
        np.testing.assert_allclose(result.per_background[:, o].numpy()[:, valid],
                                   np.broadcast_to(expected[orientation][valid], (12, valid.sum())), atol=1e-5)
    np.testing.assert_allclose(result.effect_a.numpy(), [1, 1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(result.effect_b[result.valid].numpy(),
                               np.repeat([0.5, 0.0, 0.5, 0.0], 43), atol=1e-6)
    ratio = result.cooperativity
    assert torch.isnan(ratio[3]).all()  # "--": A + B = 0, guarded
    np.testing.assert_allclose(ratio[0][result.valid[0]].numpy(), expected["++"][result.valid[0].numpy()] / 1.5,
                               atol=1e-5)
    np.testing.assert_allclose(ratio[1][result.valid[1]].numpy(), 1.0, atol=1e-5)
    np.testing.assert_allclose(result.interaction[0][result.valid[0]].numpy(),
                               expected["++"][result.valid[0].numpy()] - 1.5, atol=1e-5)
    assert result.peak() == ("++", WINDOW[0])
    assert result.peak("interaction") == ("++", WINDOW[0])
    # every background agrees, so the interval is a point
    torch.testing.assert_close(result.effect_ci[0, 30], torch.tensor([3.5, 3.5]), atol=1e-5, rtol=0)
    assert result.table()[0] == {"orientation": "++", "spacing": -21, "b_start": 0, "effect": pytest.approx(1.5),
                                 "effect_a": pytest.approx(1.0), "effect_b": pytest.approx(0.5),
                                 "cooperativity": pytest.approx(1.0)}


def test_global_importance_and_motif_effects_closed_form():
    model = ToyGrammar()
    X = _cg_backgrounds(20)
    single = global_importance(model, X, insertions=[(A, 10, "+")], device="cpu")
    torch.testing.assert_close(single.effect, torch.ones(20), atol=1e-5, rtol=0)
    assert single.mean == pytest.approx(1.0, abs=1e-5) and single.ci == pytest.approx((1.0, 1.0), abs=1e-5)
    assert single.path == "fast" and single.insertions == ((A, 10, "+"),)
    torch.testing.assert_close(single.background_prediction, torch.full((20,), 0.1), atol=1e-6, rtol=0)
    pair = global_importance(model, X, insertions=[(A, 10, "+"), (B, 10 + 6 + 7, "+")], device="cpu", ci="bootstrap",
                             random_state=0)
    assert pair.mean == pytest.approx(3.5, abs=1e-5) and pair.ci == pytest.approx((3.5, 3.5), abs=1e-5)
    too_far = global_importance(model, X, insertions=[(A, 10, "+"), (B, 10 + 6 + 13, "+")], device="cpu")
    assert too_far.mean == pytest.approx(1.5, abs=1e-5)
    assert global_importance(model, X, insertions=(A, 10, "-"), device="cpu").mean == pytest.approx(0.0, abs=1e-6)
    motifs = {"A": A, "B": B, "rcA": reverse_complement(A)}
    effects = motif_effects(model, X, motifs=motifs, device="cpu")
    np.testing.assert_allclose(effects.mean.numpy(), [1.0, 0.5, 0.0], atol=1e-5)
    assert effects.ranking() == ["A", "B", "rcA"] and effects.positions == (27, 27, 27)
    both = motif_effects(model, X, motifs=motifs, position=5, strand="both", device="cpu")
    np.testing.assert_allclose(both.mean.numpy(), [0.5, 0.25, 0.5], atol=1e-5)
    assert both.effect.shape == (3, 20) and both.ci.shape == (3, 2)


# --- fast path equals the plain path -------------------------------------------------------------




def _assert_sweeps_equal(fast, naive):
    assert fast.path == "fast" and naive.path == "naive"
    assert torch.equal(fast.valid, naive.valid)
    for field in ("per_background", "per_background_a", "per_background_b", "background_prediction"):
        torch.testing.assert_close(getattr(fast, field), getattr(naive, field), atol=1e-4, rtol=0, equal_nan=True)
    assert float(torch.nan_to_num(fast.per_background).abs().max()) > 1e-3  # not trivially zero


@pytest.mark.parametrize("architecture, config, length", [
    ("deepbind", {}, 160), ("basset", {"activation": "exp"}, 96), ("basset", {"pools": [3, 2]}, 90),
    ("basset", {}, 40), ("explainn", {"n_units": 4}, 200), ("danq", {"n_filters": 16, "lstm_hidden": 8}, 64)])
def test_fast_sweep_equals_plain_sweep(architecture, config, length):
    torch.manual_seed(0)
    model = randomise_batchnorm(build(architecture, n_targets=2, **config), scales=True)
    X = random_one_hot(3, length, seed=4)
    motif_a = Motif("a", torch.softmax(torch.randn(4, 9, generator=torch.Generator().manual_seed(2)), 0).numpy())
    # spacings from adjacent to far apart (on deepbind at L=160 some pairs never interact), and
    # off the sequence at L=40 (where windows also outgrow the short maps)
    kwargs = dict(spacings=range(-(length // 4), length // 4 + 1, 4), target=1, device="cpu", random_state=3,
                  batch_size=20)
    fast = spacing_sweep(model, X, motif_a=motif_a, motif_b="TGAAACTGA", method="fast", **kwargs)
    naive = spacing_sweep(model, X, motif_a=motif_a, motif_b="TGAAACTGA", method="naive", **kwargs)
    _assert_sweeps_equal(fast, naive)
    insertions = [(motif_a, 3, "-"), ("ACGTTGCA", length - 20, "+")]
    gi_fast = global_importance(model, X, insertions=insertions, target=0, device="cpu", method="fast",
                                random_state=1)
    gi_naive = global_importance(model, X, insertions=insertions, target=0, device="cpu", method="naive",
                                 random_state=1)
    torch.testing.assert_close(gi_fast.effect, gi_naive.effect, atol=1e-4, rtol=0)


def test_fast_sweep_equals_plain_sweep_on_the_grammar_model():
    model = zoo.load("basset_relu_cooperative_grammar", device="cpu")
    X = backgrounds(6, 200, random_state=2)
    kwargs = dict(spacings=range(-50, 51, 5), device="cpu", batch_size=256)
    fast = spacing_sweep(model, X, motif_a=get_motif("Spi1"), motif_b=get_motif("Irf1").consensus, random_state=0,
                         **kwargs)
    naive = spacing_sweep(model, X, motif_a=get_motif("Spi1"), motif_b=get_motif("Irf1").consensus, random_state=0,
                          method="naive", **kwargs)
    _assert_sweeps_equal(fast, naive)
    me = motif_effects(model, X, motifs={"REST": get_motif("REST").consensus, "CTCF": get_motif("CTCF")}, strand="both",
                       device="cpu", random_state=0)
    me_naive = motif_effects(model, X, motifs={"REST": get_motif("REST").consensus, "CTCF": get_motif("CTCF")},
                             strand="both", device="cpu", random_state=0, method="naive")
    torch.testing.assert_close(me.effect, me_naive.effect, atol=1e-4, rtol=0)


@pytest.mark.parametrize("method", ["fast", "naive"])
def test_sweep_without_singles(method):
    model = build("basset", n_targets=1).eval()
    X = random_one_hot(4, 120, seed=5)
    kwargs = dict(spacings=range(-30, 31, 3), device="cpu", method=method)
    full = spacing_sweep(model, X, motif_a="ACGTGGCAA", motif_b="TGAAACTGA", **kwargs)
    pair_only = spacing_sweep(model, X, motif_a="ACGTGGCAA", motif_b="TGAAACTGA", singles=False, **kwargs)
    torch.testing.assert_close(pair_only.per_background, full.per_background, atol=1e-5, rtol=0, equal_nan=True)
    torch.testing.assert_close(pair_only.effect_a, full.effect_a)
    assert torch.isnan(pair_only.effect_b).all() and torch.isnan(pair_only.cooperativity).all()
    assert pair_only.peak() == full.peak()


def test_chunks_of_backgrounds_give_the_same_numbers(monkeypatch):
    from xai_widgets.methods import _engine

    model = ToyGrammar()
    X = _cg_backgrounds(7, 50)
    whole = spacing_sweep(model, X, motif_a=A, motif_b=B, spacings=range(-8, 9), device="cpu")
    effects = motif_effects(model, X, motifs={"A": A, "B": B}, device="cpu")
    monkeypatch.setattr(_engine, "BACKGROUND_CHUNK", 3)
    chunked = spacing_sweep(model, X, motif_a=A, motif_b=B, spacings=range(-8, 9), device="cpu")
    torch.testing.assert_close(chunked.per_background, whole.per_background, equal_nan=True)
    torch.testing.assert_close(motif_effects(model, X, motifs={"A": A, "B": B}, device="cpu").effect, effects.effect)


def test_models_without_local_layers_use_forward_passes():
    model = build("attention", n_targets=1).eval()
    X = random_one_hot(2, 64, seed=1)
    result = spacing_sweep(model, X, motif_a="ACGTAC", motif_b="TTGACA", spacings=[-3, 0, 3], device="cpu")
    assert result.path == "naive" and result.effect.shape == (4, 3)
    with pytest.raises(ValueError, match="fast path does not apply"):
        spacing_sweep(model, X, motif_a="ACGTAC", motif_b="TTGACA", spacings=[0], method="fast", device="cpu")


# --- ground truth on the zoo grammar model -----------------------------------------------------


@pytest.fixture(scope="module")
def grammar_model():
    return zoo.load("basset_relu_cooperative_grammar", device="cpu")


def test_sweep_finds_the_planted_grammar(grammar_model):
    X = backgrounds(100, 200, random_state=0)
    spi1, irf1 = get_motif("Spi1").consensus, get_motif("Irf1").consensus
    result = spacing_sweep(grammar_model, X, motif_a=spi1, motif_b=irf1, spacings=range(-30, 31), device="cpu")
    orientation, spacing = result.peak()
    assert orientation in ("++", "--") and GRAMMAR_RULE.spacing[0] <= spacing <= GRAMMAR_RULE.spacing[1]
    assert result.peak("interaction")[0] in ("++", "--")
    s = result.spacings.tolist()
    inside = [s.index(g) for g in range(5, 12)]
    outside = [s.index(g) for g in list(range(-30, 0)) + list(range(16, 31))]
    for o in (0, 3):  # same strand: +2 inside the window, additive outside
        assert float(result.interaction[o, inside].min()) > 1.5
        assert float(result.interaction[o, outside].abs().max()) < 0.5
    for o in (1, 2):  # opposite strands: additive everywhere
        assert float(result.interaction[o].abs().max()) < 0.5
    assert float(result.cooperativity[0, s.index(8)]) > 2
    assert not result.skipped


def test_gia_orders_the_planted_effects(grammar_model):
    X = backgrounds(100, 200, random_state=1)
    names = ("REST", "CTCF", "Irf1", "Spi1")
    effects = motif_effects(grammar_model, X, motifs={n: get_motif(n).consensus for n in names}, strand="both",
                            device="cpu")
    assert effects.ranking() == ["Spi1", "Irf1", "CTCF", "REST"]
    planted = GRAMMAR_RULE.effects
    for name, value in effects.as_dict().items():
        assert abs(value - planted[name]) < 0.15, (name, value)
    lo, hi = effects.ci[effects.names.index("Spi1")]
    assert lo < effects.as_dict()["Spi1"] < hi and hi - lo < 0.1


# --- errors -----------------------------------------------------------------------------------


def test_bad_input_errors():
    model = ToyGrammar()
    X = _cg_backgrounds(4, 40)
    with pytest.raises(ValueError, match="orientations"):
        spacing_sweep(model, X, motif_a=A, motif_b=B, orientations=("+*",), device="cpu")
    with pytest.raises(ValueError, match="duplicates"):
        spacing_sweep(model, X, motif_a=A, motif_b=B, spacings=[1, 1], device="cpu")
    with pytest.raises(ValueError, match="integers"):
        spacing_sweep(model, X, motif_a=A, motif_b=B, spacings=[0.5, 1.5], device="cpu")
    with pytest.raises(ValueError, match="integers"):
        spacing_sweep(model, X, motif_a=A, motif_b=B, spacings=[], device="cpu")
    with pytest.raises(ValueError, match="does not fit"):
        spacing_sweep(model, X, motif_a=A, motif_b=B, position_a=38, device="cpu")
    with pytest.raises(ValueError, match="ci"):
        global_importance(model, X, insertions=[(A, 0)], ci="exact", device="cpu")
    with pytest.raises(ValueError, match="method"):
        global_importance(model, X, insertions=[(A, 0)], method="quick", device="cpu")
    with pytest.raises(ValueError, match="out of range"):
        global_importance(model, X, insertions=[(A, 0)], target=3, device="cpu")
    with pytest.raises(ValueError, match="batch_size"):
        motif_effects(model, X, motifs={"A": A}, batch_size=0, device="cpu")
    with pytest.raises(ValueError, match="strand"):
        motif_effects(model, X, motifs={"A": A}, strand="+-", device="cpu")
    with pytest.raises(ValueError, match="empty"):
        motif_effects(model, X, motifs={}, device="cpu")
    with pytest.raises(ValueError, match="one-hot"):
        spacing_sweep(model, X * 0.5, motif_a=A, motif_b=B, device="cpu")
    result = spacing_sweep(model, X, motif_a=A, motif_b=B, spacings=[30], orientations="++", device="cpu")
    assert result.skipped == (("++", 30),) and math.isnan(float(result.effect[0, 0]))
    with pytest.raises(ValueError, match="no valid"):
        result.peak()
    with pytest.raises(ValueError, match="by must be"):
        result.peak("size")
