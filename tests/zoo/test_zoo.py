import json
import socket
from importlib import resources

import pytest
import torch

from xai_widgets import zoo
from xai_widgets._core import predict, resolve_device
from xai_widgets.data import (
    bundled_motifs,
    make_task,
    motif_presence,
    one_hot,
    reverse_complement,
)
from xai_widgets.zoo.architectures import ARCHITECTURES, ConvAttention, ExplaiNN, build
from xai_widgets.zoo.specs import ZOO_SPECS, spec_task, train_from_spec

SHIPPED = zoo.list_models()


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_every_spec_is_shipped_and_small():
    assert SHIPPED == sorted(ZOO_SPECS)
    weights = resources.files("xai_widgets.zoo").joinpath("weights")
    total = sum(weights.joinpath(f"{name}.pt").stat().st_size for name in SHIPPED)
    assert total < 10 * 2**20
    architectures = {zoo.model_card(n)["architecture"] for n in SHIPPED}
    assert architectures == set(ARCHITECTURES)
    activations = {zoo.model_card(n)["config"].get("activation") for n in SHIPPED if n.startswith("basset")}
    assert activations == {"relu", "exp"}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_meets_its_floor_offline(name, no_network):
    model = zoo.load(name, device="cpu")
    card = model.card
    assert not model.training
    spec = ZOO_SPECS[name]
    assert card["task"]["random_state"] == spec.task_kwargs["random_state"]
    task = spec_task(spec)
    metrics = zoo.evaluate(model, task, split="test", device="cpu")
    metric, floor = card["floor"]["metric"], card["floor"]["value"]
    assert (metric, floor) == spec.floor
    assert metrics[metric] >= floor, f"{name}: {metric} {metrics[metric]:.4f} below floor {floor}"
    assert metrics[metric] == pytest.approx(card["metrics"]["test"][metric], abs=1e-3)


@pytest.mark.parametrize("name", SHIPPED)
def test_model_maps_batches_to_targets(name):
    model = zoo.load(name, device="auto")
    card = model.card
    n_targets = len(card["task"]["target_names"])
    lengths = [200] if card["architecture"] == "explainn" else [200, 1000]
    for length in lengths:
        X = torch.nn.functional.one_hot(torch.randint(0, 4, (3, length)), 4).permute(0, 2, 1).float()
        out = predict(model, X, batch_size=2)
        assert out.shape == (3, n_targets) and out.device.type == "cpu" and torch.isfinite(out).all()


def test_list_models_by_task():
    assert zoo.list_models("cooperative_grammar") == ["basset_relu_cooperative_grammar"]
    assert set(zoo.list_models("attribution_benchmark")) == {"basset_exp_attribution_benchmark",
                                                            "basset_relu_attribution_benchmark"}
    assert zoo.list_models("no_such_task") == []


def test_card_contents():
    card = zoo.model_card("basset_exp_motif_presence")
    for key in ("task", "architecture", "config", "training", "metrics", "floor", "environment"):
        assert key in card
    assert card["task"]["name"] == "motif_presence" and card["task"]["n"] >= 25_000
    assert card["training"]["best_epoch"] >= 1
    assert set(card["metrics"]["test"]["per_target_auroc"]) == set(card["task"]["target_names"])
    json.dumps(card)
    with pytest.raises(KeyError, match="available"):
        zoo.model_card("no_such_model")


GRAMMAR_DRIFT = pytest.mark.xfail(
    strict=False,
    reason="on this project's current machine the grammar recipe no longer repeats its shipped run "
           "(epoch 1 valid loss 0.28287 vs 0.28038, epoch 2 0.2368 vs 0.2823), also at commit 9a25f73 "
           "with a fresh environment, while DeepBind's recipe does; cause not found (see the issue notes)")


@pytest.mark.parametrize("name, rel", [("deepbind_motif_presence", 1e-3),
                                       pytest.param("basset_relu_cooperative_grammar", 1e-3, marks=GRAMMAR_DRIFT)])
