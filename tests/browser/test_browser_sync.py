"""What the browser shows is what Python holds: all five widgets in one notebook in a real
JupyterLab (Debian's Chromium), through every flow that creates or updates a browser view.

Flows: creation (with an action or a background run before the view exists), one action per
widget from the browser, and a second display of each widget followed by an action. After each,
every ``ColumnDataSource`` of every browser view of every widget must equal the kernel's
(:func:`xai_widgets.testing.lab.assert_browser_matches_kernel`), and at the end the page must have
logged no console error and no Bokeh warning. Skipped without Playwright or Chromium, except
under ``CI=true`` where that is a failure.

Not here yet (issue 11, part 8, open): save and reload without re-running, reload and re-run
all, restart kernel and run all. Run by hand they passed every comparison once, but two known
failures keep them out of the suite: after a kernel restart jupyter_bokeh's old views send
property changes over their closed comm ("Error: Cannot send", also with a plain
``jupyter_bokeh.BokehModel``), and after a reload JupyterLab can draw an output before its widget
manager has restored the model ("Error displaying widget: model not found").
"""

import time

import pytest

from xai_widgets.testing import lab as xl

NOTEBOOK = "all_widgets.ipynb"
WIDGETS = ("flipper", "gallery", "overlay", "sweep", "imap")
NOTEBOOKS = {NOTEBOOK: [
    "import numpy as np\nimport torch\ntorch.set_num_threads(1)\nfrom IPython.display import display\n"
    "from xai_widgets import plots, zoo\nfrom xai_widgets.data import cooperative_grammar, motif_presence\n"
    "from xai_widgets.widgets import AttentionOverlay, FilterGallery, InteractionMap, NucleotideFlipper, SpacingSweep\n"
    "plots.setup_notebook()",
    # an edit before the view exists
    "task = motif_presence(n=20, random_state=7)\nexp_model = zoo.load('basset_exp_motif_presence', device='cpu')\n"
    "flipper = NucleotideFlipper(exp_model, task.X[2], target=1, instances=task.instances.for_sequence(2), "
    "window=60, device='cpu')\nflipper.flip(10)\nflipper",
    # a filter ablated before the view exists
    "data = motif_presence(n=2000, random_state=4).subset('test')\n"
    "gallery = FilterGallery(exp_model, data, target=0, sequences=[0, 1], n_motif=600, n_eval=400, device='cpu')\n"
    "gallery.toggle(int(gallery.sources['tiles'].data['filter'][1]))\ngallery",
    # a query chosen before the view exists
    "att_task = motif_presence(n=20, random_state=9)\natt_model = zoo.load('attention_motif_presence', device='cpu')\n"
    "overlay = AttentionOverlay(att_model, att_task.X[5], target=int(att_model(att_task.X[5:6]).argmax()), "
    "instances=att_task.instances.for_sequence(5), device='cpu')\n"
    "overlay.query_position = 40\noverlay",
    # a sweep started at once, in the background: it ends after the view exists (or while it is made)
    "grammar_model = zoo.load('basset_relu_cooperative_grammar', device='cpu')\n"
    "sweep = SpacingSweep(grammar_model, spacings=(-10, 10), orientations=('++', '--'), n_backgrounds=20, "
    "device='cpu', run=True)\nsweep",
    # a cell selected before the view exists
    "grammar = cooperative_grammar(n=50, random_state=3)\n"
    "imap = InteractionMap(grammar_model, grammar.X[:1], instances=grammar.instances.for_sequence(0), n_null=2, "
    "device='cpu', progress=False)\nimap.select(0, 1)\nimap",
    # a second display of every widget
    "display(flipper, gallery, overlay, sweep, imap)",
]}
SECOND_DISPLAY = 6


def wait_for_kernel(page, expression, before, timeout=120):
    """Wait until ``expression`` evaluated in the kernel differs from ``before``; return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = xl.kernel_value(page, expression)
        if value != before:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{expression} stayed {before!r} for {timeout} s")
        page.wait_for_timeout(200)


def wait_for_sweep(page):
    wait_for_kernel(page, "sweep.status", "running")
    assert xl.kernel_value(page, "sweep.status") == "done"


def all_match(page, views):
    xl.scroll_through_notebook(page)  # a reloaded page may render outputs only when they come into view
    for name in WIDGETS:
        xl.assert_browser_matches_kernel(page, name, views=views)


def click_and_match(page, name, expression, figure, x, y, views):
    """Click a widget's plot, wait until the kernel has handled it, compare every view."""
    before = xl.kernel_value(page, expression)
    xl.click_bokeh(page, figure, x, y)
    wait_for_kernel(page, expression, before)
    xl.assert_browser_matches_kernel(page, name, views=views)


def one_action_each(page, views, round=0):
    """One click per widget; ``round`` moves the clicks so that a second round changes the state again."""
    click_and_match(page, "flipper", "flipper.sequence", "flipper_sequence", 20, 0.5, views)
    tiles = xl.kernel_value(page, "{k: [float(v) for v in gallery.sources['tiles'].data[k][:1]] "
                                  "for k in ('left', 'right', 'bottom', 'top')}")
    click_and_match(page, "gallery", "gallery.readout.value", "gallery", (tiles["left"][0] + tiles["right"][0]) / 2,
                    (tiles["bottom"][0] + tiles["top"][0]) / 2, views)
    click_and_match(page, "overlay", "overlay.query_position", "attention_sequence", 61 + 10 * round, 0.5, views)
    orientation, spacing = xl.kernel_value(page, "sweep.peak")
    effect = xl.kernel_value(page, f"float(np.nanmax(sweep.sources['sweep'].data['effect_{orientation}']))")
    click_and_match(page, "sweep", "sweep.figures['example'].title.text", "sweep", spacing - 3 * round, effect * 0.9,
                    views)
    n = xl.kernel_value(page, "len(imap.features)")
    click_and_match(page, "imap", "imap.selected", "interaction_heatmap", 2.5 - round, n - 2 + 0.5, views)


def run_notebook(page, cells):
    for index in cells:
        xl.run_cell(page, index, timeout=300)
    wait_for_sweep(page)


@pytest.mark.browser
def test_views_show_the_kernel_state_after_creation_actions_and_a_second_display(lab, page):
    started = time.monotonic()
    with xl.reporting(page, lab, "sync"):
        xl.open_notebook(page, lab, NOTEBOOK)
        # creation, with an action or a background run before each view exists
        run_notebook(page, range(SECOND_DISPLAY))
        all_match(page, views=1)
        xl.screenshot(page, "sync_created")
        # one action per widget, from the browser
        one_action_each(page, views=1)
        # a second display after those actions: the new views must show the current state
        xl.run_cell(page, SECOND_DISPLAY)
        all_match(page, views=2)
        click_and_match(page, "flipper", "flipper.sequence", "flipper_sequence", 22, 0.5, views=2)
        xl.screenshot(page, "sync_second_display")
    print(f"browser sync flows: {time.monotonic() - started:.0f} s")
