"""Variant effects with the published models on shipped data (issue 14, "Real models").

- BPNet (CTCF, K562): SNVs that break the core of the best CTCF motif site in shipped CTCF
  ChIP-seq peaks lower the predicted log counts more than SNVs 20+ bp from the site.
- DeepSTARR: SNVs that break GATA cores in strong developmental fly enhancers lower the
  developmental output more than the housekeeping one.

The two distributions are printed (run with ``-s``) and reported in docs/benchmarks.md.
"""

import numpy as np
import torch

from xai_widgets import zoo
from xai_widgets.data import (
    chip_peaks,
    example_genome,
    fly_enhancers,
    get_motif,
    one_hot,
    scan,
    variants_from_edits,
)
from xai_widgets.data.encoding import decode
from xai_widgets.data.io import open_genome
from xai_widgets.methods import score_variants

N_PEAKS = 16
BPNET_LENGTH = 2114


def describe(name, values):
    values = np.asarray(values)
    q = np.percentile(values, [10, 50, 90])
    return f"{name}: n={len(values)} mean={values.mean():+.4f} median={q[1]:+.4f} 10%={q[0]:+.4f} 90%={q[2]:+.4f}"


def test_ctcf_core_snvs_lower_bpnet_counts_more_than_distant_snvs():
    model = zoo.load("bpnet_ctcf", device="cpu")
    ctcf = get_motif("CTCF")
    ic = ctcf.information_content()
    peaks = chip_peaks("ctcf").X
    hits = {}
    for n, start, end, strand in scan(peaks, ctcf, threshold=0.8):
        hits.setdefault(n, (start, end, strand))
    rows = sorted(hits)[:N_PEAKS]
    assert len(rows) == N_PEAKS
    # each peak (100 bp) in the centre of a 2,114-bp stretch of real human sequence (the genome piece)
    with open_genome(example_genome().genome) as fasta:
        flank = str(fasta["chr17"][20_000 : 20_000 + BPNET_LENGTH]).upper()
    offset = BPNET_LENGTH // 2 - 50
    seqs = [flank[:offset] + decode(peaks[i : i + 1])[0].upper().replace("N", "A") + flank[offset + 100 :]
            for i in rows]
    X = one_hot(seqs, unknown="zeros")
    probabilities = ctcf.probabilities
    rng = np.random.default_rng(0)
    edits, core = [], []
    for k, i in enumerate(rows):
        start, end, strand = hits[i]
        columns = np.argsort(ic)[::-1][:3]  # the three most informative columns: the core
        for j in columns:
            p = offset + (start + j if strand == 1 else end - 1 - j)
            column = probabilities[:, j] if strand == 1 else probabilities[::-1, j]
            edits.append((k, p, "ACGT"[int(np.argmin(column))])), core.append(True)
        far = [p for p in range(offset - 150, offset + 250)
               if min(abs(p - (offset + start)), abs(p - (offset + end - 1))) >= 20]
        for p in rng.choice(far, 3, replace=False):
            observed = int(X[k, :, p].argmax())
            edits.append((k, int(p), "ACGT"[(observed + 2) % 4])), core.append(False)
    scores = score_variants(model, variants_from_edits(X, edits), genome=X, target="counts", calibrate=None,
                            device="cpu")
    delta = scores.table.delta_counts.to_numpy()
    core = np.array(core)
    print("\n" + describe("BPNet CTCF core SNVs, delta log counts", delta[core]))
    print(describe("BPNet SNVs 20+ bp from the site, delta log counts", delta[~core]))
    assert np.median(delta[core]) < np.median(delta[~core])
    assert delta[core].mean() < delta[~core].mean() - 0.05
    assert np.abs(delta[~core]).mean() < np.abs(delta[core]).mean()


def test_gata_core_snvs_lower_deepstarr_dev_more_than_hk():
    model = zoo.load("deepstarr", device="cpu")
    ds = fly_enhancers()
    strong = torch.argsort(ds.y[:, 0], descending=True)[:300]
    seqs = decode(ds.X[strong])
    edits = []
    for k, seq in enumerate(seqs):
        for core, change in (("AGATAA", {2: "C", 3: "C"}), ("TTATCT", {2: "G", 3: "G"})):
            start = seq.find(core)
            while start != -1:
                for j, base in change.items():  # GATA -> GCTA / GACA (and the reverse strand)
                    edits.append((k, start + j, base))
                start = seq.find(core, start + 1)
    assert len(edits) >= 100
    X = ds.X[strong]
    scores = score_variants(model, variants_from_edits(X, edits), genome=X, calibrate=None, device="cpu", target="all")
    dev, hk = scores.table.delta_dev.to_numpy(), scores.table.delta_hk.to_numpy()
    print("\n" + describe("DeepSTARR GATA core SNVs in strong dev enhancers, delta dev", dev))
    print(describe("DeepSTARR GATA core SNVs in strong dev enhancers, delta hk", hk))
    assert np.median(dev) < 0
    assert dev.mean() < hk.mean()
    assert np.mean(dev < hk) > 0.6


def test_random_snvs_in_the_same_enhancers_lower_dev_less():
    """The comparison the GATA check needs: random SNVs in the same strong enhancers."""
    model = zoo.load("deepstarr", device="cpu")
    ds = fly_enhancers()
    strong = torch.argsort(ds.y[:, 0], descending=True)[:300]
    X = ds.X[strong]
    rng = np.random.default_rng(0)
    edits = [(k, int(p), "ACGT"[(int(X[k, :, p].argmax()) + 2) % 4])
             for k in range(len(X)) for p in rng.choice(249, 1, replace=False)]
    scores = score_variants(model, variants_from_edits(X, edits), genome=X, calibrate=None, device="cpu", target="all")
    dev = scores.table.delta_dev.to_numpy()
    print("\n" + describe("DeepSTARR random SNVs in the same enhancers, delta dev", dev))
    assert dev.mean() > -0.2
