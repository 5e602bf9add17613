"""Attributions streamed to Zarr (methods.atscale): equal to the methods called directly, resume,
refusal of foreign stores, and identical results on a 2-worker Dask LocalCluster."""

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers import random_one_hot
from xai_widgets import data, zoo
from xai_widgets.methods import (
    deep_lift_shap,
    integrated_gradients,
    saturation_mutagenesis,
)
from xai_widgets.methods.atscale import (
    AttributionStore,
    attribute_to_store,
    model_fingerprint,
)


def small_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(),
                         nn.Linear(6 * 12, 2)).eval()


X = random_one_hot(23, 24, seed=3)


def test_store_equals_direct_calls_per_chunk_seed(tmp_path):
    model = small_model()
    store = attribute_to_store(model, X, store=tmp_path / "s", target=1, chunk_size=8, random_state=5,
                               options={"n_shuffles": 4}, client=None, names=[f"s{i}" for i in range(23)])
    assert store.complete and store.n_done == 23 and store.n == 23 and store.length == 24
    # oracle: deep_lift_shap chunk by chunk with the documented per-chunk seed
    for i, lo in enumerate(range(0, 23, 8)):
        seed = int(np.random.SeedSequence([5, i]).generate_state(1)[0])
        direct = deep_lift_shap(model, X[lo:lo + 8], target=1, n_shuffles=4, random_state=seed)
        np.testing.assert_array_equal(store.hypothetical(slice(lo, lo + 8)), direct.hypothetical.numpy())
        np.testing.assert_array_equal(store.values(slice(lo, lo + 8)), direct.values.numpy())
    np.testing.assert_array_equal(store.X(), X.numpy())
    assert store.names[7] == "s7" and (store.target() == 1).all()
    meta = store.metadata
    assert meta["method"] == "deep_lift_shap" and meta["options"] == {"n_shuffles": 4}
    assert meta["model_fingerprint"] == model_fingerprint(model)


