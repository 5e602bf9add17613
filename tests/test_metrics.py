import math

import pytest
import torch

from xai_widgets.metrics import auroc, average_precision, pearson, per_sequence_auroc


def _pairwise_auroc(scores, labels):
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


def test_auroc_matches_pairwise_definition_with_ties():
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 5, (200,), generator=g).float()
    labels = torch.rand(200, generator=g) < 0.3
    assert auroc(scores, labels) == pytest.approx(_pairwise_auroc(scores.tolist(), labels.tolist()), abs=1e-12)


def test_auroc_edge_cases():
    assert auroc([0.1, 0.9], [0, 1]) == 1.0
    assert auroc([0.9, 0.1], [0, 1]) == 0.0
    assert auroc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.5
    assert math.isnan(auroc([1, 2], [1, 1]))
    with pytest.raises(ValueError, match="differ in size"):
        auroc([1, 2, 3], [0, 1])


def test_average_precision_and_pearson():
    assert average_precision([0.9, 0.8, 0.1], [1, 1, 0]) == pytest.approx(1.0)
    assert average_precision([0.9, 0.8, 0.1], [0, 1, 1]) == pytest.approx((1 / 2 + 2 / 3) / 2)
    x = torch.arange(10.0)
    assert pearson(x, 2 * x + 1) == pytest.approx(1.0)
    assert pearson(x, -x) == pytest.approx(-1.0)


def test_per_sequence_auroc():
    scores = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    mask = torch.tensor([[False, True, False], [False, True, False]])
    assert per_sequence_auroc(scores, mask).tolist() == [1.0, 0.25]
    with pytest.raises(ValueError):
        per_sequence_auroc(scores, mask[:, :2])
