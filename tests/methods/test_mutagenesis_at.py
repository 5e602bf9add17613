"""methods.mutagenesis_at: saturation mutagenesis at chosen positions, against a plain loop of
forward passes (tests.models.naive_ism)."""

import pytest
import torch

from tests.helpers import random_one_hot
from tests.models import TinyRNN, naive_ism
from xai_widgets import zoo
from xai_widgets.methods import mutagenesis_at


@pytest.mark.parametrize("name", ["basset", "rnn"])
def test_positions_match_forward_passes_and_the_rest_is_zero(name):
    model = zoo.load("basset_exp_motif_presence", device="cpu") if name == "basset" else TinyRNN()
    X = random_one_hot(2, 64, seed=5)
    target = 3 if name == "basset" else 1
    positions = [0, 7, 8, 31, 63]
    result = mutagenesis_at(model.eval(), X, positions=positions, target=target, device="cpu")
    expected = naive_ism(model, X, target)
    torch.testing.assert_close(result.delta[:, :, positions], expected[:, :, positions], atol=1e-5, rtol=1e-4)
    others = [p for p in range(64) if p not in positions]
    assert result.delta[:, :, others].abs().max() == 0
    assert result.path == ("fast" if name == "basset" else "naive")
    with torch.no_grad():
        torch.testing.assert_close(result.prediction, model(X)[:, target])


def test_disjoint_position_sets_add_up_to_the_whole_map():
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    X = random_one_hot(1, 120, seed=2)
    parts = [mutagenesis_at(model, X, positions=torch.arange(a, b), target=0, device="cpu", batch_size=40)
             for a, b in ((0, 50), (50, 51), (51, 120))]
    torch.testing.assert_close(sum(p.delta for p in parts), naive_ism(model, X, 0), atol=1e-5, rtol=1e-4)


def test_bad_positions_and_targets_are_refused():
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    X = random_one_hot(1, 40, seed=1)
    with pytest.raises(ValueError, match="positions must lie in 0..39"):
        mutagenesis_at(model, X, positions=[40], target=0, device="cpu")
    with pytest.raises(ValueError, match="pass target"):
        mutagenesis_at(model, X, positions=[1], device="cpu")


def test_window_engine_is_reused_for_the_same_sequence_and_rebuilt_after_a_change():
    """The flipper asks for several spans of one sequence: one engine serves them all; new content
    or new parameters get a new one (never a stale cache)."""
    import torch

    from tests.helpers import random_one_hot
    from xai_widgets.methods import _engine, mutagenesis_at
    from xai_widgets.zoo.architectures import build

    torch.manual_seed(0)
    model = build("basset", n_targets=1).eval()
    X = random_one_hot(1, 120, seed=3)
    built = []
    original = _engine.WindowEngine.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    _engine.WindowEngine.__init__ = counting
    try:
        first = mutagenesis_at(model, X, positions=range(0, 10), method="fast", device="cpu")
        second = mutagenesis_at(model, X, positions=range(10, 20), method="fast", device="cpu")
        n_same = len(built)
        edited = X.clone()
        edited[0, :, 5] = torch.tensor([0.0, 0.0, 0.0, 1.0]) if X[0, 3, 5] == 0 else torch.tensor([1.0, 0, 0, 0])
        mutagenesis_at(model, edited, positions=range(0, 10), method="fast", device="cpu")
        n_edited = len(built)
        with torch.no_grad():
            model.conv1.weight.mul_(1.5) if hasattr(model, "conv1") else next(model.parameters()).mul_(1.5)
        changed = mutagenesis_at(model, X, positions=range(0, 10), method="fast", device="cpu")
    finally:
        _engine.WindowEngine.__init__ = original
    assert n_same == 2  # the self-check's engine and the one both spans share
    assert n_edited == n_same + 1 and len(built) >= n_edited + 1
    plain = mutagenesis_at(model, X, positions=range(0, 10), method="naive", device="cpu")
    torch.testing.assert_close(changed.delta, plain.delta, atol=1e-5, rtol=0)
    assert not torch.allclose(changed.delta, first.delta)
    assert (second.delta[0, :, 10:20] != 0).any()
