"""The Dataset type, the synthetic tasks as data sets, training on a Dataset, the shipped real data."""

import csv
import gzip

import numpy as np
import pytest
import torch

from tests.data.test_io import SHARED, hand_one_hot
from tests.helpers import REPO, random_one_hot
from xai_widgets import zoo
from xai_widgets.data import (
    Dataset,
    SyntheticTask,
    chip_peaks,
    example_genome,
    fly_enhancers,
    lentimpra,
    motif_presence,
)
from xai_widgets.zoo import build

REAL = REPO / "xai_widgets" / "data" / "real"


# ---------------------------------------------------------------------------------------------
# construction


def test_from_arrays_shapes_kinds_and_defaults():
    X = random_one_hot(6, 10, seed=1)
    reg = Dataset.from_arrays(X.numpy(), np.arange(6) * 0.5)
    assert torch.equal(reg.X, X) and reg.y.shape == (6, 1) and reg.y.dtype == torch.float32
    assert reg.kind == "regression" and reg.target_names == ("target_0",) and reg.splits == {}
    assert Dataset.from_arrays(X, [0, 1, 1, 0, 0, 1]).kind == "binary"
    multi = Dataset.from_arrays(X, torch.eye(6)[:, :3], target_names=["a", "b", "c"])
    assert multi.kind == "multilabel" and multi.target_names == ("a", "b", "c")
    assert Dataset.from_arrays(X, [0, 1, 1, 0, 0, 1], kind="regression").kind == "regression"
    unlabelled = Dataset.from_arrays(X)
    assert unlabelled.y is None and unlabelled.kind is None


def test_from_arrays_accepts_strings_with_n():
    ds = Dataset.from_arrays(["ACGN", "ttga"], [1.0, 2.0], names=["a", "b"])
    assert torch.equal(ds.X, hand_one_hot(["ACGN", "TTGA"])) and ds.names == ("a", "b")
    assert torch.equal(Dataset.from_arrays(["ACGN"], unknown="uniform").X, hand_one_hot(["ACGN"], 0.25))


def test_construction_errors_say_what_is_wrong():
    X = random_one_hot(4, 8)
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) or \(N, T\) with N = 4"):
        Dataset.from_arrays(X, [1.0, 2.0])
    with pytest.raises(ValueError, match="1 target_names for 2 target"):
        Dataset.from_arrays(X, torch.zeros(4, 2), target_names=["a"])
    with pytest.raises(ValueError, match="split 'train' holds rows outside 0..3"):
        Dataset.from_arrays(X, splits={"train": [0, 4]})
    with pytest.raises(ValueError, match="kind='binary' needs labels 0 or 1"):
        Dataset.from_arrays(X, [0.0, 0.5, 1.0, 1.0], kind="binary")
    with pytest.raises(ValueError, match="kind='ordinal'"):
        Dataset.from_arrays(X, [0.0, 0.5, 1.0, 1.0], kind="ordinal")
    with pytest.raises(ValueError, match="names has 3 entries for N = 4"):
        Dataset.from_arrays(X, names=["a", "b", "c"])
    with pytest.raises(ValueError, match="not one-hot"):
        Dataset.from_arrays(X * 2)
    with pytest.raises(ValueError, match=r"shape \(N, 4, L\)"):
        Dataset(X=torch.zeros(3, 5, 2))


# ---------------------------------------------------------------------------------------------
# views


@pytest.fixture
def small():
    X = random_one_hot(10, 12, seed=2)
    return Dataset.from_arrays(X, torch.arange(10.0), names=[f"s{i}" for i in range(10)],
                               coordinates=[("chr1", 10 * i, 10 * i + 12, "+") for i in range(10)],
                               splits={"train": np.arange(6), "valid": [6, 7], "test": np.arange(10) >= 8},
                               name="small")


