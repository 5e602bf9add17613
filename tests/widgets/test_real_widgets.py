"""Widgets on the published models (issue 13): the NucleotideFlipper on a DeepSTARR enhancer, the
SpacingSweep with the DeepSTARR paper's motif words. What each widget holds is checked against the
methods called directly.

Not here: the flipper on BPNet (2,114 bp) recomputes a full ISM map (6,342 edits, about 9 edits/s
on this 2-core CPU) at construction and on every click, whatever the view window, so it cannot
fit a test of a few seconds; benchmarks/flipper_real.py measures its click latency. The
FilterGallery on DeepSTARR took 529 s on 200 sequences here and its importance is NaN (it ranks
filters by AUROC, which a regression target does not have)."""

import numpy as np
import pytest
import torch

from xai_widgets import data, zoo
from xai_widgets._core import predict
from xai_widgets.data import backgrounds
from xai_widgets.methods import saturation_mutagenesis, spacing_sweep
from xai_widgets.plots import heatmap_data
from xai_widgets.widgets import NucleotideFlipper
from xai_widgets.widgets.sweep import SpacingSweep, resolve_motif

#: Motif words of the DeepSTARR paper (de Almeida et al. 2022, Fig. 2): consensus strings.
DEEPSTARR_WORDS = {"GATA": "AGATAAGA", "AP-1": "ATGACTCAT", "twist": "ACATCTGT", "Trl": "AGAGAGA",
                   "ETS": "ACCGGAAG", "SREBP": "ATCACGCCA", "Dref": "TATCGATA", "Ohler1": "GTGTGACC",
                   "Ohler6": "AAAATACCA"}


@pytest.fixture(scope="module")
def deepstarr():
    return zoo.load("deepstarr", device="cpu")


@pytest.fixture(scope="module")
def enhancers():
    return data.fly_enhancers().split("test").subset(range(40))


def test_flipper_opens_a_deepstarr_enhancer_with_dev_and_hk_targets(deepstarr, enhancers):
    X = enhancers.X[:1]
    flipper = NucleotideFlipper(deepstarr, X, target=1, window=120, device="cpu")
    assert [label for label, _ in flipper.target_dropdown.options] == ["0: dev", "1: hk"]
    expected = predict(deepstarr, X)[0]
    assert flipper.prediction == pytest.approx(float(expected[1]), abs=1e-5)
    ism = saturation_mutagenesis(deepstarr, X, target=1, device="cpu")
    np.testing.assert_allclose(flipper.sources["heatmap"].data["value"], heatmap_data(ism.delta[0])["value"],
                               atol=1e-4)
    flipper.target = 0                                   # the menu's "dev"
    assert flipper.prediction == pytest.approx(float(expected[0]), abs=1e-5)
    position = int(ism.delta[0].abs().amax(0).argmax())  # the most sensitive base, edited
    base = "ACGT"[int(ism.delta[0, :, position].abs().argmax())]
    flipper.edit(position, base)
    edited = X.clone()
    edited[0, :, position] = 0
    edited[0, "ACGT".index(base), position] = 1
    assert torch.equal(flipper.X, edited)
    assert flipper.prediction == pytest.approx(float(predict(deepstarr, edited)[0, 0]), abs=1e-5)


def test_sweep_takes_the_deepstarr_words(deepstarr, enhancers):
    for word in DEEPSTARR_WORDS.values():
        assert resolve_motif(word) == word            # a consensus string, not a JASPAR name
    sweep = SpacingSweep(deepstarr, motif_a=DEEPSTARR_WORDS["GATA"], motif_b=DEEPSTARR_WORDS["AP-1"],
                         spacings=(-6, 6), orientations=("++",), n_backgrounds=10,
                         background_sequences=enhancers.X, target=0, device="cpu", run=False)
    assert sweep.length == 249
    sweep.run(wait=True)
    assert sweep.status == "done", sweep.readout.value
    bgs = backgrounds(10, 249, from_sequences=enhancers.X, random_state=0)
    direct = spacing_sweep(deepstarr, bgs, motif_a=resolve_motif("AGATAAGA"), motif_b=resolve_motif("ATGACTCAT"),
                           spacings=range(-6, 7), orientations=("++",), target=0, device="cpu", random_state=0)
    np.testing.assert_allclose(sweep.sources["sweep"].data["effect_++"], direct.effect[0].numpy(), atol=1e-5)
