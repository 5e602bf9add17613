"""DeepLIFT rules for a user's own modules (issue 21, part 3): refused without a rule, exact with one.

The oracle is completeness, computed here from plain forward passes: at the observed bases the
contributions add up to ``f(x) - mean over references f(r)``; and the same function with a
built-in rule (``nn.SiLU``) gives the same contributions.
"""

import pytest
import torch
from torch import nn

from tests.helpers import random_one_hot
from tests.models import Swish, SwishNet
from xai_widgets import methods
from xai_widgets.methods import _deeplift_rules, deep_lift_shap, deeplift_support, register_deeplift_rule

X = random_one_hot(3, 40, seed=1)


def completeness_gap(model, result):
    """``|sum of contributions - (f(x) - mean_r f(r))|`` per sequence, from plain forward passes."""
    n, n_refs = result.references.shape[:2]
    with torch.no_grad():
        fx = model(X).double()[:, 0]
        fr = model(result.references.reshape(n * n_refs, 4, -1)).double()[:, 0].view(n, n_refs)
    return (result.values.double().sum((1, 2)) - (fx - fr.mean(1))).abs()


def test_a_custom_module_is_refused_without_a_rule():
    model = SwishNet().eval()
    with pytest.raises(ValueError, match=r"no rule for act \(Swish\).*rules=\{TheClass: 'rescale'\}"):
        deep_lift_shap(model, X, n_shuffles=3, random_state=0)
    assert deeplift_support(model, X).startswith("no: DeepLIFT has no rule for act (Swish)")
    assert methods.capabilities(model, X)["deep_lift_shap"].startswith("no:")


def test_the_rescale_rule_of_a_custom_module_is_complete_and_equals_the_built_in_rule():
    model = SwishNet().eval()
    result = deep_lift_shap(model, X, n_shuffles=8, random_state=0, rules={Swish: "rescale"})
    gap = completeness_gap(model, result)
    assert float(gap.max()) < 1e-4, gap
    # the gradient alone is far from complete on this model: the rule is what makes the sum exact
    with torch.no_grad():
        change = model(X)[:, 0].double()[:, None] - model(result.references.flatten(0, 1)).view(3, 8).double()
    grads = []
    for k in range(8):
        r = result.references[:, k]
        path = X.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(path)[:, 0].sum(), path)
        grads.append((grad * (X - r)).sum((1, 2)).double())
    assert float((torch.stack(grads, 1) - change).abs().max()) > 1e-2
    # the same function with a built-in rule, same weights: the same contributions
    silu = SwishNet(activation=nn.SiLU()).eval()
    builtin = deep_lift_shap(silu, X, references=result.references, random_state=0)
    torch.testing.assert_close(result.hypothetical, builtin.hypothetical, atol=1e-5, rtol=1e-4)


def test_register_deeplift_rule_reaches_support_capabilities_and_the_method(monkeypatch):
    monkeypatch.setattr(_deeplift_rules, "_REGISTERED", {})  # restored after the test

    class MySwish(Swish):
        pass

    model = SwishNet(activation=MySwish()).eval()
    assert deeplift_support(model).startswith("no:")
    register_deeplift_rule(MySwish)
    assert deeplift_support(model) == "yes"  # traced: the module is one ruled call
    assert deeplift_support(model, X) == "yes"  # probed
    assert methods.capabilities(model, X)["deep_lift_shap"] == "yes"
    registered = deep_lift_shap(model, X, n_shuffles=4, random_state=0)
    assert float(completeness_gap(model, registered).max()) < 1e-4
    given = deep_lift_shap(SwishNet(activation=Swish()).eval(), X, n_shuffles=4, random_state=0,
                           rules={Swish: "rescale"})
    torch.testing.assert_close(registered.hypothetical, given.hypothetical)


def test_rules_are_checked():
    model = SwishNet().eval()
    with pytest.raises(ValueError, match="must be one of"):
        deep_lift_shap(model, X, rules={Swish: "reveal_cancel"})
    with pytest.raises(TypeError, match="torch.nn.Module subclass"):
        deep_lift_shap(model, X, rules={"Swish": "rescale"})
    with pytest.raises(TypeError, match="torch.nn.Module subclass"):
        register_deeplift_rule(int)

    class Halve(nn.Module):  # not element-wise: keeps every second position
        def forward(self, x):
            return torch.sigmoid(x[..., ::2])

    halving = nn.Sequential(nn.Conv1d(4, 3, 5, padding=2), Halve(), nn.Flatten(), nn.Linear(60, 1)).eval()
    with pytest.raises(ValueError, match="element-wise"):
        deep_lift_shap(halving, X, rules={Halve: "rescale"})
