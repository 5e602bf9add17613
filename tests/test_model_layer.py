"""The model layer (issue 21): the contract reads each fact about a model in one place, and every
method, error message and widget menu shows what it reads.

The rule for output names: the model's ``output_names`` attribute, else its card's
``task.target_names`` (metadata), else none (``"0"``, ``"1"``... where names are required).
"""

import pytest
import torch
from torch import nn

from tests.helpers import random_one_hot
from xai_widgets import contract, methods
from xai_widgets.adapt import adapt
from xai_widgets.widgets import AttentionOverlay, NucleotideFlipper
from xai_widgets.widgets.core import FlipperCore

L = 30


def user_model(**attributes) -> nn.Module:
    """A user's own two-output model: no card, nothing from the zoo."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(6 * L, 2)).eval()
    for name, value in attributes.items():
        setattr(model, name, value)
    return model


def test_output_names_rule():
    named = user_model(output_names=["open", "bound"])
    assert contract.output_names(named) == ("open", "bound")
    assert contract.output_names(named, 2) == ("open", "bound")
    assert contract.output_names(named, 3) == ("0", "1", "2")  # names that do not fit are not used
    carded = user_model(card={"task": {"target_names": ["x", "y"]}})
    assert contract.output_names(carded) == ("x", "y")
    both = user_model(output_names=["open", "bound"], card={"task": {"target_names": ["x", "y"]}})
    assert contract.output_names(both) == ("open", "bound")  # the attribute wins over the card
    bare = user_model()
    assert contract.output_names(bare) is None and contract.output_names(bare, 2) == ("0", "1")
    assert contract.output_names(user_model(card="not a dict")) is None
    assert methods.output_names is contract.output_names  # one function, two doors


def test_a_user_model_s_output_names_reach_menus_and_errors():
    model, X = user_model(output_names=["open", "bound"]), random_one_hot(1, L, seed=2)
    with pytest.raises(ValueError, match=r"2 outputs \(0: 'open', 1: 'bound'\): pass target=<index or name>"):
        FlipperCore(model, X, device="cpu")
    with pytest.raises(ValueError, match=r"2 outputs \(0: 'open', 1: 'bound'\)"):
        NucleotideFlipper(model, X, device="cpu")
    with pytest.raises(ValueError, match=r"'closed' is not an output name of the model; its outputs are "
                                         r"\('open', 'bound'\)"):
        FlipperCore(model, X, target="closed", device="cpu")
    with pytest.raises(ValueError, match=r"2 outputs \(0: 'open', 1: 'bound'\)"):
        methods.saliency(model, X, device="cpu")
    core = FlipperCore(model, X, target="bound", device="cpu")
    assert core.target == 1
    flipper = NucleotideFlipper(model, X, target="bound", device="cpu")
    assert flipper.target == 1
    assert flipper.target_dropdown.options == (("0: open", 0), ("1: bound", 1))
    assert flipper.target_dropdown.label == "1: bound"
    assert "1: bound" in flipper.readout.value  # the readout names the output it shows
    flipper.target = "open"
    assert flipper.target == 0


def test_a_model_without_names_gets_numbered_menus():
    model, X = user_model(), random_one_hot(1, L, seed=2)
    flipper = NucleotideFlipper(model, X, target="1", device="cpu")  # "1": the name of an unnamed output
    assert flipper.target == 1
    assert [label for label, _ in flipper.target_dropdown.options] == ["0: output 0", "1: output 1"]
    with pytest.raises(ValueError, match=r"indices 0\.\.1"):
        FlipperCore(model, X, device="cpu")


def test_every_widget_menu_reads_the_one_rule():
    from xai_widgets import zoo

    model = zoo.build("attention", n_targets=2).eval()
    model.output_names = ["open", "bound"]
    overlay = AttentionOverlay(model, random_one_hot(1, 60, seed=1), target="bound", device="cpu")
    assert overlay.target == 1
    assert [label for label, _ in overlay.target_dropdown.options] == ["0: open", "1: bound"]


def test_input_length_and_first_conv_and_card():
    model = user_model()
    assert contract.input_length(model) is None and contract.card(model) == {}
    assert contract.first_conv(model) is model[0]
    model.card = {"task": {"length": 30}, "name": "mine"}
    assert contract.input_length(model) == 30 and contract.card(model)["name"] == "mine"
    model.input_length = 25  # the attribute wins over the card
    assert contract.input_length(model) == 25
    model.input_length = True  # not a length
    assert contract.input_length(model) == 30
    assert contract.input_length(adapt(user_model(), input_length=40)) == 40
    with pytest.raises(ValueError, match="no Conv1d reading the 4 input channels"):
        contract.first_conv(nn.Sequential(nn.Flatten(), nn.Linear(4 * L, 1)))
    strided = nn.Sequential(nn.Conv1d(4, 3, 5, stride=2), nn.Flatten())
    assert contract.first_conv(strided) is strided[0]  # the contract reads it; filter methods refuse it
    with pytest.raises(ValueError, match="stride 1, dilation 1 and groups 1"):
        methods.filters_from_weights(strided)


def test_profile_scaling_lives_in_the_contract():
    from xai_widgets import adapt as adapt_module
    from xai_widgets.methods import _deeplift_rules

    assert adapt_module.ProfileScaling is contract.ProfileScaling is _deeplift_rules.ProfileScaling
    flat = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    out = contract.ProfileScaling()(flat)
    torch.testing.assert_close(out, torch.softmax(flat, 1) * flat)
    out.sum().backward()  # softmax weights are detached: the gradient is the weights themselves
    torch.testing.assert_close(flat.grad, torch.softmax(flat.detach(), 1))
