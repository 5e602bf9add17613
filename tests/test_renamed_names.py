"""One meaning per name (issue 21): renamed public names keep working for a while, with a
FutureWarning that names the new one (the test suite turns warnings of xai_widgets into errors,
so every use inside the package and its tests is of the new name)."""

import numpy as np
import pytest
import torch
from torch import nn

from xai_widgets import data, methods, plots
from xai_widgets._core import renamed_keywords
from xai_widgets.methods import FilterImportance


def test_renamed_keywords_warn_and_refuse_both():
    @renamed_keywords(old="new")
    def f(x, *, new=1):
        """Doc."""
        return x + new

    assert f(1, new=2) == 3
    with pytest.warns(FutureWarning, match=r"f\(old=\.\.\.\) is deprecated; use new="):
        assert f(1, old=5) == 6
    with pytest.raises(TypeError, match="got both old= .deprecated. and new="):
        f(1, old=5, new=2)
    import inspect

    assert list(inspect.signature(f).parameters) == ["x", "new"] and f.__doc__ == "Doc."


def test_readout_initial_was_reference():
    """``reference`` means DeepLIFT's reference sequences only; the readout's start value is ``initial``."""
    expected = plots.readout_html(1.25, initial=1.0, output="o", unit="u")
    assert "+0.2500 vs. start" in expected and plots.readout_html(1.25, 1.0, output="o", unit="u") == expected
    with pytest.warns(FutureWarning, match="use initial="):
        assert plots.readout_html(1.25, reference=1.0, output="o", unit="u") == expected


def test_filter_importance_intact_score_was_reference_score():
    importance = FilterImportance(0.9, np.array([0.5, 0.8]), np.array([0.1, 0.0]), "auroc", "zero")
    np.testing.assert_allclose(importance.drop, [0.4, 0.1])
    with pytest.warns(FutureWarning, match="use intact_score"):
        assert importance.reference_score == importance.intact_score == 0.9


def test_diagnose_n_shuffles_was_n_references():
    """Both name the number of DeepSHAP references, as deep_lift_shap's n_shuffles does."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 4, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 20, 1)).eval()
    X = data.one_hot(["ACGTTGCAAGCTTACGGATC"])
    new = methods.diagnose(model, X, n_shuffles=3, random_state=0)
    with pytest.warns(FutureWarning, match="use n_shuffles="):
        old = methods.diagnose(model, X, n_references=3, random_state=0)
    assert old.summary() == new.summary()
    torch.testing.assert_close(old.deeplift_gap, new.deeplift_gap)
    direct = methods.deep_lift_shap(model, X, n_shuffles=3, random_state=0, device="cpu")
    assert direct.references.shape[1] == 3
