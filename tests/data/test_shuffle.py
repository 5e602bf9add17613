import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xai_widgets.data import (
    decode,
    dinucleotide_counts,
    dinucleotide_shuffle,
    one_hot,
    shuffle,
)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ACGT", min_size=1, max_size=120), st.integers(0, 2**16))
def test_dinucleotide_shuffle_preserves_counts_and_ends(seq, seed):
    X = one_hot(seq)
    out = dinucleotide_shuffle(X, n_shuffles=3, random_state=seed)
    assert out.shape == (1, 3, 4, len(seq))
    assert torch.all(out.sum(2) == 1)
    for s in out[0]:
        assert torch.equal(dinucleotide_counts(s), dinucleotide_counts(X[0]))
        assert torch.equal(s[:, 0], X[0, :, 0]) and torch.equal(s[:, -1], X[0, :, -1])


def test_dinucleotide_shuffle_actually_shuffles_and_is_reproducible():
    X = one_hot(["".join(np.random.default_rng(0).choice(list("ACGT"), 200))])
    a = dinucleotide_shuffle(X, 5, random_state=1)
    b = dinucleotide_shuffle(X, 5, random_state=1)
    assert torch.equal(a, b)
    distinct = {decode(s[None])[0] for s in a[0]}
    assert len(distinct) == 5 and decode(X)[0] not in distinct


def test_dinucleotide_shuffle_is_uniform_over_valid_sequences():
    # "AACAGA"-like small case: enumerate all sequences with the same dinucleotide counts,
    # same first and last base; every one must come up with about equal frequency.
    from itertools import permutations

    seq = "ACAGAT"
    X = one_hot(seq)
    target = dinucleotide_counts(X[0])
    valid = {"".join(p) for p in permutations(seq)
             if p[0] == seq[0] and p[-1] == seq[-1]
             and torch.equal(dinucleotide_counts(one_hot("".join(p))[0]), target)}
    draws = decode(dinucleotide_shuffle(X, 3000, random_state=0)[0])
    counts = {s: draws.count(s) for s in valid}
    assert set(draws) == valid and len(valid) > 1
    expected = 3000 / len(valid)
    assert all(abs(c - expected) < 0.2 * expected for c in counts.values()), counts


def test_mononucleotide_shuffle_keeps_composition():
    X = one_hot(["AAACCCGGGT", "ACGTACGTAC"])
    out = shuffle(X, 4, random_state=0)
    assert out.shape == (2, 4, 4, 10)
    assert torch.equal(out.sum(-1), X.sum(-1)[:, None].expand(2, 4, 4))


def test_shuffle_rejects_bad_input():
    with pytest.raises(ValueError):
        dinucleotide_shuffle(one_hot("ACGT"), 0)
    with pytest.raises(ValueError, match="not one-hot"):
        dinucleotide_shuffle(torch.full((1, 4, 5), 0.5))
    # all-0.25 columns are N (as one_hot(..., unknown="uniform") writes them): kept in place
    assert torch.equal(dinucleotide_shuffle(torch.full((1, 4, 5), 0.25), 1)[:, 0], torch.full((1, 4, 5), 0.25))
