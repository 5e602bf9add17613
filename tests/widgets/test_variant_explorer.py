"""VariantExplorer (issue 14): what a selection puts in the Bokeh sources is exactly what
explain_variant, variant_motifs and the score table give; sorting; the flipper button."""

import numpy as np
import pytest
import torch
import traitlets
from torch import nn

from xai_widgets.data import get_motif, one_hot, variants_from_edits
from xai_widgets.methods import (
    explain_variant,
    saliency,
    score_variants,
    variant_motifs,
)
from xai_widgets.plots import instance_data, logo_data, track_data
from xai_widgets.widgets import VariantExplorer

L = 120
SITE_START = 50


@pytest.fixture(scope="module")
def setup():
    """Two sequences, a GATA2 site planted in the first; SNVs that break it and SNVs elsewhere."""
    motif = get_motif("GATA2")
    rng = np.random.default_rng(5)
    seqs = ["".join(rng.choice(list("ACGT"), L)) for _ in range(2)]
    site = "".join("ACGT"[i] for i in motif.probabilities.argmax(0))
    seqs[0] = seqs[0][:SITE_START] + site + seqs[0][SITE_START + len(site):]
    X = one_hot(seqs)
    j = int(np.argmax(motif.information_content()))
    breaking = "ACGT"[int(np.argmin(motif.probabilities[:, j]))]
    other = lambda i, p: "ACGT"[(int(X[i, :, p].argmax()) + 1) % 4]  # noqa: E731
    edits = [(0, SITE_START + j, breaking), (0, 10, other(0, 10)), (1, 60, other(1, 60)), (1, 100, other(1, 100)),
             (0, 90, other(0, 90))]
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv1d(4, 6, 7, padding=3), nn.ReLU(), nn.MaxPool1d(3), nn.Flatten(),
                          nn.Linear(6 * 40, 2)).eval()
    scores = score_variants(model, variants_from_edits(X, edits), genome=X, calibrate=200, device="cpu", target="all",
                            random_state=0)
    return model, scores, motif, X, edits, SITE_START + j


