"""FilterGallery and AttentionOverlay in a real JupyterLab in Debian's Chromium: a click on the
canvas reaches the kernel, and what the browser shows equals what this test computes itself.

Skipped without Playwright or Chromium, except under ``CI=true`` where that is a failure.
"""

import numpy as np
import pytest

from xai_widgets import zoo
from xai_widgets.data import cooperative_grammar, motif_presence
from xai_widgets.methods import (
    ablate_filters,
    attention_importance,
    attention_maps,
    mutated_importance,
)
from xai_widgets.metrics import mean_metric
from xai_widgets.testing import lab as xl

GALLERY_DATA = "motif_presence(n=2000, random_state=4).subset('test')"
ATTENTION_SEQUENCE = 5
NOTEBOOKS = {
    "gallery.ipynb": [
        "import torch\ntorch.set_num_threads(1)\nfrom xai_widgets import zoo\n"
        "from xai_widgets.data import motif_presence\nfrom xai_widgets.widgets import FilterGallery",
        f"data = {GALLERY_DATA}\nmodel = zoo.load('basset_exp_motif_presence', device='cpu')\n"
        "gallery = FilterGallery(model, data, target=0, sequences=[0, 1], n_motif=600, n_eval=400, device='cpu')\n"
        "gallery",
    ],
    "sweep.ipynb": [
        "import torch\ntorch.set_num_threads(1)\nfrom xai_widgets import zoo\n"
        "from xai_widgets.widgets import SpacingSweep",
        "model = zoo.load('basset_relu_cooperative_grammar', device='cpu')\n"
        "sweep = SpacingSweep(model, spacings=(-15, 15), n_backgrounds=40, device='cpu', run=False)\nsweep",
    ],
    "interaction.ipynb": [
        "import torch\ntorch.set_num_threads(1)\nfrom xai_widgets import zoo\n"
        "from xai_widgets.data import cooperative_grammar\nfrom xai_widgets.widgets import InteractionMap",
        "task = cooperative_grammar(n=50, random_state=3)\nmodel = zoo.load('basset_relu_cooperative_grammar', "
        "device='cpu')\nimap = InteractionMap(model, task.X[:1], instances=task.instances.for_sequence(0), n_null=2, "
        "device='cpu', progress=False)\nimap",
    ],
    "attention.ipynb": [
        "import torch\ntorch.set_num_threads(1)\nfrom xai_widgets import zoo\n"
        "from xai_widgets.data import motif_presence\nfrom xai_widgets.widgets import AttentionOverlay",
        f"task = motif_presence(n=20, random_state=9)\ni = {ATTENTION_SEQUENCE}\n"
        "model = zoo.load('attention_motif_presence', device='cpu')\n"
        "overlay = AttentionOverlay(model, task.X[i], target=int(model(task.X[i : i + 1]).argmax()), "
        "instances=task.instances.for_sequence(i), device='cpu')\n"
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
        expected = mean_metric(ablate_filters(model, data.X[:400], filters=[first], device="cpu").predictions,
                               data.y[:400], metric="auroc")
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


@pytest.mark.browser
def test_sweep_runs_from_the_button_and_shows_an_example(lab, page):
    with xl.reporting(page, lab, "sweep"):
        xl.open_notebook(page, lab, "sweep.ipynb")
        xl.run_all_cells(page, timeout=240)
        xl.wait_for_bokeh_plot(page, "sweep")
        page.locator(".xw-sweep button.jupyter-button", has_text="run").first.click()
        text = xl.wait_for_text(page, ".xw-sweep-readout", lambda t: "peak" in t, timeout=120)
        orientation, spacing = text.split("peak ")[1].split(" bp")[0].split(" at ")
        assert orientation in ("++", "--") and 4 <= int(spacing) <= 12  # the planted grammar
        effects = xl.bokeh_source_data(page, "sweep_curve_source", f"effect_{orientation}")
        assert len(effects) == 31
        xl.click_bokeh(page, "sweep", int(spacing), max(e for e in effects if e == e))
        xl.wait_for_bokeh_plot(page, "sweep_example")
        motifs = []
        for _ in range(50):  # the example arrives with the next message
            motifs = xl.bokeh_source_data(page, "sweep_sites_source", "motif")
            if motifs:
                break
            page.wait_for_timeout(200)
        assert motifs == ["Spi1", "Irf1"]
        xl.screenshot(page, "sweep_after_click")


@pytest.mark.browser
def test_interaction_map_cell_click_shows_before_and_after(lab, page):
    model = zoo.load("basset_relu_cooperative_grammar", device="cpu")
    task = cooperative_grammar(n=50, random_state=3)
    sites = task.instances.for_sequence(0)
    after = mutated_importance(model, task.X[:1], source=sites[1], device="cpu", random_state=0)
    _, start, end, _ = sites[2]
    with xl.reporting(page, lab, "interaction"):
        xl.open_notebook(page, lab, "interaction.ipynb")
        xl.run_all_cells(page, timeout=240)
        xl.wait_for_bokeh_plot(page, "interaction_heatmap")
        n = len(sites)
        labels = [f"{name}:{s}-{e}" for name, s, e, _ in sites]
        # hovering cell (source 0, target 1) highlights both features on the logo (a CustomJS hover)
        page.mouse.move(*xl.bokeh_data_to_page(page, "interaction_heatmap", 1.5, n - 1 + 0.5))
        left = []
        for _ in range(25):
            left = xl.bokeh_source_data(page, "interaction_highlight_source", "left")
            if left:
                break
            page.wait_for_timeout(200)
        assert left == [sites[0][1] - 0.5, sites[1][1] - 0.5]
        # categorical axes: click the centre of cell (source 1, target 2) through its pixel position
        xl.click_bokeh(page, "interaction_heatmap", 2.5, n - 1 - 1 + 0.5)
        xl.wait_for_text(page, ".xw-interaction-readout",
                         lambda t: labels[1] in t and labels[2] in t and f"{float(after[start:end].sum()):.4f}" in t)
        shown = np.asarray(xl.bokeh_source_data(page, "interaction_after_source", "value"), dtype=float)
        np.testing.assert_allclose(shown, after.numpy(), atol=1e-5)
        xl.screenshot(page, "interaction_after_click")
        page.mouse.wheel(0, 600)  # the logo and the before/after tracks below the heatmap
        page.wait_for_timeout(500)
        xl.screenshot(page, "interaction_tracks")
