"""Variant effects (issue 14): readers, window conventions, bad-input rules, exactness, ground truth."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from tests.helpers import example_chr17, small_variant_model
from xai_widgets import zoo
from xai_widgets.data import (
    example_genome,
    fly_enhancers,
    one_hot,
    read_variant_table,
    read_vcf,
    variants_from_edits,
)
from xai_widgets.data.real import HERE as REAL
from xai_widgets.methods import (
    predict_edits,
    random_snv_effects,
    saturation_mutagenesis,
    score_variants,
)
from xai_widgets.metrics import auroc

VCF = REAL / "example.vcf"
L = 200


@pytest.fixture(scope="module")
def genome_seq():
    return example_chr17()


@pytest.fixture(scope="module")
def small_model():
    return small_variant_model(L)


# ---------------------------------------------------------------------------------------------
# readers


def test_read_vcf_splits_and_skips():
    v = read_vcf(VCF)
    t = v.table
    assert v.report.read == 9 and len(v) == 10 and v.report.kept == 10
    assert v.split == 2  # 15001 (T,*) and 18001 (A,C,G)
    assert v.report.skipped == {"symbolic or structural allele": 2}  # <DEL> and *
    assert list(t[t.pos == 18001].alt) == ["A", "C", "G"]
    assert t.set_index("id").loc["insertion", "kind"] == "insertion"
    assert t.set_index("id").loc["deletion", "kind"] == "deletion"
    assert "*" not in set(t.alt) and "<DEL>" not in set(t.alt)


def test_read_variant_table(tmp_path):
    frame = pd.DataFrame({"chrom": ["chr17", "chr17", "chr17"], "pos": ["20000", "25000", "100"],
                          "ref": ["G", "C", "C"], "alt": ["A,T", "CGA", "<INS>"]})
    v = read_variant_table(frame)
    assert list(v.table.alt) == ["A", "T", "CGA"] and v.split == 1
    assert v.report.skipped == {"symbolic or structural allele": 1}
    path = tmp_path / "v.tsv"
    frame.to_csv(path, sep="\t", index=False)
    assert read_variant_table(path).table.equals(v.table.assign(record=v.table.record))
    with pytest.raises(ValueError, match="no column 'alt'"):
        read_variant_table(frame.drop(columns="alt"))
    with pytest.raises(ValueError, match="row 1: pos must be a positive integer"):
        read_variant_table(frame.assign(pos=["0", "1", "2"]))


# ---------------------------------------------------------------------------------------------
# windows and bad input on the project VCF


def window(seq, start, length):
    """Oracle: ``seq[start:start+length]`` with N outside (plain slicing of the whole piece)."""
    return "".join(seq[i] if 0 <= i < len(seq) else "N" for i in range(start, start + length))


def test_ref_mismatch_raises_by_default(small_model):
    with pytest.raises(ValueError, match=r"chr17:10000 T>C \(record 2\): REF T but the genome has C"):
        score_variants(small_model, read_vcf(VCF), genome=example_genome().genome, device="cpu", calibrate=None,
                       target="all")


def test_project_vcf_every_rule(small_model, genome_seq):
    scores = score_variants(small_model, read_vcf(VCF), genome=example_genome().genome, mismatch="report",
                            device="cpu", calibrate=300, target="all", random_state=0)
    t = scores.table.set_index(["id", "alt"])
    assert t.loc[("ref_mismatch", "C"), "status"] == "ref_mismatch"
    assert math.isnan(t.loc[("ref_mismatch", "C"), "delta_0"])
    assert (scores.table.status == "ok").sum() == 9
    assert t.loc[("snv_near_start", "T"), "padded"] and t.loc[("snv_near_end", "G"), "padded"]
    assert not t.loc[("snv_centre", "A"), "padded"] and not t.loc[("deletion", "A"), "padded"]
    # every scored variant, against windows built here by plain slicing and plain forward passes
    refs, alts = [], []
    ok = scores.scored()
    for row in ok.itertuples():
        q = row.pos - 1
        start = q - L // 2
        ref = window(genome_seq, start, L)
        if len(row.ref) == len(row.alt):
            alt = ref[: q - start] + row.alt + ref[q - start + 1 :]
        else:  # left flank aligned, the rest shifted, filled from the genome
            alt = (window(genome_seq, start, q - start) + row.alt
                   + window(genome_seq, q + len(row.ref), L))[:L]
        refs.append(ref), alts.append(alt)
    with torch.no_grad():
        expected_ref = small_model(one_hot(refs, unknown="zeros"))
        expected_alt = small_model(one_hot(alts, unknown="zeros"))
    for t_ in range(2):
        np.testing.assert_allclose(ok[f"ref_{t_}"], expected_ref[:, t_], rtol=0, atol=1e-5)
        np.testing.assert_allclose(ok[f"delta_{t_}"], (expected_alt - expected_ref)[:, t_], rtol=0, atol=1e-5)
        assert ok[f"percentile_{t_}"].between(0, 100).all()
    # the deletion's alt window really is shifted: it differs from the ref right after the variant
    deletion = ok.index[ok.id == "deletion"][0] - 0
    i = list(ok.index).index(deletion)
    assert alts[i][: L // 2 + 1] == refs[i][: L // 2 + 1] and alts[i][L // 2 + 1 :] != refs[i][L // 2 + 1 :]


def test_exports(small_model, tmp_path):
    import pysam

    scores = score_variants(small_model, read_vcf(VCF), genome=example_genome().genome, mismatch="report",
                            device="cpu", calibrate=200, count_outputs=[1], target="all", random_state=0)
    back = pd.read_csv(scores.to_tsv(tmp_path / "s.tsv"), sep="\t")
    assert len(back) == 10 and np.allclose(back.delta_1, scores.table.delta_1, equal_nan=True)
    assert np.allclose(scores.table.log2fc_1, scores.table.delta_1 / math.log(2), equal_nan=True)
    with pysam.VariantFile(str(scores.to_vcf(tmp_path / "s.vcf"))) as vcf:
        records = list(vcf)
    assert len(records) == 10
    first = records[0]
    assert first.info["STATUS"] == "ok" and "PADDED" in first.info
    assert first.info["DELTA_1"] == pytest.approx(scores.table.delta_1[0], rel=1e-5)
    assert "DELTA_0" not in records[1].info and records[1].info["STATUS"] == "ref_mismatch"


def test_calibration_is_cached_and_matches_its_definition(small_model, genome_seq):
    X = one_hot([genome_seq[i : i + L] for i in range(5000, 9000, 500)])
    a = random_snv_effects(small_model, X, n=400, device="cpu", random_state=0)
    assert random_snv_effects(small_model, X, n=400, device="cpu", random_state=0) is a  # cached
    # independent: the same random SNVs by plain forward passes
    rng = np.random.default_rng(0)
    seq = rng.integers(0, len(X), 400)
    pos = rng.integers(0, L, 400)
    base = (X.argmax(1).numpy()[seq, pos] + rng.integers(1, 4, 400)) % 4
    edits = list(zip(seq.tolist(), pos.tolist(), base.tolist()))
    expected = predict_edits(small_model, X, edits=edits, target="all", device="cpu")
    torch.testing.assert_close(a, expected, rtol=0, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# exactness against predict_edits and ISM (DeepSTARR on shipped fly enhancers)


@pytest.fixture(scope="module")
def deepstarr():
    return zoo.load("deepstarr", device="cpu")


@pytest.fixture(scope="module")
def fly_edits():
    X = fly_enhancers("test").X[:6]
    g = torch.Generator().manual_seed(1)
    edits = [(i, int(p), "ACGT"[(int(X[i, :, p].argmax()) + k) % 4])
             for i in range(6) for p in torch.randint(0, 249, (8,), generator=g) for k in (1, 2, 3)]
    return X, edits


def test_snv_effects_equal_predict_edits_and_ism(deepstarr, fly_edits):
    X, edits = fly_edits
    variants = variants_from_edits(X, edits)
    expected = predict_edits(deepstarr, X, edits=edits, target="all", device="cpu", method="naive")
    naive = score_variants(deepstarr, variants, genome=X, method="naive", calibrate=None, device="cpu", target="all")
    got = torch.tensor(naive.table[["delta_dev", "delta_hk"]].to_numpy(), dtype=torch.float32)
    assert torch.equal(got, expected)  # plain forward passes: the same numbers
    fast = score_variants(deepstarr, variants, genome=X, method="fast", calibrate=None, device="cpu", target="all")
    got_fast = torch.tensor(fast.table[["delta_dev", "delta_hk"]].to_numpy(), dtype=torch.float32)
    ism = saturation_mutagenesis(deepstarr, X, target="all", method="fast", device="cpu")
    at = torch.stack([ism.delta[i, :, "ACGT".index(b), p] for i, p, b in edits])
    torch.testing.assert_close(got_fast, at, rtol=0, atol=1e-6)  # float32 rounding of batched convolutions
    torch.testing.assert_close(got_fast, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(torch.tensor(fast.table.ref_dev.to_numpy(), dtype=torch.float32),
                               ism.prediction[[i for i, _, _ in edits], 0], rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="target 'nope' is not an output"):
        score_variants(deepstarr, variants, genome=X, target="nope", device="cpu", random_state=0)
    one = score_variants(deepstarr, variants, genome=X, target="hk", calibrate=None, device="cpu")
    assert one.outputs == ("hk",) and "delta_dev" not in one.table


# ---------------------------------------------------------------------------------------------
# ground truth: planted motifs (Koo & Ploenzke benchmark, exponential Basset)


def test_snvs_in_planted_motifs_score_higher_than_background():
    from xai_widgets.zoo.specs import ZOO_SPECS, spec_task

    model = zoo.load("basset_exp_attribution_benchmark", device="cpu")
    task = spec_task(ZOO_SPECS["basset_exp_attribution_benchmark"]).subset("test")
    rows = torch.nonzero(task.y[:, 0] == 1).flatten()[:150].tolist()
    rng = np.random.default_rng(0)
    edits, labels = [], []
    for new, i in enumerate(rows):
        informative = []
        for name, start, end, strand in task.instances.for_sequence(i):
            ic = task.motifs[name].information_content()
            ic = ic if strand == 1 else ic[::-1]
            informative += [start + j for j in range(end - start) if ic[j] >= 1.0]
        background = np.flatnonzero(~task.mask[i].numpy())
        if not informative or len(background) < 3:
            continue
        for p in rng.choice(informative, 3):
            edits.append((new, int(p))), labels.append(1)
        for p in rng.choice(background, 3, replace=False):
            edits.append((new, int(p))), labels.append(0)
    X = task.X[rows]
    edits = [(i, p, "ACGT"[(int(X[i, :, p].argmax()) + int(rng.integers(1, 4))) % 4]) for i, p in edits]
    scores = score_variants(model, variants_from_edits(X, edits), genome=X, calibrate=None, device="cpu", target="all")
    value = auroc(scores.table.delta_positive.abs().to_numpy().copy(), np.array(labels))
    print(f"AUROC |effect|, informative motif positions vs background: {value:.3f} ({len(labels)} SNVs)")
    assert value >= 0.9


def test_variant_motifs_finds_a_broken_planted_site():
    """Break the most informative column of a planted GATA2 site and recover it by name;
    the scan agrees with data.scan on ref and alt."""
    from xai_widgets.data import get_motif, scan
    from xai_widgets.methods import variant_motifs

    motif = get_motif("GATA2")
    rng = np.random.default_rng(3)
    seq = list("".join(rng.choice(list("ACGT"), L)))
    site = "".join("ACGT"[i] for i in motif.probabilities.argmax(0))
    start = 90
    seq[start : start + len(site)] = site
    X = one_hot(["".join(seq)])
    j = int(np.argmax(motif.information_content()))
    alt = "ACGT"[int(np.argmin(motif.probabilities[:, j]))]
    model = nn.Sequential(nn.Conv1d(4, 1, 1), nn.Flatten(), nn.Linear(L, 1))
    scores = score_variants(model, variants_from_edits(X, [(0, start + j, alt)]), genome=X, calibrate=None,
                            device="cpu", target="all")
    found = variant_motifs(scores, 0, motifs=[motif])
    assert list(found.call) == ["lost"] and found.motif[0] == "GATA2" and found.change[0] < 0
    ref_X, alt_X, _ = scores.windows(0)
    assert any(h[1] <= start + j < h[2] for h in scan(ref_X, motif, threshold=0.8))
    assert not any(h[1] <= start + j < h[2] for h in scan(alt_X, motif, threshold=0.8))
