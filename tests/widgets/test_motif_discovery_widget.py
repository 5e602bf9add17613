"""MotifDiscovery (issue 15): the logos drawn are the result's matrices (CWM, or the PWM as an
information logo), titles and match tables are the matches of the drawn matrix, a pattern lists
exactly its seqlets, and a seqlet opens its sequence in the flipper centred on it.

The DiscoveryResult is built from modisco-lite-shaped seqlets by the package's own pattern
builder (no TF-MoDISco run: that is tests/methods/test_discovery.py); the expected numbers are computed
here from X and the hypothetical contributions with plain numpy."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import traitlets
from bokeh.events import Tap
from torch import nn

from tests.helpers import random_one_hot
from xai_widgets.methods import MotifMatch
from xai_widgets.methods.discovery import DiscoveryResult, _pattern
from xai_widgets.plots import information_logo, logo_data
from xai_widgets.widgets import MotifDiscovery, NucleotideFlipper

N, L, W = 6, 80, 12
# (sequence, start, end, reverse complement) of each pattern's seqlets, as modisco-lite lists them
SEQLETS = {"pos_0": [(0, 10, 22, False), (1, 30, 42, True), (2, 50, 62, False), (4, 5, 17, False)],
           "neg_0": [(3, 40, 52, False), (5, 60, 72, True)]}


def _match(query, target, e):
    return MotifMatch(query, target, f"MA{len(target):04d}.1", e / 10, e, e * 2, 0, "+")


@pytest.fixture(scope="module")
def setup():
    X = random_one_hot(N, L, seed=3).numpy()
    rng = np.random.default_rng(0)
    hyp = rng.normal(size=X.shape).astype(np.float32)
    hyp[[3, 5]] -= 1.0  # the negative pattern's sequences: mostly negative contributions
    patterns = []
    for name, spans in SEQLETS.items():
        raw = SimpleNamespace(length=W, seqlets=[SimpleNamespace(example_idx=s, start=a, end=b, is_revcomp=r)
                                                 for s, a, b, r in spans])
        patterns.append(_pattern(name, 1 if name.startswith("pos") else -1, raw, 0.3, X, hyp, None, None))
    # different best matches for the two drawn matrices, so the toggle must change them
    patterns[0].matches.update(cwm=[_match("pos_0", "GATA1", 1e-4), _match("pos_0", "TAL1", 0.02)],
                               pwm=[_match("pos_0", "CEBPB", 3e-3)])
    patterns[0].informative.update(cwm=True, pwm=True)
    patterns[1].matches.update(cwm=[], pwm=[_match("neg_0", "REST", 0.05)])
    patterns[1].informative.update(cwm=False, pwm=True)
    result = DiscoveryResult(patterns, N, L, None, None, "3 given matrices", {})
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 3, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(3 * L, 1)).eval()
    return model, torch.as_tensor(X), hyp, result


def _information(p):
    return p * (2 + (p * np.log2(p)).sum(0))


def _expected_windows(name, result):
    """(sequence, start, end, strand) of each seqlet's drawn window, from SEQLETS and the window."""
    a, b = result.pattern(name).window
    return [(s, hi - b, hi - a, "-") if r else (s, lo + a, lo + b, "+") for s, lo, hi, r in SEQLETS[name]]


def test_logos_are_the_drawn_matrices_and_toggle(setup):
    model, X, hyp, result = setup
    w = MotifDiscovery(model, X, result=result, device="cpu")
    assert w.matrix == "cwm" and w.pattern == "pos_0" and w.seqlet is None
    Xn = X.numpy()
    for p in result.patterns:
        a, b = p.window
        # CWM recomputed here: mean of X * hypothetical over the forward-oriented seqlet windows
        cwm = np.zeros((4, W))
        for s, lo, hi, r in SEQLETS[p.name]:
            block = (Xn[s] * hyp[s])[:, lo:hi]
            cwm += block[::-1, ::-1] if r else block
        cwm /= len(SEQLETS[p.name])
        got = w.sources[p.name].data
        expected = logo_data(cwm[:, a:b])
        np.testing.assert_array_equal(got["position"], expected["position"])
        assert got["base"] == expected["base"]
        np.testing.assert_allclose(got["value"], expected["value"], atol=1e-5)
    assert "GATA1" in w.figures["pos_0"].title.text and "4 seqlets" in w.figures["pos_0"].title.text
    assert "no match" in w.figures["neg_0"].title.text
    assert "GATA1" in w.matches_box.value and "TAL1" in w.matches_box.value and "CEBPB" not in w.matches_box.value

    w.matrix_buttons.value = "pwm"  # the toggle is the traitlet
    assert w.matrix == "pwm"
    for p in result.patterns:
        a, b = p.window
        counts = np.zeros((4, W))
        for s, lo, hi, r in SEQLETS[p.name]:
            block = Xn[s][:, lo:hi]
            counts += block[::-1, ::-1] if r else block
        pwm = (counts / len(SEQLETS[p.name]) + 1e-9)
        pwm /= pwm.sum(0)
        expected = logo_data(_information(pwm[:, a:b]))
        np.testing.assert_allclose(w.sources[p.name].data["value"], expected["value"], atol=1e-6)
        np.testing.assert_allclose(w.sources[p.name].data["bottom"], expected["bottom"], atol=1e-6)
    assert "CEBPB" in w.figures["pos_0"].title.text and "GATA1" not in w.figures["pos_0"].title.text
    assert "REST" in w.figures["neg_0"].title.text
    assert "CEBPB" in w.matches_box.value and "GATA1" not in w.matches_box.value
    assert "pwm" in w.pattern_list.options[0][0].lower() and "CEBPB" in w.pattern_list.options[0][0]