def test_subset_and_split_carry_every_field(small):
    test = small.split("test")
    assert torch.equal(test.X, small.X[8:]) and test.y[:, 0].tolist() == [8.0, 9.0]
    assert test.names == ("s8", "s9") and test.coordinates == (("chr1", 80, 92, "+"), ("chr1", 90, 102, "+"))
    assert list(test.splits) == ["all"] and test.kind == "regression"
    rows = small.subset([3, 1])
    assert rows.names == ("s3", "s1") and rows.y[:, 0].tolist() == [3.0, 1.0]
    mask = np.zeros(10, dtype=bool)
    mask[[2, 5]] = True
    assert small.subset(mask).names == ("s2", "s5")
    assert small.subset(slice(0, 3)).names == ("s0", "s1", "s2")
    with pytest.raises(KeyError, match=r"no split 'holdout'; choose one of \['train', 'valid', 'test'\]"):
        small.split("holdout")
    with pytest.raises(KeyError, match="random_split"):
        Dataset.from_arrays(small.X).split("train")


def test_random_split_sizes_cover_all_rows_and_follow_the_seed(small):
    a = small.random_split((0.6, 0.2, 0.2), random_state=3)
    assert {k: len(v) for k, v in a.splits.items()} == {"train": 6, "valid": 2, "test": 2}
    assert sorted(np.concatenate(list(a.splits.values())).tolist()) == list(range(10))
    expected = np.random.default_rng(3).permutation(10)
    assert a.splits["train"].tolist() == sorted(expected[:6].tolist())
    assert a.splits["test"].tolist() == sorted(expected[8:].tolist())
    b = small.random_split({"fit": 0.5, "check": 0.5}, random_state=3)
    assert list(b.splits) == ["fit", "check"] and len(b.splits["fit"]) == 5
    assert small.random_split((0.7, 0.3)).splits.keys() == {"train", "valid"}
    with pytest.raises(ValueError, match="sum to 1"):
        small.random_split((0.6, 0.6))
    with pytest.raises(ValueError, match="split 'valid' would be empty"):
        small.random_split((0.95, 0.04, 0.01))


def test_repr_is_short_and_deterministic(small):
    assert repr(small) == ("Dataset('small', N=10, L=12, targets=1 ('target_0',), kind='regression', "
                           "splits: train=6, valid=2, test=2)")
    many = Dataset.from_arrays(small.X, torch.zeros(10, 6), name="m")
    assert repr(many) == ("Dataset('m', N=10, L=12, targets=6 ('target_0', 'target_1', 'target_2', ...), "
                          "kind='multilabel')")
    assert repr(Dataset.from_arrays(small.X)) == "Dataset('dataset', N=10, L=12, unlabelled)"
    assert small.sequences()[0] == "".join("ACGT"[i] for i in small.X[0].argmax(0).tolist())


# ---------------------------------------------------------------------------------------------
# synthetic tasks are data sets


def test_synthetic_task_is_a_dataset_with_ground_truth():
    task = motif_presence(n=40, random_state=5)
    assert isinstance(task, Dataset) and isinstance(task, SyntheticTask)
    test = task.split("test")
    assert isinstance(test, SyntheticTask) and torch.equal(test.mask, task.mask[32:])
    assert test.instances.for_sequence(0) == task.instances.for_sequence(32)
    assert test.random_state == 5 and task.names is None and task.coordinates is None
    resplit = task.random_split((0.5, 0.5), random_state=1)
    assert isinstance(resplit, SyntheticTask) and len(resplit.splits["train"]) == 20
    with pytest.raises(ValueError, match="a SyntheticTask needs instances, mask, motifs"):
        SyntheticTask(X=task.X, y=task.y, kind=task.kind, random_state=0)


# ---------------------------------------------------------------------------------------------
# training and evaluation on any Dataset


def _plain_predictions(model, X):
    with torch.no_grad():
        return torch.cat([model(X[i : i + 1]) for i in range(len(X))])


