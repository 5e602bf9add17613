"""One registry of attribution methods (issue 21, part 3): a method registered once appears in the
flipper's menu, in capabilities and diagnose, and in the Zarr store; every entry's check agrees
with capabilities and with what the method does; one spelling per method."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
import torch
import zarr
from scipy import stats
from torch import nn

from tests.helpers import random_one_hot
from tests.models import Reused, SwishNet, TinyRNN
from xai_widgets import methods
from xai_widgets.methods import (
    Applicability,
    AttributionStore,
    attribute_to_store,
    capabilities,
    deeplift_support,
    diagnose,
    fast_ism_support,
    get_method,
    method_names,
    register_method,
    saturation_mutagenesis,
    unregister_method,
)
from xai_widgets.widgets import NucleotideFlipper
from xai_widgets.widgets.core import FlipperCore

L = 24
X = random_one_hot(5, L, seed=4)


def cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(4, 4, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * L, 2)).eval()


@dataclass(frozen=True)
class ToyResult:
    values: torch.Tensor
    X: torch.Tensor
    target: int
    method: ClassVar[str] = "toy"

    def per_position(self):
        return self.values.sum(1)


def toy(model, X, *, target=None, scale=1.0):
    """A user's method: the prediction times the position, at the observed base, times ``scale``."""
    with torch.no_grad():
        out = model(X)[:, target]
    return ToyResult(scale * out[:, None, None] * X * torch.arange(X.shape[2]), X, target)


def expected_toy(model, X, target, scale):
    """The toy's map computed here, position by position."""
    out = torch.stack([model(X[i : i + 1])[0, target] for i in range(len(X))]).detach()
    expected = torch.zeros(X.shape)
    for i in range(len(X)):
        for j in range(X.shape[2]):
            b = int(X[i, :, j].argmax())
            expected[i, b, j] = scale * out[i] * j
    return expected


@pytest.fixture
def registered():
    entry = register_method("toy", toy, label="toy (test)", defaults={"scale": 2.0})
    yield entry
    unregister_method("toy")


def test_a_registered_method_is_in_the_flippers_menu_and_runs_there(registered):
    model = cnn()
    core = FlipperCore(model, X[:1], target=1, device="cpu")
    assert "toy" in core.available_methods and core.method_options["toy"] == {"scale": 2.0}
    core.method = "toy"
    _, attribution = core.compute()
    torch.testing.assert_close(attribution, expected_toy(model, X[:1], 1, 2.0)[0])
    flipper = NucleotideFlipper(model, X[:1], target=1, method="toy", device="cpu",
                                method_options={"toy": {"scale": 3.0}})
    assert ("toy (test)", "toy") in flipper.method_dropdown.options
    assert flipper.method_dropdown.value == "toy"
    torch.testing.assert_close(flipper.attribution, expected_toy(model, X[:1], 1, 3.0)[0])
    flipper.method_dropdown.value = "saliency"
    assert flipper.method == "saliency"
    flipper.method_dropdown.value = "toy"
    torch.testing.assert_close(flipper.attribution, expected_toy(model, X[:1], 1, 3.0)[0])
    # the menu is read from the registry when a widget is built
    unregister_method("toy")
    try:
        assert "toy" not in FlipperCore(model, X[:1], target=1, device="cpu").available_methods
    finally:
        register_method("toy", toy, label="toy (test)", defaults={"scale": 2.0})


def test_a_method_that_does_not_apply_is_left_out_of_menus_with_its_reason():
    def only_with_a_head(model, X=None):
        return APPLIES if hasattr(model, "head") else Applicability(False, "needs a `head` attribute; add one")

    APPLIES = Applicability(True)
    register_method("toy_headed", toy, applicability=only_with_a_head)
    try:
        model = cnn()
        assert capabilities(model, X)["toy_headed"] == "no: needs a `head` attribute; add one"
        assert capabilities(TinyRNN(), X)["toy_headed"] == "yes"
        core = FlipperCore(model, X[:1], target=0, device="cpu")
        assert "toy_headed" not in core.available_methods
        with pytest.raises(ValueError, match="toy_headed does not apply to Sequential: no: needs a `head`"):
            FlipperCore(model, X[:1], target=0, method="toy_headed", device="cpu")
        result = diagnose(model, X, target=0, random_state=0)
        assert result.applicability["toy_headed"].startswith("no:") and "toy_headed" not in result.rank_agreement
    finally:
        unregister_method("toy_headed")