def test_a_pattern_lists_its_seqlets_and_a_seqlet_opens_the_flipper(setup):
    model, X, _, result = setup
    w = MotifDiscovery(model, X, result=result, device="cpu", window=20)
    assert w.figures["pos_0"].background_fill_color != w.figures["neg_0"].background_fill_color
    w.on_logo_tap(Tap(w.figures["neg_0"], x=1.0, y=0.0))  # a click on the negative pattern's logo
    assert w.pattern == "neg_0" and w.pattern_list.value == "neg_0"
    assert "uninformative" in w.matches_box.value
    windows = _expected_windows("neg_0", result)
    labels = [label for label, _ in w.seqlet_list.options]
    assert len(labels) == len(windows)
    for label, (s, lo, hi, strand) in zip(labels, windows):
        assert label.startswith(f"sequence {s}  {lo}-{hi} ({strand})"), (label, s, lo, hi, strand)

    w.seqlet_list.value = 1  # a click on the second seqlet
    assert w.seqlet == 1 and isinstance(w.flipper, NucleotideFlipper)
    s, lo, hi, strand = windows[1]
    torch.testing.assert_close(w.flipper.original, X[s:s + 1])
    assert w.flipper.sources["instances"].data["left"] == [lo - 0.5]
    assert w.flipper.sources["instances"].data["right"] == [hi - 0.5]
    x_range = w.flipper.figures["logo"].x_range
    assert x_range.start <= lo - 0.5 and hi - 0.5 <= x_range.end  # centred on the seqlet
    assert abs((x_range.start + x_range.end) / 2 - (lo + hi - 1) / 2) <= 1 or x_range.start == -0.5 or \
        x_range.end == L - 0.5
    assert w.flipper_box.children[1] is w.flipper

    w.pattern = "pos_0"  # another pattern: its seqlets, flipper closed
    assert w.seqlet is None and w.flipper is None and w.flipper_box.children == ()
    assert len(w.seqlet_list.options) == len(SEQLETS["pos_0"])


def test_errors(setup):
    model, X, _, result = setup
    with pytest.raises(ValueError, match="sequences of length"):
        MotifDiscovery(model, X[:3], result=result, device="cpu")
    with pytest.raises(ValueError, match="matrix must be one of"):
        MotifDiscovery(model, X, result=result, matrix="logo", device="cpu")
    with pytest.raises(TypeError, match="discover_motifs"):
        MotifDiscovery(model, X, result=result.patterns, device="cpu")
    empty = DiscoveryResult([], N, L, None, None, "nothing", {})
    with pytest.raises(ValueError, match="no pattern"):
        MotifDiscovery(model, X, result=empty, device="cpu")
    two = nn.Sequential(nn.Conv1d(4, 2, 5), nn.AdaptiveMaxPool1d(1), nn.Flatten()).eval()
    with pytest.raises(ValueError, match="pass target"):
        MotifDiscovery(two, X, result=result, device="cpu")
    w = MotifDiscovery(two, X, result=result, target=1, device="cpu")
    assert w.target == 1
    with pytest.raises(traitlets.TraitError, match="no pattern 'pos_9'"):
        w.pattern = "pos_9"
    with pytest.raises(ValueError, match="seqlet must be a row"):
        w.open_flipper(10)
    with pytest.raises(traitlets.TraitError, match="matrix must be one of"):
        w.matrix = "hcwm"


class Mirror(traitlets.HasTraits):
    pattern = traitlets.Unicode(None, allow_none=True)
    seqlet = traitlets.Int(None, allow_none=True)
    matrix = traitlets.Unicode("cwm")


def test_settable_state_is_traitlets_linked_both_ways(setup):
    model, X, hyp, result = setup
    w = MotifDiscovery(model, X, result=result, device="cpu", window=20)
    mirror = Mirror()
    for name in ("pattern", "seqlet", "matrix"):
        traitlets.link((w, name), (mirror, name))
    assert mirror.pattern == "pos_0"
    w.pattern_list.value = result.patterns[-1].name  # widget -> mirror
    assert mirror.pattern == result.patterns[-1].name
    mirror.matrix = "pwm"  # mirror -> widget: the logos are redrawn
    last = result.patterns[-1]
    np.testing.assert_allclose(sorted(w.sources[last.name].data["value"]),
                               sorted(logo_data(information_logo(last.matrix("pwm")))["value"]), atol=1e-9)
    mirror.seqlet = 0  # opens the flipper on that seqlet's sequence
    row = w.seqlets().iloc[0]
    assert torch.equal(w.flipper.X, X[int(row["sequence"])][None])
