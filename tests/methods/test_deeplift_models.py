"""DeepLIFT on models whose nonlinearities are reused, in-place, functional or multiplicative
(issue 11): either the exact answer, checked against the same weights written with one module
per call (and against tangermeme), or a refusal that names the culprit."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.helpers import random_one_hot
from tests.models import Reused
from xai_widgets import data, zoo
from xai_widgets.contract import Exp
from xai_widgets.methods import deep_lift_shap, deeplift_support


def oracle(twin, X, references, target=0, **extra_ops):
    """tangermeme's DeepLIFT/SHAP hypothetical contributions of ``twin`` on the same references."""
    from tangermeme.deep_lift_shap import _nonlinear
    from tangermeme.deep_lift_shap import deep_lift_shap as tangermeme_dls

    ops = {Exp: _nonlinear} if extra_ops.get("exp") else None
    return tangermeme_dls(twin, X, target=target, references=references, hypothetical=True, device="cpu",
                          additional_nonlinear_ops=ops, warning_threshold=1e9).detach()


def assert_matches(ours, expected, rtol=1e-4):
    scale = expected.abs().max()
    assert scale > 1e-5  # the comparison is not vacuous
    assert float((ours - expected).abs().max() / scale) < rtol


# --- kind 1: a module called more than once in one forward pass -----------------------------

def test_issue_reused_relu_equals_one_relu_per_call():
    X = data.one_hot(["ACGTTGCAAGCTTACGGATCCATGCAGTCA"])
    reused, separate = Reused(), Reused(separate=True)
    assert separate.relu2 is not separate.relu and reused.relu2 is reused.relu
    assert deeplift_support(reused) == "yes" and deeplift_support(reused, X) == "yes"
    ours = deep_lift_shap(reused, X, n_shuffles=5, random_state=0, device="cpu")
    expected = deep_lift_shap(separate, X, references=ours.references, device="cpu")
    torch.testing.assert_close(ours.hypothetical, expected.hypothetical, rtol=0, atol=1e-7)
    assert_matches(ours.hypothetical, oracle(separate, X, ours.references))
    assert float(ours.gap.abs().max()) < 1e-5


class Branches(nn.Module):
    """One activation module shared by two parallel branches (sibling of the reused ReLU)."""

    def __init__(self, act, separate=False):
        super().__init__()
        torch.manual_seed(1)
        self.a, self.b = nn.Conv1d(4, 6, 7, padding=3), nn.Conv1d(4, 6, 3, padding=1)
        self.act = act
        self.act_b = copy.deepcopy(act) if separate else act
        self.pool, self.fc = nn.MaxPool1d(4), nn.Linear(6 * 10, 2)

    def forward(self, x):
        h = self.act(self.a(x)) + self.act_b(self.b(x))
        return self.fc(self.pool(h).flatten(1))


@pytest.mark.parametrize("make_act", [nn.ELU, Exp, lambda: nn.ReLU(inplace=True)], ids=["elu", "exp", "relu_inplace"])
def test_activation_shared_by_two_branches(make_act):
    X = random_one_hot(3, 40, seed=3)
    model = Branches(make_act())
    twin = Branches(make_act(), separate=True)
    twin.load_state_dict(model.state_dict())
    for module in twin.modules():
        if hasattr(module, "inplace"):
            module.inplace = False
    ours = deep_lift_shap(model, X, target=1, n_shuffles=4, random_state=2, device="cpu")
    expected = oracle(twin, X, ours.references, target=1, exp=isinstance(model.act, Exp))
    assert_matches(ours.hypothetical, expected)
    assert float(ours.convergence_delta.max()) < 1e-4