def test_ism_and_ig_per_sequence_targets(tmp_path):
    model = small_model()
    targets = [0, 1] * 11 + [0]
    ism = attribute_to_store(model, X, store=tmp_path / "ism", method="ism", target=targets,
                             chunk_size=10, client=None)
    direct = saturation_mutagenesis(model, X, target="all")
    rows = np.arange(23)
    expected = direct.delta[rows, targets] - direct.delta[rows, targets].mean(1, keepdim=True)
    np.testing.assert_allclose(ism.hypothetical(), expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(ism.values(), (expected * X).numpy(), atol=1e-5)
    ig = attribute_to_store(model, X, store=tmp_path / "ig", method="integrated_gradients", target=0,
                            chunk_size=50, client=None, options={"n_steps": 8})
    np.testing.assert_allclose(ig.values(), integrated_gradients(model, X, target=0, n_steps=8).values.numpy(),
                               atol=1e-6)


def test_resume_after_interruption_and_refusals(tmp_path, monkeypatch):
    from xai_widgets.methods import atscale

    model = small_model()
    path = tmp_path / "r"
    full = attribute_to_store(model, X, store=tmp_path / "full", target=0, chunk_size=5, random_state=1,
                              options={"n_shuffles": 3}, client=None)
    original = atscale._compute_chunk
    calls = []

    def failing(*args):  # the third chunk fails, as a killed job would
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(atscale, "_compute_chunk", failing)
    with pytest.raises(KeyboardInterrupt):
        attribute_to_store(model, X, store=path, target=0, chunk_size=5, random_state=1, options={"n_shuffles": 3},
                           client=None)
    partial = AttributionStore.open(path)
    assert not partial.complete and partial.n_done == 10
    with pytest.raises(ValueError, match="incomplete"):
        partial.values()
    calls.clear()
    monkeypatch.setattr(atscale, "_compute_chunk", lambda *args: (calls.append(1), original(*args))[1])
    resumed = attribute_to_store(model, X, store=path, target=0, chunk_size=5, random_state=1,
                                 options={"n_shuffles": 3}, client=None)
    assert resumed.complete and len(calls) == 3  # only chunks 2, 3 and 4 ran again
    np.testing.assert_array_equal(resumed.hypothetical(), full.hypothetical())
    other = small_model(seed=9)
    with pytest.raises(ValueError, match="model_fingerprint"):
        attribute_to_store(other, X, store=path, target=0, chunk_size=5, random_state=1, options={"n_shuffles": 3},
                           client=None)
    with pytest.raises(ValueError, match="method"):
        attribute_to_store(model, X, store=path, target=0, chunk_size=5, method="ism",
                           client=None)
    with pytest.raises(ValueError, match="other sequences"):
        attribute_to_store(model, X.flip(2), store=path, target=0, chunk_size=5, random_state=1,
                           options={"n_shuffles": 3}, client=None)
    fresh = attribute_to_store(other, X, store=path, target=0, chunk_size=5, random_state=1, resume=False,
                               options={"n_shuffles": 3}, client=None)
    assert fresh.metadata["model_fingerprint"] == model_fingerprint(other)


def test_argument_errors(tmp_path):
    model = small_model()
    with pytest.raises(ValueError, match="2 outputs"):
        attribute_to_store(model, X, store=tmp_path / "a", client=None)
    with pytest.raises(ValueError, match="one per sequence"):
        attribute_to_store(model, X, store=tmp_path / "a", target=[0, 1], client=None)
    with pytest.raises(ValueError, match="method must be"):
        attribute_to_store(model, X, store=tmp_path / "a", target=0, method="shap", client=None)
    with pytest.raises(TypeError, match="read_fasta"):
        attribute_to_store(model, "seqs.fa", store=tmp_path / "a", target=0, client=None)
    with pytest.raises(ValueError, match="not an output name"):
        attribute_to_store(model, X, store=tmp_path / "a", target="GATA", client=None)


def test_dataset_names_coordinates_and_zarr_input(tmp_path):
    import zarr

    model = small_model()
    coords = tuple((f"chr{i % 3}", 100 * i, 100 * i + 24, "+-"[i % 2]) for i in range(23))
    ds = data.Dataset(X=X, names=tuple(f"r{i}" for i in range(23)), coordinates=coords)
    source = zarr.open_array(str(tmp_path / "x.zarr"), mode="w", shape=X.shape, chunks=(4, 4, 24), dtype="float32")
    source[:] = X.numpy()
    a = attribute_to_store(model, ds, store=tmp_path / "ds", target=0, chunk_size=7, random_state=2, client=None,
                           options={"n_shuffles": 2})
    b = attribute_to_store(model, source, store=tmp_path / "z", target=0, chunk_size=7, random_state=2, client=None,
                           options={"n_shuffles": 2})
    assert a.coordinates == coords and a.names == ds.names and b.names is None
    np.testing.assert_array_equal(a.hypothetical(), b.hypothetical())


def test_dask_local_cluster_identical_to_single_process(tmp_path):
    """Basset (zoo) DeepSHAP over 40 sequences: 2 worker processes give the same bytes as one process."""
    from distributed import Client, LocalCluster

    model = zoo.load("basset_exp_motif_presence", device="cpu")
    X40 = data.motif_presence(n=40, random_state=7).X
    single = attribute_to_store(model, X40, store=tmp_path / "one", target="CEBPB", chunk_size=10, random_state=3,
                                options={"n_shuffles": 3}, client=None)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        # client="auto" (the default) picks up the running client: no change to the call
        dist = attribute_to_store(model, X40, store=tmp_path / "two", target="CEBPB", chunk_size=10,
                                  random_state=3, options={"n_shuffles": 3})
        ran_on = client.run(lambda: 1)
    assert len(ran_on) == 2
    assert dist.complete
    np.testing.assert_array_equal(dist.hypothetical(), single.hypothetical())
    np.testing.assert_array_equal(dist.values(), single.values())
