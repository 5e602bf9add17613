import numpy as np
import pytest
import torch

from xai_widgets.data import (
    GRAMMAR_RULE,
    attribution_benchmark,
    bundled_motifs,
    cooperative_grammar,
    decode,
    make_task,
    motif_presence,
)
from xai_widgets.data.motifs import planted_mask_columns
from xai_widgets.data.tasks import ATTRIBUTION_CORE, MOTIF_PRESENCE_TFS


@pytest.fixture(scope="module")
def presence():
    return motif_presence(n=2000, random_state=3)


@pytest.fixture(scope="module")
def grammar():
    return cooperative_grammar(n=3000, random_state=4)


@pytest.fixture(scope="module")
def attribution():
    return attribution_benchmark(n=2000, random_state=5)


def _check_instances_and_mask(task):
    """Every instance's bases are a plausible draw of its motif, and the mask marks exactly the
    informative columns of the instances (and nothing else)."""
    expected = torch.zeros_like(task.mask)
    seqs = task.X.argmax(1).numpy()
    for i, name, start, end, strand in zip(task.instances.sequence, task.instances.motif, task.instances.start,
                                           task.instances.end, task.instances.strand):
        motif = task.motifs[name]
        assert end - start == motif.width
        probs = motif.probabilities if strand == 1 else motif.reverse_complement().probabilities
        site = seqs[i, start:end]
        assert (probs[site, np.arange(motif.width)] > 0).all(), (name, i, start)
        cols = planted_mask_columns(motif)
        expected[i, start:end] |= torch.from_numpy(cols if strand == 1 else cols[::-1].copy())
    assert torch.equal(expected, task.mask)


def test_motif_presence_labels_match_instances(presence):
    assert presence.X.shape == (2000, 4, 200) and presence.y.shape == (2000, 12)
    assert presence.target_names == MOTIF_PRESENCE_TFS
    for i in range(0, 2000, 37):
        planted = {m for m, *_ in presence.instances.for_sequence(i)}
        labelled = {presence.target_names[t] for t in torch.nonzero(presence.y[i]).flatten().tolist()}
        assert planted == labelled and 1 <= len(planted) <= 5
    counts = presence.y.sum(1)
    assert abs(float((counts == 1).float().mean()) - 0.5) < 0.05
    _check_instances_and_mask(presence)


def test_instances_do_not_overlap(attribution):
    for i in range(0, 2000, 11):
        spans = attribution.instances.for_sequence(i)
        for (_, _, end, _), (_, start, _, _) in zip(spans, spans[1:]):
            assert end <= start


def test_reproducible_and_seed_dependent():
    a, b = motif_presence(n=50, random_state=1), motif_presence(n=50, random_state=1)
    c = motif_presence(n=50, random_state=2)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y) and torch.equal(a.mask, b.mask)
    assert not torch.equal(a.X, c.X)


def test_splits_and_subset(presence):
    assert [len(presence.splits[k]) for k in ("train", "valid", "test")] == [1400, 200, 400]
    test = presence.subset("test")
    assert torch.equal(test.X, presence.X[1600:]) and torch.equal(test.mask, presence.mask[1600:])
    assert test.instances.for_sequence(0) == presence.instances.for_sequence(1600)
    with pytest.raises(KeyError, match="no split"):
        presence.subset("holdout")


def test_default_size_is_large_enough():
    # the issue asks for at least 25,000 motif_presence sequences; checked on the signature, the
    # zoo test generates the full set
    import inspect
    assert inspect.signature(motif_presence).parameters["n"].default >= 25_000


def test_grammar_labels_follow_the_rule(grammar):
    rule = GRAMMAR_RULE
    y = grammar.y[:, 0]
    noise_free = torch.tensor([rule.activity(grammar.instances.for_sequence(i)) for i in range(len(grammar))])
    residual = y - noise_free
    assert abs(float(residual.std()) - rule.noise) < 0.01 and abs(float(residual.mean())) < 0.01
    in_grammar = noise_free >= rule.cooperativity + rule.effects[rule.anchor] + rule.effects[rule.partner] - 1.0
    assert 0.05 < float(in_grammar.float().mean()) < 0.2
    _check_instances_and_mask(grammar)