def test_selecting_a_row_shows_the_methods_numbers(setup):
    model, scores, motif, X, edits, broken = setup
    w = VariantExplorer(model, scores, motifs=[motif], target=1, device="cpu")
    w.selected = 0  # the SNV that breaks the site
    expected = explain_variant(model, scores, row=0, method="ism", target=1, device="cpu")
    for name, values in (("ref", expected.ref), ("alt", expected.alt)):
        data = w.sources[name].data
        for key, column in logo_data(values).items():
            np.testing.assert_array_equal(np.asarray(data[key]), np.asarray(column))
    np.testing.assert_array_equal(w.sources["difference"].data["value"],
                                  track_data(expected.difference_per_position())["value"])
    # the variant box and the broken site: the planted GATA2 site, lost (on the ref logo)
    label = f"{scores.table.ref[0]}>{scores.table.alt[0]}"
    assert w.sources["variant"].data == instance_data([(label, broken, broken + 1)])
    motifs = variant_motifs(scores, 0, motifs=[motif])
    assert list(motifs.call) == ["lost"] and w.motifs.equals(motifs)
    assert w.sources["lost"].data["left"] == [SITE_START - 0.5]
    assert w.sources["lost"].data["right"] == [SITE_START + len(motif.probabilities[0]) - 0.5]
    assert w.sources["gained"].data["left"] == []
    assert "GATA2" in w.motifs_box.value and "lost" in w.motifs_box.value
    # ref, alt, delta, percentile per output: the score table's numbers, and forward passes here
    alt_X = X[:1].clone()
    alt_X[0, :, broken] = one_hot(scores.table.alt[0])[0, :, 0]
    with torch.no_grad():
        ref, alt = model(X[:1])[0].numpy(), model(alt_X)[0].numpy()
    out = w.outputs_table(0)
    assert list(out.index) == ["0", "1"] and list(out.columns) == ["ref", "alt", "delta", "percentile"]
    np.testing.assert_allclose(out.ref, ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(out.alt, alt, rtol=0, atol=1e-6)
    np.testing.assert_allclose(out.delta, alt - ref, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(out.percentile, [scores.table.percentile_0[0], scores.table.percentile_1[0]])
    for value in (*out.ref, *out.alt, *out.delta):
        assert f"{value:.4f}" in w.outputs_box.value
    # another method and target: the sources follow
    w.method, w.target = "saliency", 0
    grad = saliency(model, torch.cat(scores.windows(0)[:2]), target=0, device="cpu").values
    np.testing.assert_array_equal(w.sources["alt"].data["value"], logo_data(grad[1])["value"])
    assert "saliency" in w.readout.value


def test_table_sorts(setup):
    model, scores, motif, *_ = setup
    w = VariantExplorer(model, scores, motifs=[motif], target=0, device="cpu")
    delta = scores.table.delta_0.to_numpy()
    assert list(w.order) == sorted(range(5), key=lambda i: -abs(delta[i]))
    assert w.selected == w.order[0]  # the strongest is shown first
    w.sort_by, w.descending = "delta_1", False
    assert list(w.order) == sorted(range(5), key=lambda i: scores.table.delta_1[i])
    assert w.sort_dropdown.value == "delta_1" and not w.order_toggle.value
    w.sort_by = "percentile_0"
    assert list(w.order) == sorted(range(5), key=lambda i: (scores.table.percentile_0[i], i))
    selected = w.selected
    w.descending = True  # the selection survives a re-sort
    assert w.selected == selected and w.table.value == selected
    w.table.value = int(w.order[-1])  # a click in the table is a selection
    assert w.selected == w.order[-1] and w.explanation.row == w.order[-1]


def test_flipper_button_opens_the_window(setup):
    model, scores, motif, X, edits, broken = setup
    w = VariantExplorer(model, scores, motifs=[motif], target=1, device="cpu")
    w.selected = 0
    w.flip_button.click()
    alt = X[:1].clone()
    alt[0, :, broken] = one_hot(scores.table.alt[0])[0, :, 0]
    assert torch.equal(w.flipper.X, alt) and w.flipper.target == 1
    assert w.flipper_box.children[-1] is w.flipper
    assert w.flipper.prediction == pytest.approx(float(scores.table.alt_1[0]), abs=1e-6)
    w.allele = "ref"
    w.flip_button.click()
    assert torch.equal(w.flipper.X, X[:1])
    assert w.flipper.prediction == pytest.approx(float(scores.table.ref_1[0]), abs=1e-6)
    # the variant is marked in the flipper
    assert w.flipper.sources["instances"].data["left"][0] == broken - 0.5


def test_refuses_bad_input(setup):
    model, scores, motif, *_ = setup
    with pytest.raises(TypeError, match="score_variants"):
        VariantExplorer(model, scores.table)
    with pytest.raises(ValueError, match="not an output"):
        VariantExplorer(model, scores, target="dev", motifs=[motif], device="cpu")


class Mirror(traitlets.HasTraits):
    selected = traitlets.Int(None, allow_none=True)
    method = traitlets.Unicode()
    target = traitlets.Int()
    sort_by = traitlets.Unicode()
    descending = traitlets.Bool()
    allele = traitlets.Unicode()


def test_settable_state_is_traitlets_linked_both_ways(setup):
    model, scores, motif, *_ = setup
    w = VariantExplorer(model, scores, motifs=[motif], target=1, device="cpu")
    mirror = Mirror()
    for name in ("selected", "method", "target", "sort_by", "descending", "allele"):
        traitlets.link((w, name), (mirror, name))
    w.table.value = int(w.order[-1])  # widget -> mirror
    assert mirror.selected == int(w.order[-1])
    mirror.selected, mirror.method, mirror.target = 2, "saliency", 0  # mirror -> widget, figures follow
    assert w.table.value == 2 and w.method_dropdown.value == "saliency" and w.target_dropdown.value == 0
    direct = explain_variant(model, scores, row=2, method="saliency", target=0, device="cpu")
    np.testing.assert_allclose(w.sources["difference"].data["value"], direct.difference_per_position().numpy(),
                               atol=1e-6)
    mirror.sort_by, mirror.descending = "pos", False
    assert w.sort_dropdown.value == "pos" and not w.order_toggle.value
    mirror.allele = "ref"
    assert w.allele_buttons.value == "ref"
    with pytest.raises(ValueError, match="pass target"):
        VariantExplorer(model, scores, motifs=[motif], device="cpu")