def test_diagnose_reports_and_ranks_a_registered_method(registered):
    model = cnn()
    result = diagnose(model, X, target=1, random_state=0)
    assert result.applicability["toy"] == "yes"
    # the rank agreement with ISM, computed here from the toy's map at its interactive defaults
    ism = saturation_mutagenesis(model, X, target=1).values.sum(1)
    toy_scores = expected_toy(model, X, 1, 2.0).sum(1)
    rho = np.mean([stats.spearmanr(a, b)[0] for a, b in zip(toy_scores.numpy(), ism.numpy())])
    assert result.rank_agreement["toy"] == pytest.approx(rho, abs=1e-6)
    assert "rank agreement with ISM, toy" in result.summary() and "  toy: yes" in result.summary()


def test_the_store_writes_and_reads_back_a_registered_method(registered, tmp_path):
    model = cnn()
    written = attribute_to_store(model, X, store=tmp_path / "toy", method="toy", target=1, chunk_size=2, client=None,
                                 options={"scale": 3.0})
    store = AttributionStore.open(tmp_path / "toy")
    assert store.complete and store.method == "toy" and written.metadata == store.metadata
    assert store.metadata["options"] == {"scale": 3.0}
    expected = expected_toy(model, X, 1, 3.0).numpy()
    np.testing.assert_allclose(store.values(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(store.hypothetical(), expected, rtol=1e-5, atol=1e-6)  # no hypothetical: the values
    np.testing.assert_array_equal(store.X(), X.numpy())
    # resuming with another method is refused; with the same, it continues
    with pytest.raises(ValueError, match="method"):
        attribute_to_store(model, X, store=tmp_path / "toy", method="saliency", target=1, chunk_size=2, client=None)
    again = attribute_to_store(model, X, store=tmp_path / "toy", method="toy", target=1, chunk_size=2, client=None,
                               options={"scale": 3.0})
    np.testing.assert_array_equal(again.values(), store.values())


MODELS = {"cnn": cnn, "reused": lambda: Reused().eval(), "lstm": lambda: TinyRNN().eval(),
          "custom activation": lambda: SwishNet().eval()}
SMALL = {"integrated_gradients": {"n_steps": 4, "n_baselines": 2}, "deep_lift_shap": {"n_shuffles": 2},
         "occlusion": {"window": 4, "n_shuffles": 2}}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_entrys_check_agrees_with_capabilities_and_with_the_method(name):
    model = MODELS[name]()
    for given in (None, X):
        caps = capabilities(model, given)
        assert set(caps) == set(method_names()) | {"fast_ism"}
        assert caps["fast_ism"] == fast_ism_support(model)
        assert caps["deep_lift_shap"] == deeplift_support(model, given)
        for method in method_names():
            answer = get_method(method).applies_to(model, given)
            assert isinstance(answer, Applicability) and str(answer) == caps[method], method
    applies = {m: get_method(m).applies_to(model, X).applies for m in method_names()}
    assert applies["deep_lift_shap"] == (name in ("cnn", "reused"))
    assert all(applies[m] for m in method_names() if m != "deep_lift_shap")
    for method in method_names():  # "yes" means the method runs; "no" means it refuses
        entry = get_method(method)
        options = {**entry.defaults, **SMALL.get(method, {})}
        if applies[method]:
            result = entry.run(model, X, target=0, device="cpu", options=options)
            assert result.values.shape == X.shape and result.method == method
            # multiplies_by_input agrees with the result's own per-position scores
            torch.testing.assert_close(entry.per_position(result.values, X), result.per_position())
        else:
            with pytest.raises(ValueError, match="DeepLIFT"):
                entry.run(model, X, target=0, device="cpu", options=options)


def test_an_unknown_name_raises_listing_the_known_ones(tmp_path):
    model = cnn()
    calls = [lambda: get_method("lime"),
             lambda: attribute_to_store(model, X, store=tmp_path / "s", method="lime", target=0, client=None),
             lambda: FlipperCore(model, X[:1], target=0, method="lime", device="cpu")]
    for call in calls:
        with pytest.raises(ValueError, match="lime") as error:
            call()
        assert all(repr(name) in str(error.value) for name in method_names()), str(error.value)


def test_the_old_spelling_of_ism_warns_and_old_stores_resume(tmp_path):
    model = cnn()
    with pytest.warns(FutureWarning, match="now spelled 'ism'"):
        assert get_method("saturation_mutagenesis") is get_method("ism")
    caps = capabilities(model)
    assert "saturation_mutagenesis" not in caps
    with pytest.warns(FutureWarning, match=r"capabilities\(\)\['ism'\]"):
        assert caps["saturation_mutagenesis"] == caps["ism"] == "yes"
    with pytest.raises(KeyError):
        caps["lime"]
    path = tmp_path / "old"
    with pytest.warns(FutureWarning):
        store = attribute_to_store(model, X, store=path, method="saturation_mutagenesis", target=0, chunk_size=2,
                                   client=None)
    assert store.method == "ism" and store.metadata["method"] == "ism"
    # a store written before the rename: its metadata says "saturation_mutagenesis"; one chunk left to do
    group = zarr.open_group(str(path), mode="r+")
    group.attrs["method"] = "saturation_mutagenesis"
    group["done"][:] = np.array([True, True, False])
    group["values"][4:] = 0.0
    resumed = attribute_to_store(model, X, store=path, method="ism", target=0, chunk_size=2, client=None)
    assert resumed.complete and resumed.method == "ism"
    np.testing.assert_allclose(resumed.values(), saturation_mutagenesis(model, X, target=0).values.numpy(),
                               atol=1e-6)


def test_registration_is_checked():
    with pytest.raises(ValueError, match="identifier"):
        register_method("my method", toy)
    with pytest.raises(ValueError, match="registered already"):
        register_method("ism", toy)
    with pytest.raises(ValueError, match="deprecated spelling"):
        register_method("saturation_mutagenesis", toy)
    with pytest.raises(TypeError, match=r"f\(model, X, \*, target"):
        register_method("one_argument", lambda X: X)
    with pytest.raises(TypeError, match="defaults"):
        register_method("bad_defaults", toy, defaults=[("scale", 2)])
    for name in ("my method", "one_argument", "bad_defaults"):
        assert name not in method_names()

    register_method("says_yes", toy, applicability=lambda model, X=None: "yes")
    register_method("flat", lambda model, X, *, target=None: ToyResult(X.sum(1), X, target))
    try:
        with pytest.raises(TypeError, match="must return an Applicability"):
            capabilities(cnn(), X)
        with pytest.raises(ValueError, match=r"expected the shape of X, \(5, 4, 24\)"):
            get_method("flat").run(cnn(), X, target=0)
    finally:
        unregister_method("says_yes")
        unregister_method("flat")
    before = method_names()
    replaced = register_method("ism", saturation_mutagenesis, label="ISM, my label", replace=True,
                               hypothetical=get_method("ism").hypothetical)
    try:
        assert get_method("ism") is replaced and get_method("ism").label == "ISM, my label"
        assert method_names() == before  # replaced in place: the menus keep their order
    finally:
        register_method("ism", saturation_mutagenesis, label="ISM (centred)", replace=True,
                        hypothetical=replaced.hypothetical)
    assert methods.method_names(interactive=True) == ("ism", "saliency", "gradient_x_input", "integrated_gradients",
                                                       "deep_lift_shap")
    with pytest.raises(ValueError, match="needs a reason"):
        Applicability(False)
    assert str(Applicability.from_answer("unknown: pass X")) == "unknown: pass X"
    assert not Applicability.from_answer("no: an LSTM") and Applicability.from_answer("yes")
