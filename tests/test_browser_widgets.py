"""FilterGallery and AttentionOverlay in a real JupyterLab in Debian's Chromium: a click on the
canvas reaches the kernel, and what the browser shows equals what this test computes itself.

Skipped without Playwright or Chromium, except under ``CI=true`` where that is a failure.
"""

import numpy as np
import pytest

from xai_widgets import zoo
from xai_widgets.data import motif_presence
from xai_widgets.methods import ablate_filters, attention_importance, attention_maps
from xai_widgets.methods.filters import _score
from xai_widgets.testing import lab as xl

GALLERY_DATA = "motif_presence(n=2000, random_state=4).subset('test')"
ATTENTION_SEQUENCE = 5
NOTEBOOKS = {
    "gallery.ipynb": [
        "import torch\ntorch.set_num_threads(1)\nfrom xai_widgets import zoo\n"
        "from xai_widgets.data import motif_presence\nfrom xai_widgets.widgets import FilterGallery",
        f"data = {GALLERY_DATA}\nmodel = zoo.load('basset_exp_motif_presence', device='cpu')\n"
        "gallery = FilterGallery(model, data, sequences=[0, 1], n_motif=600, n_eval=400, device='cpu')\ngallery",
    ],
    "attention.ipynb": [
        "import torch\ntorch.set_num_threads(1)\nfrom xai_widgets import zoo\n"
        "from xai_widgets.data import motif_presence\nfrom xai_widgets.widgets import AttentionOverlay",
        f"task = motif_presence(n=20, random_state=9)\ni = {ATTENTION_SEQUENCE}\n"
        "model = zoo.load('attention_motif_presence', device='cpu')\n"
        "overlay = AttentionOverlay(model, task.X[i], instances=task.instances.for_sequence(i), device='cpu')\n"
        "overlay",
    ],
}


@pytest.mark.browser
def test_gallery_click_ablates_a_filter(lab, page):
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    data = eval(GALLERY_DATA, {"motif_presence": motif_presence})
    with xl.reporting(page, lab, "gallery"):
        xl.open_notebook(page, lab, "gallery.ipynb")
        xl.run_all_cells(page, timeout=240)
        xl.wait_for_bokeh_plot(page, "gallery")
        xl.wait_for_text(page, ".xw-gallery-readout", lambda text: "ablated: 0" in text)
        tiles = {key: xl.bokeh_source_data(page, "gallery_tiles_source", key)
                 for key in ("filter", "left", "right", "bottom", "top")}
        first = int(tiles["filter"][0])  # the most important filter
        x = (tiles["left"][0] + tiles["right"][0]) / 2
        y = (tiles["bottom"][0] + tiles["top"][0]) / 2
        expected = _score(ablate_filters(model, data.X[:400], [first], device="cpu").predictions, data.y[:400],
                          "auroc")
        xl.click_bokeh(page, "gallery", x, y)
        xl.wait_for_text(page, ".xw-gallery-readout", lambda text: f"{expected:.4f}" in text and "ablated: 1" in text)
        xl.wait_for_text(page, ".xw-gallery-details", lambda text: f"filter {first}" in text)
        fills = xl.bokeh_source_data(page, "gallery_tiles_source", "fill")
        assert fills[0] != fills[1]  # the browser redrew the tile as ablated
        xl.screenshot(page, "gallery_after_click")
        xl.click_bokeh(page, "gallery", x, y)  # and restores it
        xl.wait_for_text(page, ".xw-gallery-readout", lambda text: "ablated: 0" in text)


@pytest.mark.browser
def test_attention_query_click_updates_the_overlay(lab, page):
    model = zoo.load("attention_motif_presence", device="cpu")
    X = motif_presence(n=20, random_state=9).X[ATTENTION_SEQUENCE : ATTENTION_SEQUENCE + 1]
    query = 61
    expected = attention_importance(attention_maps(model, X, device="cpu"), query=query)[0].numpy()
    with xl.reporting(page, lab, "attention"):
        xl.open_notebook(page, lab, "attention.ipynb")
        xl.run_all_cells(page, timeout=240)
        xl.wait_for_bokeh_plot(page, "attention_sequence")
        xl.click_bokeh(page, "attention_sequence", query, 0.5)
        xl.wait_for_text(page, ".xw-attention-readout", lambda text: f"query {query}" in text)
        shown = np.asarray(xl.bokeh_source_data(page, "attention_strip_source", "value"), dtype=float)
        np.testing.assert_allclose(shown, expected, atol=1e-5)
        assert f"at {int(expected.argmax())}" in xl.wait_for_text(page, ".xw-attention-readout", lambda t: True)
        xl.screenshot(page, "attention_after_click")
