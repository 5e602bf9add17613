"""VariantExplorer in a real JupyterLab in Debian's Chromium: a click on a row of the variant
table reaches the kernel, and the browser's sources then hold the numbers this test computes
itself (plain forward passes and saturation mutagenesis of windows it builds); no console
error and no Bokeh warning.

Skipped without Playwright or Chromium, except under ``CI=true`` where that is a failure.
"""

import numpy as np
import pytest
import torch

from xai_widgets import zoo
from xai_widgets.data import fly_enhancers
from xai_widgets.methods import saturation_mutagenesis
from xai_widgets.plots import logo_data
from xai_widgets.testing import lab as xl

EDITS = "[(0, 120, 'A'), (0, 30, 'C'), (1, 124, 'G'), (1, 200, 'T'), (2, 60, 'A'), (2, 130, 'C')]"
NOTEBOOKS = {
    "variants.ipynb": [
        "import torch\ntorch.set_num_threads(1)\nfrom xai_widgets import zoo\n"
        "from xai_widgets.data import fly_enhancers, variants_from_edits\n"
        "from xai_widgets.methods import score_variants\nfrom xai_widgets.widgets import VariantExplorer",
        f"X = fly_enhancers('test').X[:3]\nmodel = zoo.load('deepstarr', device='cpu')\n"
        f"edits = [e for e in {EDITS} if X[e[0], 'ACGT'.index(e[2]), e[1]] == 0]\n"
        "scores = score_variants(model, variants_from_edits(X, edits), genome=X, calibrate=200, device='cpu',\n"
        "                        target='all', random_state=0)\n"
        "explorer = VariantExplorer(model, scores, target=scores.outputs[0], device='cpu')\nexplorer",
    ],
}


def expected_variants():
    """Ref and alt windows of the notebook's variants and their predictions, by plain forward passes."""
    X = fly_enhancers("test").X[:3]
    edits = [e for e in eval(EDITS) if X[e[0], "ACGT".index(e[2]), e[1]] == 0]
    refs = torch.stack([X[i] for i, _, _ in edits])
    alts = refs.clone()
    for k, (_, p, b) in enumerate(edits):
        alts[k, :, p] = 0
        alts[k, "ACGT".index(b), p] = 1
    model = zoo.load("deepstarr", device="cpu")
    with torch.no_grad():
        return model, edits, refs, alts, model(refs), model(alts)


@pytest.mark.browser
def test_row_click_shows_the_variant(lab, page):
    model, edits, refs, alts, ref_out, alt_out = expected_variants()
    delta = (alt_out - ref_out).numpy()
    order = np.argsort(-np.abs(delta[:, 0]), kind="stable")  # the table: |delta dev|, largest first
    k = int(order[1])  # the second row (the first is shown at start)
    ism = saturation_mutagenesis(model, torch.stack([refs[k], alts[k]]), target=0, device="cpu").values
    warnings = []
    page.on("console", lambda msg: warnings.append(msg.text)
            if msg.type == "warning" and "bokeh" in msg.text.lower() else None)
    with xl.reporting(page, lab, "variants"):
        xl.open_notebook(page, lab, "variants.ipynb")
        xl.run_all_cells(page, timeout=300)
        xl.wait_for_bokeh_plot(page, "variant_alt")
        first = int(order[0])
        xl.wait_for_text(page, ".xw-variant-readout", lambda t: f"{alt_out[first, 0]:.4f}" in t)
        page.locator(".xw-variant-table select").select_option(index=1)
        xl.wait_for_text(page, ".xw-variant-readout",
                         lambda t: f"{ref_out[k, 0]:.4f}" in t and f"{alt_out[k, 0]:.4f}" in t, timeout=60)
        text = xl.wait_for_text(page, ".xw-variant-outputs", lambda t: f"{delta[k, 0]:.4f}" in t)
        for value in (*ref_out[k].tolist(), *alt_out[k].tolist(), *delta[k].tolist()):  # dev and hk
            assert f"{value:.4f}" in text, (value, text)
        for name, values in (("ref", ism[0]), ("alt", ism[1])):
            expected = logo_data(values)
            got = {key: np.asarray(xl.bokeh_source_data(page, f"variant_{name}_source", key))
                   for key in ("position", "value")}
            np.testing.assert_array_equal(got["position"].astype(int), expected["position"])
            np.testing.assert_allclose(got["value"].astype(float), expected["value"], rtol=0, atol=1e-5)
        diff = np.asarray(xl.bokeh_source_data(page, "variant_difference_source", "value"), dtype=float)
        np.testing.assert_allclose(diff, (ism[1] - ism[0]).sum(0).numpy(), rtol=0, atol=1e-5)
        left = xl.bokeh_source_data(page, "variant_variant_source", "left")
        assert left == [edits[k][1] - 0.5]
        xl.screenshot(page, "variants_after_click")
    assert warnings == [], warnings