def test_zoo_trains_a_regression_dataset_from_arrays_for_one_epoch():
    X = random_one_hot(60, 30, seed=3)
    X[:, :, 0] = 0  # an N column in every sequence
    y = X[:, 0].sum(1, keepdim=True) / 30  # A content
    ds = Dataset.from_arrays(X, y, name="a_content").random_split((0.7, 0.3), random_state=0)
    torch.manual_seed(0)
    model = build("deepbind", n_targets=1, n_filters=4, filter_width=5, hidden=4)
    before = model.conv1.weight.detach().clone()
    result = zoo.train(model, ds, epochs=1, batch_size=16, progress=False)
    assert len(result.history) == 1 and result.best_epoch == 1
    assert not torch.equal(before, result.model.conv1.weight)
    valid = ds.splits["valid"]
    mse = float(((_plain_predictions(result.model, X[valid]) - y[valid]) ** 2).mean())
    assert result.history[0]["valid_loss"] == pytest.approx(mse, rel=1e-5)
    metrics = zoo.evaluate(result.model, ds, split="valid")
    pred = _plain_predictions(result.model, X[valid])[:, 0].numpy()
    assert metrics["pearson"] == pytest.approx(np.corrcoef(pred, y[valid, 0].numpy())[0, 1], abs=1e-5)
    assert metrics["mse"] == pytest.approx(mse, rel=1e-5) and metrics["n"] == len(valid)


def test_zoo_trains_and_evaluates_a_classification_dataset():
    X = random_one_hot(50, 20, seed=4)
    y = (X[:, 1].sum(1) > 5).float()  # C-rich
    ds = Dataset.from_arrays(X, y).random_split((0.6, 0.2, 0.2), random_state=2)
    assert ds.kind == "binary"
    torch.manual_seed(1)
    model = build("deepbind", n_targets=1, n_filters=4, filter_width=5, hidden=4)
    result = zoo.train(model, ds, epochs=1, batch_size=8, progress=False)
    valid = ds.splits["valid"]
    p = torch.sigmoid(_plain_predictions(result.model, X[valid])[:, 0]).double()
    t = y[valid].double()
    bce = float(-(t * p.log() + (1 - t) * (1 - p).log()).mean())
    assert result.history[0]["valid_loss"] == pytest.approx(bce, rel=1e-4)
    test = ds.splits["test"]
    scores = _plain_predictions(result.model, X[test])[:, 0].tolist()
    labels = y[test].tolist()
    pos = [s for s, lab in zip(scores, labels) if lab == 1]
    neg = [s for s, lab in zip(scores, labels) if lab == 0]
    mann_whitney = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))
    assert zoo.evaluate(result.model, ds)["auroc"] == pytest.approx(mann_whitney, abs=1e-6)


def test_training_refuses_unusable_datasets():
    X = random_one_hot(20, 10)
    model = build("deepbind", n_targets=1, n_filters=2, filter_width=3, hidden=2)
    with pytest.raises(ValueError, match="has no labels y"):
        zoo.train(model, Dataset.from_arrays(X), progress=False)
    with pytest.raises(ValueError, match=r"no 'train' split .*random_split"):
        zoo.train(model, Dataset.from_arrays(X, torch.rand(20)), progress=False)
    with pytest.raises(TypeError, match="Dataset.from_arrays"):
        zoo.train(model, (X, torch.rand(20)), progress=False)
    with pytest.raises(ValueError, match="no labels y to evaluate"):
        zoo.evaluate(model, Dataset.from_arrays(X), split="all")


# ---------------------------------------------------------------------------------------------
# shipped real data


def _tsv_rows(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _fasta_records(path):
    with gzip.open(path, "rt") as fh:
        lines = fh.read().split()
    return dict(zip((h[1:] for h in lines[0::2]), lines[1::2]))


def test_fly_enhancers_reproduce_the_source_rows():
    ds = fly_enhancers()
    assert ds.X.shape == (3000, 4, 249) and ds.target_names == ("dev", "hk") and ds.kind == "regression"
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 1000, "valid": 1000, "test": 1000}
    assert ds.report.read == ds.report.kept == 3000 and ds.report.unknown_bases == 0
    for split, stem in (("train", "train"), ("valid", "val"), ("test", "test")):
        rows = _tsv_rows(SHARED / "deepstarr" / f"fly_enhancers_sample_{stem}.tsv")
        part = fly_enhancers(split)
        assert len(part) == len(rows) == 1000
        ends = part.subset([0, 999]).sequences()
        for i, seq in zip((0, 999), ends):
            assert seq == rows[i]["Sequence"].upper() and part.names[i] == rows[i]["ID"]
            assert part.y[i].tolist() == pytest.approx([float(rows[i]["Dev_log2_enrichment"]),
                                                        float(rows[i]["Hk_log2_enrichment"])], rel=1e-6)


