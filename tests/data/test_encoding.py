import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from xai_widgets.data import (
    check_one_hot,
    decode,
    one_hot,
    one_hot_batches,
    reverse_complement,
)

dna = st.text(alphabet="ACGT", min_size=1, max_size=300)


def test_one_hot_order_and_shape():
    X = one_hot("ACGTA")
    assert X.shape == (1, 4, 5) and X.dtype == torch.float32
    assert X[0].argmax(0).tolist() == [0, 1, 2, 3, 0]
    assert torch.equal(X.sum(1), torch.ones(1, 5))


def test_lower_case_equals_upper_case():
    assert torch.equal(one_hot("acgtn".upper()[:4]), one_hot("acgt"))


@given(st.lists(dna.filter(lambda s: len(s) == 20) | st.text(alphabet="ACGTacgt", min_size=20, max_size=20),
                min_size=1, max_size=5))
def test_round_trip(seqs):
    assert decode(one_hot(seqs)) == [s.upper() for s in seqs]


@given(dna)
def test_reverse_complement_tensor_matches_string(s):
    assert decode(reverse_complement(one_hot(s))) == [reverse_complement(s)]
    assert reverse_complement(reverse_complement(s)) == s


def test_unknown_policies():
    with pytest.raises(ValueError, match="unknown='zeros'"):
        one_hot("ACNT")
    zeros = one_hot("ACNT", unknown="zeros")
    assert zeros[0, :, 2].tolist() == [0, 0, 0, 0]
    uniform = one_hot("ACNT", unknown="uniform")
    assert uniform[0, :, 2].tolist() == [0.25] * 4
    assert decode(uniform) == ["ACNT"] and decode(zeros) == ["ACNT"]
    with pytest.raises(ValueError, match="'X' at position 1"):
        one_hot("AXGT", unknown="uniform")
    with pytest.raises(ValueError, match="unknown="):
        one_hot("ACGT", unknown="random")


def test_bad_inputs_raise_helpful_errors():
    with pytest.raises(ValueError, match="no sequences"):
        one_hot([])
    with pytest.raises(ValueError, match="empty sequence"):
        one_hot("")
    with pytest.raises(ValueError, match="different lengths"):
        one_hot(["ACG", "ACGT"])
    with pytest.raises(TypeError):
        one_hot([b"ACGT"])


def test_check_one_hot():
    X = one_hot(["ACGT", "TTTT"])
    assert check_one_hot(X) is X
    with pytest.raises(ValueError, match=r"X\[None\]"):
        check_one_hot(X[0])
    with pytest.raises(ValueError, match=r"shape \(N, 4, L\)"):
        check_one_hot(torch.zeros(2, 5, 10))
    with pytest.raises(TypeError, match="floating"):
        check_one_hot(X.long())
    with pytest.raises(TypeError, match="torch.Tensor"):
        check_one_hot(X.numpy())
    bad = X.clone()
    bad[1, :, 2] = torch.tensor([0.5, 0.5, 0, 0])
    with pytest.raises(ValueError, match=r"X\[1, :, 2\]"):
        check_one_hot(bad)
    with pytest.raises(ValueError, match="empty"):
        check_one_hot(torch.zeros(0, 4, 10))


def test_batches_cover_all_in_order():
    seqs = ["ACGT", "CCCC", "GGGG", "TTTT", "ACGT"]
    batches = list(one_hot_batches(seqs, batch_size=2))
    assert [b.shape[0] for b in batches] == [2, 2, 1]
    assert decode(torch.cat(batches)) == seqs
    with pytest.raises(ValueError):
        list(one_hot_batches(seqs, batch_size=0))
