"""The two published zoo models against their sources: DeepSTARR on the fly enhancers (and its two
conversion traps), BPNet against the original model loaded by bpnet-lite, and CTCF peaks."""

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import REALDATA
from xai_widgets import methods, zoo
from xai_widgets.adapt import AdaptedModel, adapt
from xai_widgets.data import dinucleotide_shuffle, one_hot
from xai_widgets.metrics import pearson
from xai_widgets.zoo.published import BPNet, DeepSTARR

REALDATA = REALDATA


def fly_enhancers():
    seqs, y = [], []
    for split in ("train", "val", "test"):
        with open(REALDATA / "deepstarr" / f"fly_enhancers_sample_{split}.tsv", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                seqs.append(row["Sequence"])
                y.append((float(row["Dev_log2_enrichment"]), float(row["Hk_log2_enrichment"])))
    return seqs, torch.tensor(y)


@pytest.fixture(scope="module")
def fly():
    seqs, y = fly_enhancers()
    assert len(seqs) == 3000 and all(len(s) == 249 for s in seqs)
    return one_hot(seqs), y


def raw_deepstarr():
    """The Keras port's state_dict as published (ACTG channels), in the zoo architecture."""
    state = torch.load(REALDATA / "deepstarr" / "deepstarr_keras_port_ACTG.pth", map_location="cpu",
                       weights_only=True)
    model = DeepSTARR().eval()
    model.load_state_dict(state)
    return model


def correlations(pred, y):
    return pearson(pred[:, 0], y[:, 0]), pearson(pred[:, 1], y[:, 1])


@torch.no_grad()
def test_deepstarr_reproduces_the_published_accuracy(fly):
    X, y = fly
    model = zoo.load("deepstarr", device="cpu")
    assert model.card["task"]["target_names"] == ["dev", "hk"]
    dev, hk = correlations(model(X), y)
    assert dev >= 0.65 and hk >= 0.70, (dev, hk)
    measured = model.card["metrics"]["fly_enhancers_3000"]["pearson"]
    assert (dev, hk) == pytest.approx((measured["dev"], measured["hk"]), abs=1e-3)


@torch.no_grad()
def test_deepstarr_traps_fail_the_same_check(fly):
    X, y = fly[0][:1000], fly[1][:1000]  # the train file suffices to show r < 0.4
    raw = raw_deepstarr()
    assert max(correlations(raw(X), y)) < 0.4  # ACGT input into the ACTG weights
    shipped = zoo.load("deepstarr", device="cpu")
    h = X
    for layer in shipped.local_plan().layers:
        h = layer(h)
    assert max(correlations(shipped.dense_head(h.flatten(1)), y)) < 0.4  # torch's channel-major flatten
    # the fix for the first trap, by the adapter instead of the conversion, gives the shipped model
    torch.testing.assert_close(adapt(raw, alphabet="ACTG")(X[:50]), shipped(X[:50]), rtol=1e-5, atol=1e-5)


@torch.no_grad()
def test_deepstarr_fast_ism_matches_naive(fly):
    X = fly[0][:2]
    model = zoo.load("deepstarr", device="cpu")
    fast = methods.saturation_mutagenesis(model, X, target="all", method="fast", device="cpu")
    naive = methods.saturation_mutagenesis(model, X, target="all", method="naive", device="cpu")
    assert fast.path == "fast"
    torch.testing.assert_close(fast.delta, naive.delta, rtol=1e-4, atol=1e-4)
    # and through an adapter to the raw ACTG weights (permutation folded into conv1 for fast ISM)
    adapted = adapt(raw_deepstarr(), alphabet="ACTG")
    via_adapter = methods.saturation_mutagenesis(adapted, X, target="all", method="fast", device="cpu")
    torch.testing.assert_close(via_adapter.delta, naive.delta, rtol=1e-4, atol=1e-4)


def test_deepstarr_rejects_other_lengths():
    with pytest.raises(ValueError, match="length 249"):
        zoo.load("deepstarr", device="cpu")(one_hot(["ACGT" * 50]))
    centred = adapt(zoo.load("deepstarr", device="cpu"), input_length=249)
    assert centred(one_hot(["ACGT" * 50])).shape == (1, 2)


@pytest.fixture(scope="module")
def bpnet_oracle():
    import bpnetlite  # noqa: F401  (a test dependency; unpickling the original model needs it)

    model = torch.load(REALDATA / "bpnet_ctcf" / "bpnet_ctcf_k562.full_model.torch", map_location="cpu",
                       weights_only=False)
    return model.eval()


def random_one_hot(n, length, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.one_hot(torch.randint(0, 4, (n, length), generator=g), 4).permute(0, 2, 1).float()


@torch.no_grad()
def test_bpnet_matches_bpnet_lite(bpnet_oracle):
    from bpnetlite.bpnet import CountWrapper, ProfileWrapper

    raw = zoo.load("bpnet_ctcf", device="cpu", raw=True)
    assert isinstance(raw, BPNet) and raw.config["trimming"] == bpnet_oracle.trimming == 557
    X = random_one_hot(3, 2114, seed=0)
    profile, counts = raw(X)
    expected_profile, expected_counts = bpnet_oracle(X)
    assert profile.shape == (3, 2, 1000) and counts.shape == (3, 1)
    torch.testing.assert_close(profile, expected_profile, rtol=0, atol=1e-5)
    torch.testing.assert_close(counts, expected_counts, rtol=0, atol=1e-5)
    adapted = zoo.load("bpnet_ctcf", device="cpu")
    assert isinstance(adapted, AdaptedModel) and adapted.output_names == ("counts", "profile")
    out = adapted(X)
    torch.testing.assert_close(out[:, :1], CountWrapper(bpnet_oracle)(X), rtol=0, atol=1e-5)
    torch.testing.assert_close(out[:, 1:], ProfileWrapper(bpnet_oracle)(X), rtol=1e-5, atol=1e-4)


def read_fasta_gz(path):
    names, seqs = [], []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            line = line.strip()
            if line.startswith(">"):
                names.append(line[1:])
                seqs.append([])
            elif line:
                seqs[-1].append(line)
    return ["".join(s) for s in seqs]


@torch.no_grad()
def test_ctcf_peaks_beat_their_shuffles():
    peaks = [p for p in read_fasta_gz(REALDATA / "chipseq_peaks" / "ctcf.fa.gz") if set(p.upper()) <= set("ACGT")]
    assert len(peaks) > 30000
    rng = np.random.default_rng(2024)
    n = 200
    chosen = one_hot([peaks[i] for i in rng.choice(len(peaks), n, replace=False)])
    shuffled = dinucleotide_shuffle(chosen, random_state=7)[:, 0]
    assert (shuffled != chosen).any(dim=(1, 2)).float().mean() > 0.99
    background = random_one_hot(n, 2114, seed=11)
    start = (2114 - 100) // 2
    with_peak, with_shuffle = background.clone(), background.clone()
    with_peak[:, :, start : start + 100] = chosen
    with_shuffle[:, :, start : start + 100] = shuffled
    model = zoo.load("bpnet_ctcf", device="cpu")
    counts = [torch.cat([model(batch[i : i + 25])[:, 0] for i in range(0, n, 25)])
              for batch in (with_peak, with_shuffle)]
    fraction = (counts[0] > counts[1]).float().mean().item()
    assert fraction >= 0.95, fraction


def test_methods_work_on_the_adapted_bpnet():
    model = zoo.load("bpnet_ctcf", device="cpu")
    X = random_one_hot(1, 2114, seed=3)
    result = methods.saliency(model, X, target=0, device="cpu")
    raw = zoo.load("bpnet_ctcf", device="cpu", raw=True)
    x = X.clone().requires_grad_(True)
    expected = torch.autograd.grad(raw(x)[1].sum(), x)[0]
    torch.testing.assert_close(result.values, expected, rtol=1e-5, atol=1e-6)
    edits = [(0, 1000, "A"), (0, 1057, "T"), (0, 5, "G")]
    delta = methods.predict_edits(model, X, edits=edits, target="all", device="cpu")
    with torch.no_grad():
        reference = raw(X)[1][0, 0]
        for k, (_, pos, base) in enumerate(edits):
            edited = X.clone()
            edited[0, :, pos] = 0
            edited[0, "ACGT".index(base), pos] = 1
            assert delta[k, 0].item() == pytest.approx((raw(edited)[1][0, 0] - reference).item(), abs=1e-5)
    caps = methods.capabilities(model)
    assert caps["ism"] == "yes" and caps["fast_ism"] == "yes"  # residual blocks are local


def test_published_cards():
    assert zoo.list_models(origin="published") == ["bpnet_ctcf", "deepstarr"]
    assert zoo.list_models() == zoo.list_models(origin="trained")
    assert not {"bpnet_ctcf", "deepstarr"} & set(zoo.list_models())
    assert set(zoo.list_models(origin="all")) == set(zoo.list_models()) | {"bpnet_ctcf", "deepstarr"}
    with pytest.raises(ValueError, match="origin"):
        zoo.list_models(origin="downloaded")
    for name, length, order in (("deepstarr", 249, "ACTG"), ("bpnet_ctcf", 2114, "ACGT")):
        card = zoo.model_card(name)
        assert card["task"]["length"] == length
        assert card["channel_order"] == {**card["channel_order"], "source": order, "shipped": "ACGT"}
        assert card["source"]["doi"].startswith("10.1038/") and "MIT" in card["source"]["licence"]
        assert len(card["source"]["commit"]) == 8
    attribution = (Path(zoo.__file__).parent / "ATTRIBUTION.md").read_text()
    for needle in ("de Almeida", "Szymik", "Schreiber", "Avsec", "MIT License"):
        assert needle in attribution
    assert zoo.model_card("bpnet_ctcf")["metrics"]["ctcf_peaks_vs_shuffles"]["fraction_higher"] >= 0.95