def test_pool_module_reused():
    class TwoPools(nn.Module):
        def __init__(self, separate=False):
            super().__init__()
            torch.manual_seed(4)
            self.c1, self.c2 = nn.Conv1d(4, 5, 5, padding=2), nn.Conv1d(5, 5, 3, padding=1)
            self.relu1, self.relu2, self.pool = nn.ReLU(), nn.ReLU(), nn.MaxPool1d(2)
            self.pool2 = nn.MaxPool1d(2) if separate else self.pool
            self.fc = nn.Linear(5 * 8, 1)

        def forward(self, x):
            h = self.pool(self.relu1(self.c1(x)))
            return self.fc(self.pool2(self.relu2(self.c2(h))).flatten(1))

    X = random_one_hot(2, 32, seed=5)
    model, twin = TwoPools(), TwoPools(separate=True)
    ours = deep_lift_shap(model, X, n_shuffles=3, random_state=0, device="cpu")
    assert_matches(ours.hypothetical, oracle(twin, X, ours.references))


# --- kind 2: in-place activations ------------------------------------------------------------

def sequential(inplace, pool=False):
    torch.manual_seed(6)
    layers = [nn.Conv1d(4, 8, 5, padding=2), nn.ReLU(inplace=inplace)]
    layers += [nn.MaxPool1d(3), nn.Flatten(), nn.Linear(80, 1)] if pool else [nn.Flatten(), nn.Linear(240, 1)]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("pool", [False, True], ids=["issue", "before_maxpool"])
def test_inplace_relu_equals_out_of_place(pool):
    X = random_one_hot(2, 30, seed=7)
    model, twin = sequential(True, pool), sequential(False, pool)
    ours = deep_lift_shap(model, X, n_shuffles=4, random_state=1, device="cpu")
    expected = deep_lift_shap(twin, X, references=ours.references, device="cpu")
    torch.testing.assert_close(ours.hypothetical, expected.hypothetical, rtol=0, atol=1e-7)
    assert_matches(ours.hypothetical, oracle(twin, X, ours.references))
    assert model[1].inplace  # still in-place, and the model still predicts as before
    with torch.no_grad():
        torch.testing.assert_close(model(X), twin(X))


# --- fine: residual connections --------------------------------------------------------------

class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(8)
        self.c0, self.c1, self.relu0, self.relu1 = (nn.Conv1d(4, 6, 3, padding=1), nn.Conv1d(6, 6, 5, padding=2),
                                                     nn.ReLU(), nn.ReLU())
        self.fc = nn.Linear(6, 1)

    def forward(self, x):
        h = self.relu0(self.c0(x))
        h = h + self.relu1(self.c1(h))
        return self.fc(h.mean(-1))


def test_residual_model_is_supported_and_exact():
    X = random_one_hot(2, 50, seed=9)
    model = Residual()
    assert deeplift_support(model) == "yes" and deeplift_support(model, X) == "yes"
    ours = deep_lift_shap(model, X, n_shuffles=4, random_state=3, device="cpu")
    assert_matches(ours.hypothetical, oracle(model, X, ours.references))


# --- kind 3: nonlinearities the rules cannot see -> refusal naming them -----------------------

class Functional(nn.Module):
    def __init__(self, kind):
        super().__init__()
        torch.manual_seed(10)
        self.kind = kind
        self.conv, self.fc, self.sigmoid = nn.Conv1d(4, 4, 5, padding=2), nn.Linear(4, 1), nn.Sigmoid()

    def forward(self, x):
        h = self.conv(x)
        h = {"F.relu": lambda: F.relu(h), "x.relu()": lambda: h.relu(), "torch.tanh": lambda: torch.tanh(h),
             "softmax": lambda: torch.softmax(h, dim=1), "max_pool1d": lambda: F.max_pool1d(h, 2),
             "gating": lambda: torch.sigmoid(h) * h, "module_gating": lambda: self.sigmoid(h) * h,
             "square": lambda: h ** 2, "divide": lambda: h / (1 + h.abs().detach())}[self.kind]()
        return self.fc(h.mean(-1))