def test_chip_peaks_are_a_deterministic_subset_of_the_source():
    for tf in ("ctcf", "pu1"):
        source = _fasta_records(SHARED / "chipseq_peaks" / f"{tf}.fa.gz")
        ds = chip_peaks(tf)
        assert ds.X.shape == (2000, 4, 100) and ds.y is None and len(set(ds.names)) == 2000
        assert torch.equal(ds.X[:50], hand_one_hot([source[n] for n in ds.names[:50]]))
        assert all(n in source for n in ds.names)
        chrom, span = ds.names[0].split(":")
        assert ds.coordinates[0] == (chrom, *map(int, span.split("-")), ".")
        order = list(source)
        chosen = sorted(np.random.default_rng(0).choice(len(order), 2000, replace=False))
        assert list(ds.names) == [order[i] for i in chosen]
    both = chip_peaks("ctcf_vs_pu1")
    assert len(both) == 4000 and both.kind == "binary" and float(both.y.sum()) == 2000
    assert {k: len(v) for k, v in both.splits.items()} == {"train": 3200, "valid": 400, "test": 400}
    with pytest.raises(ValueError, match="tf='gata1'"):
        chip_peaks("gata1")


def test_lentimpra_reproduces_the_source_rows():
    ds = lentimpra()
    assert ds.X.shape == (9237, 4, 230) and ds.target_names == ("activity",)
    assert {k: len(v) for k, v in ds.splits.items()} == {"valid": 4617, "test": 4620}
    for split in ("valid", "test"):
        rows = _tsv_rows(SHARED / "lentimpra_wtc11" / f"WTC11_{split}.tsv.gz")
        part = lentimpra(split)
        assert len(part) == len(rows)
        first, last = part.subset([0, -1]).sequences()
        assert first == rows[0]["seq"].upper() and part.y[0, 0] == pytest.approx(float(rows[0]["mean_value"]))
        assert last == rows[-1]["seq"].upper() and part.y[-1, 0] == pytest.approx(float(rows[-1]["mean_value"]))
    assert ds.names[0] == "WTC11_valid row 2" and ds.report.read == 9237


def test_example_genome_and_package_size():
    paths = example_genome()
    for shipped, name in ((paths.genome, "chr17.hg19.part.fa"), (paths.regions_bed, "regions.bed"),
                          (paths.malformed_bed, "malformed.bed")):
        assert shipped.read_bytes() == (SHARED / "genome_piece" / name).read_bytes()
    assert paths.bed.is_file()
    total = sum(p.stat().st_size for p in REAL.iterdir() if p.is_file())
    assert total < 3 * 2**20, f"shipped real data is {total / 2**20:.1f} MB"


def test_attribution_keeps_every_copyright_notice():
    text = (REAL / "ATTRIBUTION.md").read_text()
    for licence in ("random-promoter-dream-challenge-2022.LICENSE", "DeepSTARR.LICENSE",
                    "Neural_Network_DNA_Demo.LICENSE", "human_legnet.LICENSE", "pyfaidx-examples.copyright"):
        source = (SHARED / "licenses" / licence).read_text()
        assert source.strip() in text, licence
    for doi in ("10.1038/s41588-022-01048-5", "10.1038/s41586-024-08430-9"):
        assert doi in text
    shipped = {p.name for p in REAL.iterdir() if p.suffix in (".gz", ".fa", ".bed")}
    assert all(f"`{name}`" in text for name in shipped), shipped
