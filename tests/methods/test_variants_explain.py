"""explain_variant: ref/alt attributions of a scored variant on one axis (issue 14), checked
against each method called directly on windows this test cuts from the genome itself."""

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers import example_chr17, small_variant_model
from xai_widgets.data import example_genome, one_hot, read_vcf
from xai_widgets.data.real import HERE as REAL
from xai_widgets.methods import (
    deep_lift_shap,
    explain_variant,
    gradient_x_input,
    integrated_gradients,
    method_names,
    occlusion,
    saliency,
    saturation_mutagenesis,
    score_variants,
)

L = 200


@pytest.fixture(scope="module")
def genome_seq():
    return example_chr17()


@pytest.fixture(scope="module")
def model():
    return small_variant_model(L)


@pytest.fixture(scope="module")
def scores(model):
    return score_variants(model, read_vcf(REAL / "example.vcf"), genome=example_genome().genome, mismatch="report",
                          calibrate=None, device="cpu", target="all")


def cut(seq, start, length):
    return "".join(seq[i] if 0 <= i < len(seq) else "N" for i in range(start, start + length))


def snv_windows(scores, genome_seq, variant_id):
    row = int(np.flatnonzero(scores.table["id"] == variant_id)[0])
    r = scores.table.iloc[row]
    q = r.pos - 1
    ref = cut(genome_seq, q - L // 2, L)
    alt = ref[: L // 2] + r.alt + ref[L // 2 + 1 :]
    return row, one_hot([ref, alt], unknown="zeros")


DIRECT = {"saliency": saliency, "gradient_x_input": gradient_x_input, "integrated_gradients": integrated_gradients,
          "deep_lift_shap": deep_lift_shap, "occlusion": occlusion}
OPTIONS = {"integrated_gradients": {"n_steps": 8}, "deep_lift_shap": {"n_shuffles": 4, "random_state": 0},
           "occlusion": {"window": 5, "stride": 5, "random_state": 0}}


@pytest.mark.parametrize("method", method_names())
def test_explain_variant_equals_the_method_on_the_windows(model, scores, genome_seq, method):
    row, X = snv_windows(scores, genome_seq, "snv_centre")
    got = explain_variant(model, scores, row=row, method=method, target=1, method_options=OPTIONS.get(method),
                          device="cpu")
    if method == "ism":
        ism = saturation_mutagenesis(model, X, target=1, device="cpu")
        expected, predictions = ism.values, ism.prediction
    else:
        expected = DIRECT[method](model, X, target=1, device="cpu", **OPTIONS.get(method, {})).values
        with torch.no_grad():
            predictions = model(X)[:, 1]
    assert got.values.shape == (2, 4, L) and torch.equal(got.X, X)
    torch.testing.assert_close(got.values, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(got.difference, expected[1] - expected[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(got.predictions, predictions, rtol=0, atol=1e-6)
    # the predictions are the scored ones
    r = scores.table.iloc[row]
    np.testing.assert_allclose(got.predictions.numpy(), [r.ref_1, r.alt_1], rtol=0, atol=1e-5)
    per = (expected * X if method == "saliency" else expected).sum(1)
    torch.testing.assert_close(got.per_position(), per, rtol=0, atol=1e-6)
    torch.testing.assert_close(got.difference_per_position(), per[1] - per[0], rtol=0, atol=1e-6)
    assert got.method == method and got.target == 1 and got.output == "1" and got.offset == L // 2
    assert got.shift == 0 and np.array_equal(got.positions, np.arange(r.pos - L // 2, r.pos - L // 2 + L))
    assert np.array_equal(got.alt_positions, got.positions)


def test_explain_variant_indels_align_on_the_genome(model, scores, genome_seq):
    for variant_id, shift in (("deletion", -5), ("insertion", 7)):
        row = int(np.flatnonzero(scores.table["id"] == variant_id)[0])
        got = explain_variant(model, scores, row=row, method="saliency", target="0", device="cpu")
        assert got.shift == shift and got.target == 0
        # every column holds the genome base its position names (0: an inserted base)
        for x, positions in ((got.X[0], got.positions), (got.X[1], got.alt_positions)):
            bases = "".join("ACGT"[i] for i in x.argmax(0).tolist())
            named = [(j, p) for j, p in enumerate(positions) if p > 0]
            assert "".join(bases[j] for j, _ in named) == "".join(genome_seq[p - 1] for _, p in named)
        inserted = np.flatnonzero(got.alt_positions == 0)
        assert len(inserted) == max(shift, 0)
        if shift > 0:
            assert "".join("ACGT"[got.X[1][:, j].argmax()] for j in inserted) == "GATTACA"


def test_explain_variant_refuses_bad_requests(model, scores):
    bad = int(np.flatnonzero(scores.table["status"] != "ok")[0])
    with pytest.raises(ValueError, match="was not scored"):
        explain_variant(model, scores, row=bad, target=0, device="cpu")
    with pytest.raises(ValueError, match="the model has 2 outputs"):
        explain_variant(model, scores, row=0, device="cpu")
    with pytest.raises(ValueError, match="method must be one of"):
        explain_variant(model, scores, row=0, method="lime", target=0, device="cpu")
    with pytest.raises(ValueError, match="row must be a row"):
        explain_variant(model, scores, row=99, target=0, device="cpu")
    with pytest.raises(ValueError, match="not an output"):
        explain_variant(model, scores, row=0, target="dev", device="cpu")


def test_variant_motifs_reports_the_site():
    """The site columns of a broken planted GATA2 site are where data.scan finds it in the ref."""
    from xai_widgets.data import get_motif, scan, variants_from_edits
    from xai_widgets.methods import variant_motifs

    motif = get_motif("GATA2")
    rng = np.random.default_rng(3)
    seq = list("".join(rng.choice(list("ACGT"), L)))
    site = "".join("ACGT"[i] for i in motif.probabilities.argmax(0))
    seq[90 : 90 + len(site)] = site
    X = one_hot(["".join(seq)])
    j = int(np.argmax(motif.information_content()))
    alt = "ACGT"[int(np.argmin(motif.probabilities[:, j]))]
    flat = nn.Sequential(nn.Conv1d(4, 1, 1), nn.Flatten(), nn.Linear(L, 1))
    s = score_variants(flat, variants_from_edits(X, [(0, 90 + j, alt)]), genome=X, calibrate=None, device="cpu",
                       target="all")
    found = variant_motifs(s, 0, motifs=[motif])
    assert (found.start[0], found.end[0]) == (90, 90 + len(site))
    assert any((h[1], h[2]) == (90, 90 + len(site)) for h in scan(X, motif, threshold=0.8))