def test_recipe_reproduces_the_shipped_training_run(name, rel):
    """Retraining from the recipe repeats the shipped run epoch by epoch (the first two epochs
    here, to keep the suite fast; ``scripts/train_zoo.py --check`` replays whole runs)."""
    spec = ZOO_SPECS[name]
    _, card = train_from_spec(spec, progress=False, epochs=2)
    shipped = zoo.model_card(name)["training"]["history"][:2]
    assert len(shipped) == 2
    for new, old in zip(card["training"]["history"], shipped):
        assert new["train_loss"] == pytest.approx(old["train_loss"], rel=rel)
        assert new["valid_loss"] == pytest.approx(old["valid_loss"], rel=rel)


def test_train_early_stops_and_restores_best():
    task = motif_presence(n=600, random_state=1)
    torch.manual_seed(0)
    model = build("deepbind", n_targets=12, n_filters=8)
    result = zoo.train(model, task, epochs=50, patience=2, lr=0.05, progress=False)
    assert len(result.history) < 50
    best = min(h["valid_loss"] for h in result.history)
    assert result.history[result.best_epoch - 1]["valid_loss"] == best
    assert not result.model.training and result.model is model


def test_train_rejects_mismatched_model():
    task = motif_presence(n=50, random_state=1)
    with pytest.raises(ValueError, match="n_targets=12"):
        zoo.train(build("deepbind", n_targets=3), task, progress=False)


def test_evaluate_regression():
    task = make_task("cooperative_grammar", n=200, random_state=2)
    model = zoo.load("basset_relu_cooperative_grammar", device="cpu")
    metrics = zoo.evaluate(model, task, split="all")
    assert set(metrics) >= {"pearson", "mse"} and -1 <= metrics["pearson"] <= 1


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_attention_maps_are_distributions():
    model = zoo.load("attention_motif_presence", device="cpu")
    X = one_hot(["ACGT" * 50, "TTGA" * 50])
    maps = model.attention_maps(X)
    cfg = model.config
    assert maps.shape == (2, cfg["n_layers"], cfg["n_heads"], 200 // cfg["pool"], 200 // cfg["pool"])
    assert torch.allclose(maps.sum(-1), torch.ones(()), atol=1e-5)
    out, per_layer = model.forward_with_attention(X)
    assert torch.allclose(out, model(X)) and len(per_layer) == cfg["n_layers"]


def test_explainn_units_and_motif_initialisation():
    model = ExplaiNN(n_targets=2, n_units=4)
    X = one_hot(["ACGT" * 50])
    assert model.eval().unit_outputs(X).shape == (1, 4)
    with pytest.raises(ValueError, match="length 200"):
        model(one_hot(["ACGT" * 10]))
    motifs = [bundled_motifs()[n] for n in ("CEBPB", "SRF")]
    model.init_filters_from_motifs(motifs, freeze=True)
    w = model.conv1.weight.detach().clone()
    srf = torch.as_tensor(motifs[1].log_odds(), dtype=torch.float32)
    assert torch.allclose(w[1, :, :16], srf[:, :16]) or torch.allclose(w[1, :, 1:17], srf)
    # a training step leaves the frozen filters untouched and moves the free ones
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    batch = one_hot(["ACGT" * 50, "TTGC" * 50])
    model(batch).sum().backward()
    opt.step()
    assert torch.equal(model.conv1.weight[:2], w[:2]) and not torch.equal(model.conv1.weight[2:], w[2:])
    with pytest.raises(ValueError, match="units"):
        ExplaiNN(n_targets=1, n_units=1).init_filters_from_motifs(motifs)


def test_exp_basset_is_close_to_strand_symmetric():
    """A sanity check of learning: a model that learned motifs scores a sequence and its reverse
    complement alike (no strand is privileged in the data)."""
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    X = motif_presence(n=200, random_state=11).X
    a, b = predict(model, X), predict(model, reverse_complement(X))
    assert torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1] > 0.9


def test_build_errors():
    with pytest.raises(KeyError, match="unknown architecture"):
        build("resnet", n_targets=1)
    with pytest.raises(ValueError, match="activation"):
        build("basset", n_targets=1, activation="tanh")
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        build("deepbind", n_targets=1)(torch.zeros(2, 5, 10))
    with pytest.raises(ValueError, match="divisible"):
        ConvAttention(n_targets=1, n_filters=10, n_heads=4)