REFUSALS = {"F.relu": "torch.nn.functional.relu", "x.relu()": "Tensor.relu", "torch.tanh": "torch.tanh",
            "softmax": "torch.softmax", "max_pool1d": "torch.nn.functional.max_pool1d", "gating": "torch.sigmoid",
            "module_gating": "product of two input-dependent tensors", "square": "pow`",
            "divide": "Tensor.abs"}


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_unseen_nonlinearity_is_refused_by_name(kind):
    X = random_one_hot(1, 20)
    model = Functional(kind)
    for answer in (deeplift_support(model, X), deeplift_support(model)):
        assert answer.startswith("no: ") and REFUSALS[kind] in answer
        assert "integrated_gradients" in answer
    with pytest.raises(ValueError, match="DeepLIFT cannot explain this model") as error:
        deep_lift_shap(model, X, n_shuffles=2, device="cpu")
    assert REFUSALS[kind] in str(error.value) and "`Functional`" not in str(error.value)
    assert "the model's forward (Functional)" in str(error.value)


def test_refusal_names_the_submodule_that_called_it():
    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(4, 4, 3, padding=1)

        def forward(self, x):
            return torch.exp(self.conv(x))

    model = nn.Sequential(Gate(), nn.Flatten(), nn.Linear(40, 1))
    X = random_one_hot(1, 10)
    for answer in (deeplift_support(model, X), deeplift_support(model)):
        assert "`torch.exp` in the forward of `0` (Gate)" in answer and answer.startswith("no: ")


def test_weights_only_nonlinearity_and_constant_products_are_fine():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(11)
            self.conv, self.act, self.fc = nn.Conv1d(4, 4, 3, padding=1), nn.ReLU(), nn.Linear(4, 1)
            self.log_scale = nn.Parameter(torch.randn(4, 1))

        def forward(self, x):
            if x.shape[1] != 4:  # data-dependent Python: torch.fx cannot trace this
                raise ValueError("one-hot please")
            h = self.act(self.conv(x)) * torch.exp(self.log_scale) / 2.0
            return self.fc(h.mean(-1))

    X = random_one_hot(2, 24, seed=12)
    model = Scaled()
    assert deeplift_support(model) == "yes" and deeplift_support(model, X) == "yes"
    ours = deep_lift_shap(model, X, n_shuffles=3, random_state=0, device="cpu")
    assert_matches(ours.hypothetical, oracle(model, X, ours.references))
    assert all(p.requires_grad for p in model.parameters())  # the probe froze them only while it ran


def test_support_is_unknown_when_nothing_can_be_checked():
    class Fussy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4 * 37, 1)

        def forward(self, x):
            if x.shape[-1] != 37:
                raise ValueError("length 37 only")
            return self.fc(x.flatten(1))

    model = Fussy()
    assert deeplift_support(model).startswith("unknown: ")
    assert deeplift_support(model, random_one_hot(1, 37)) == "yes"


def test_zoo_models_are_supported():
    for name in zoo.list_models():
        if name.startswith(("attention", "danq")):
            assert deeplift_support(zoo.load(name, device="cpu")).startswith("no: DeepLIFT has no rule")
        else:
            assert deeplift_support(zoo.load(name, device="cpu")) == "yes", name


# --- the summation gap -----------------------------------------------------------------------

