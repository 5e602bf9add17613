"""Motif discovery (methods.discovery): planted motifs found again, seqlets traced to the right
sequence windows, Tomtom computed on the drawn matrices.

The ground truth of the issue (5,000 sequences, >= 10 of 12 motifs) is computed by
``benchmarks/atscale.py`` (RESULT lines in docs/benchmarks.md); this test runs a smaller version
(600 sequences, 4 shuffles, 2 Leiden runs) and asserts the smaller numbers stated below.
"""

import numpy as np
import pytest
import torch

from xai_widgets import data, zoo
from xai_widgets.data.motifs import Motif
from xai_widgets.evaluation import planted_recovery
from xai_widgets.methods import tomtom_matches
from xai_widgets.methods.atscale import attribute_to_store
from xai_widgets.methods.discovery import DiscoveryResult, cwm_probabilities, discover_motifs

N = 600


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    task = data.motif_presence(n=N, random_state=11)
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    first = {}
    for s, m in zip(task.instances.sequence, task.instances.motif):
        first.setdefault(int(s), str(m))
    coords = tuple((f"chr{i % 2}", 1000 * i, 1000 * i + 200, "+-"[i % 2]) for i in range(N))
    ds = data.Dataset(X=task.X, names=tuple(f"seq{i}" for i in range(N)), coordinates=coords)
    store = attribute_to_store(model, ds, store=tmp_path_factory.mktemp("d") / "mp", method="deep_lift_shap",
                               target=[first[i] for i in range(N)], chunk_size=200, random_state=0,
                               options={"n_shuffles": 4}, client=None)
    result = discover_motifs(store, database=task.motifs, n_leiden_runs=2, min_metacluster_size=50,
                             final_min_cluster_size=10)
    return task, store, result


def test_planted_motifs_recovered(synthetic):
    task, _, result = synthetic
    assert isinstance(result, DiscoveryResult) and result.n_sequences == N
    recovery = planted_recovery(result, task.instances, motifs=task.motifs)
    recovered = recovery[recovery.recovered]
    # a floor below what larger runs give (11 of 12 at N = 1,000 with 10 shuffles during development;
    # benchmarks/atscale.py gives the 5,000-sequence figures)
    assert len(recovered) >= 8, recovery
    assert (recovered.overlap >= 0.8).mean() >= 0.75, recovery
    table = result.table()
    assert list(table.pattern) == [p.name for p in result.patterns]
    assert (table.n_seqlets >= 10).all()


def test_seqlets_trace_back_to_their_windows(synthetic):
    """The PWM and CWM of the drawn window equal the mean one-hot and contribution of the seqlets'
    windows read from the store on their strand: the coordinates are right."""
    _, store, result = synthetic
    X, values = store.X(), store.values()
    for p in result.patterns:
        t = p.seqlets
        width = p.window[1] - p.window[0]
        full = t[(t.end - t.start) == width]
        assert len(full) >= 0.9 * len(t)
        windows_x, windows_c = [], []
        for s, lo, hi, strand in zip(full.sequence, full.start, full.end, full.strand):
            x, c = X[s, :, lo:hi], values[s, :, lo:hi]
            if strand == "-":
                x, c = x[::-1, ::-1], c[::-1, ::-1]
            windows_x.append(x)
            windows_c.append(c)
        if len(full) == len(t):
            np.testing.assert_allclose(np.mean(windows_x, 0), p.matrix("pwm"), atol=1e-6)
            np.testing.assert_allclose(np.mean(windows_c, 0), p.matrix("cwm"), atol=1e-4)
        else:  # a few seqlets clipped at a sequence end: compare what they share
            np.testing.assert_allclose(np.mean(windows_x, 0), p.matrix("pwm"), atol=0.15)
        # reverse strand of a matrix is its reverse complement
        np.testing.assert_array_equal(p.matrix("pwm", strand="-"), p.matrix("pwm")[::-1, ::-1])


def test_names_and_genomic_coordinates(synthetic):
    _, store, result = synthetic
    t = result.seqlets()
    assert (t.name == [f"seq{s}" for s in t.sequence]).all()
    for row in t.head(30).itertuples():
        chrom, start, end, strand = store.coordinates[row.sequence]
        assert row.chrom == chrom
        if strand == "+":
            assert (row.genomic_start, row.genomic_end) == (start + row.start, start + row.end)
            assert row.genomic_strand == row.strand
        else:
            assert (row.genomic_start, row.genomic_end) == (end - row.end, end - row.start)
            assert row.genomic_strand == {"+": "-", "-": "+"}[row.strand]


def test_tomtom_on_the_drawn_matrix(synthetic):
    task, _, result = synthetic
    p = result.patterns[0]
    direct_pwm = tomtom_matches([Motif(p.name, p.matrix("pwm"))], task.motifs, n_best=3)[0]
    direct_cwm = tomtom_matches([Motif(p.name, cwm_probabilities(p.matrix("cwm"), p.sign))], task.motifs, n_best=3)[0]
    assert [(m.target, m.p_value) for m in p.matches["pwm"]] == [(m.target, m.p_value) for m in direct_pwm]
    assert [(m.target, m.p_value) for m in p.matches["cwm"]] == [(m.target, m.p_value) for m in direct_cwm]
    assert "12 given" in result.matched_against


def test_cwm_probabilities_and_errors():
    cwm = np.array([[2.0, -1.0], [0.0, 0.0], [0.0, 3.0], [0.0, 0.0]])
    pos = cwm_probabilities(cwm, 1)
    np.testing.assert_allclose(pos.sum(0), 1)
    assert pos[:, 0].argmax() == 0 and pos[:, 1].argmax() == 2
    assert cwm_probabilities(cwm, -1)[:, 1].argmax() == 0
    with pytest.raises(ValueError, match="both X= and hypothetical="):
        discover_motifs()
    with pytest.raises(ValueError, match="shape"):
        discover_motifs(X=np.zeros((3, 4, 10)), hypothetical=np.zeros((3, 4, 11)))
    with pytest.raises(TypeError, match="AttributionStore"):
        discover_motifs(torch.zeros(3))
    with pytest.raises(ValueError, match="tax_group"):
        discover_motifs(X=np.zeros((3, 4, 10)), hypothetical=np.zeros((3, 4, 10)), database="martians")