def test_subset_with_motif_free_sequences_at_the_end(grammar):
    empty = [i for i in range(len(grammar)) if not grammar.instances.for_sequence(i)]
    assert empty, "cooperative_grammar has sequences without motifs"
    rows = np.array([0, 1, empty[-1]])
    sub = grammar.subset(rows)
    assert sub.instances.for_sequence(2) == [] and sub.instances.for_sequence(0) == grammar.instances.for_sequence(0)
    assert len(grammar.subset("test")) == 600


def test_grammar_rule_geometry():
    rule = GRAMMAR_RULE
    lo, hi = rule.spacing
    wa = bundled_motifs()[rule.anchor].width
    # + strand: partner to the right
    assert rule.forms_grammar(10, 10 + wa, 1, 10 + wa + lo, 30 + wa + lo, 1)
    assert rule.forms_grammar(10, 10 + wa, 1, 10 + wa + hi, 30 + wa + hi, 1)
    assert not rule.forms_grammar(10, 10 + wa, 1, 10 + wa + hi + 1, 40 + wa, 1)
    assert not rule.forms_grammar(10, 10 + wa, 1, 10 + wa + lo, 30 + wa + lo, -1)
    # - strand: the same arrangement read from the other strand has the partner on the left
    assert rule.forms_grammar(50, 50 + wa, -1, 30, 50 - lo, -1)
    assert not rule.forms_grammar(50, 50 + wa, -1, 50 + wa + lo, 70 + wa, -1)


def test_grammar_contains_near_misses(grammar):
    """Sequences with both motifs but outside the rule exist, so the rule is learnable."""
    rule = GRAMMAR_RULE
    both, formed = 0, 0
    for i in range(len(grammar)):
        inst = grammar.instances.for_sequence(i)
        names = {m for m, *_ in inst}
        if {rule.anchor, rule.partner} <= names:
            both += 1
            formed += rule.activity(inst) >= rule.cooperativity
    assert both > 0.15 * len(grammar) and 0.3 < formed / both < 0.6


def test_attribution_benchmark_classes(attribution):
    y = attribution.y[:, 0]
    assert abs(float(y.mean()) - 0.5) < 0.05
    for i in range(0, 2000, 7):
        names = [m for m, *_ in attribution.instances.for_sequence(i)]
        assert 3 <= len(names) <= 7
        if y[i] == 1:
            assert set(names) <= set(ATTRIBUTION_CORE)
    negatives_only_core = sum(set(m for m, *_ in attribution.instances.for_sequence(i)) <= set(ATTRIBUTION_CORE)
                              for i in torch.nonzero(y == 0).flatten().tolist())
    assert negatives_only_core < 0.02 * float((y == 0).sum())
    assert len(attribution.motifs) == 55
    _check_instances_and_mask(attribution)


def test_motifs_are_really_planted(presence):
    """The consensus of a strong motif is far more frequent in sequences labelled with it."""
    seqs = decode(presence.X)
    t = presence.target_names.index("CEBPB")
    consensus = presence.motifs["CEBPB"].consensus[1:-1]
    from xai_widgets.data import reverse_complement
    hit = np.array([consensus in s or reverse_complement(consensus) in s for s in seqs])
    labels = presence.y[:, t].numpy().astype(bool)
    assert hit[labels].mean() > 0.3 and hit[~labels].mean() < 0.02


def test_make_task_and_errors():
    assert make_task("motif_presence", n=20).name == "motif_presence"
    with pytest.raises(KeyError, match="unknown task"):
        make_task("nope")
    with pytest.raises(ValueError, match="at least 10"):
        motif_presence(n=3)
    with pytest.raises(ValueError, match="length must be"):
        attribution_benchmark(n=20, length=40)


def test_repr_is_short_and_deterministic(presence):
    assert repr(presence).startswith("SyntheticTask('motif_presence', N=2000, L=200, targets=12")