class TrainModeNorm(nn.Module):
    """Batch norm forced into training mode inside forward: it mixes sequence and reference rows,
    which no probe of single operations sees; only the summation gap gives it away."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(13)
        self.conv, self.bn = nn.Conv1d(4, 6, 5, padding=2), nn.BatchNorm1d(6)
        self.act, self.fc = nn.ReLU(), nn.Linear(6, 1)

    def forward(self, x):
        self.bn.train()
        return self.fc(self.act(self.bn(self.conv(x))).mean(-1))


def test_gap_raises_by_default_and_warns_on_request():
    X = random_one_hot(2, 30, seed=14)
    model = TrainModeNorm()
    with pytest.raises(ValueError, match=r"do not add up.*batch norm or dropout in training mode.*on_gap='warn'"):
        deep_lift_shap(model, X, n_shuffles=3, random_state=0, device="cpu")
    with pytest.warns(RuntimeWarning, match="do not add up"):
        result = deep_lift_shap(model, X, n_shuffles=3, random_state=0, device="cpu", on_gap="warn")
    assert result.gap.shape == (2,) and float(result.gap.abs().max()) > 1e-3
    with pytest.raises(ValueError, match="on_gap must be"):
        deep_lift_shap(model, X, on_gap="ignore")
    with pytest.raises(ValueError, match="gap_tolerance must be"):
        deep_lift_shap(model, X, gap_tolerance=0)


def test_gap_is_the_signed_summation_error_per_sequence():
    X = random_one_hot(3, 40, seed=15)
    model = Residual()
    result = deep_lift_shap(model, X, n_shuffles=4, random_state=1, device="cpu")
    with torch.no_grad():
        f_x = model(X)[:, 0]
        f_r = model(result.references.flatten(0, 1))[:, 0].view(3, 4)
    total = result.values.sum((1, 2))  # hypothetical is the mean over references, so is this sum
    torch.testing.assert_close(result.gap, total - (f_x - f_r.mean(1)), rtol=0, atol=1e-5)
    assert result.convergence_delta.shape == (3, 4) and float(result.gap.abs().max()) < 1e-5
    # a tolerance below float32 rounding turns the (tiny) gap into an error
    with pytest.raises(ValueError, match="do not add up"):
        deep_lift_shap(model, X, n_shuffles=4, random_state=1, device="cpu", gap_tolerance=1e-12)


def test_activation_off_the_batch_axis_is_refused():
    class Transposed(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.relu = nn.Conv1d(4, 4, 3), nn.ReLU()

        def forward(self, x):  # the ReLU sees (C, N, L): sequence and reference are not paired on axis 0
            return self.relu(self.conv(x).transpose(0, 1)).transpose(0, 1).mean((1, 2))[:, None]

    X = random_one_hot(2, 20)
    answer = deeplift_support(Transposed(), X)
    assert answer.startswith("no: `relu` (ReLU) got a tensor of shape (4, 2, 18) whose first axis is not the batch")
    with pytest.raises(ValueError, match="first axis is not the batch"):
        deep_lift_shap(Transposed(), X, n_shuffles=2, device="cpu")


def test_functional_dropout_in_training_mode_is_refused():
    class Drop(nn.Module):
        def __init__(self, training):
            super().__init__()
            self.conv, self.fc, self.training_flag = nn.Conv1d(4, 4, 3), nn.Linear(4, 1), training

        def forward(self, x):
            return self.fc(F.dropout(self.conv(x), 0.5, training=self.training_flag).mean(-1))

    X = random_one_hot(1, 20)
    assert deeplift_support(Drop(False), X) == "yes"
    answer = deeplift_support(Drop(True), X)
    assert "`torch.nn.functional.dropout`" in answer and "dropout in training mode" in answer


def test_traced_model_with_slices_and_shapes():
    class Sliced(nn.Module):
        def __init__(self, gate):
            super().__init__()
            self.conv, self.relu, self.fc, self.gate = nn.Conv1d(4, 6, 3, padding=1), nn.ReLU(), nn.Linear(3, 1), gate

        def forward(self, x):
            h = self.relu(self.conv(x))
            h = h[:, :3] * h[:, 3:] if self.gate else h[:, :3] + h[:, 3:]
            return self.fc(h.view(h.shape[0], 3, -1).mean(-1))

    X = random_one_hot(2, 16, seed=16)
    assert deeplift_support(Sliced(False)) == "yes"  # traced with torch.fx: no input to run
    assert "`operator.mul` in the model's forward (Sliced) is a product" in deeplift_support(Sliced(True))
    torch.manual_seed(17)
    model = Sliced(False)
    ours = deep_lift_shap(model, X, n_shuffles=3, random_state=0, device="cpu")
    assert_matches(ours.hypothetical, oracle(model, X, ours.references))
