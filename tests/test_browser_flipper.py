"""NucleotideFlipper in a real JupyterLab in Debian's Chromium: clicks on the Bokeh canvas edit the
sequence in the kernel, and the readout shows the prediction this test computes independently.

Skipped without Playwright or Chromium, except under ``CI=true`` where that is a failure.
Screenshots go to ``$XW_BROWSER_ARTIFACTS`` (default ``test-artifacts/browser/``).
"""

import pytest

from xai_widgets import zoo
from xai_widgets._core import predict
from xai_widgets.data import decode, one_hot
from xai_widgets.data.tasks import motif_presence
from xai_widgets.testing import lab as xl

NOTEBOOK = "flipper.ipynb"
SEQUENCE_INDEX, TARGET = 2, 1
NOTEBOOKS = {NOTEBOOK: [
    "import torch\ntorch.set_num_threads(1)\n"
    "from xai_widgets import zoo\nfrom xai_widgets.data.tasks import motif_presence\n"
    "from xai_widgets.widgets import NucleotideFlipper",
    f"task = motif_presence(n=20, random_state=7)\ni = {SEQUENCE_INDEX}\n"
    "model = zoo.load('basset_exp_motif_presence', device='cpu')\n"
    f"flipper = NucleotideFlipper(model, task.X[i], target={TARGET}, instances=task.instances.for_sequence(i), "
    "device='cpu')\nflipper",
]}


def expected_readout(model, sequence: str) -> str:
    """The value the readout must show for ``sequence``, computed here, not by the widget."""
    return f"{float(predict(model, one_hot(sequence), device='cpu')[0, TARGET]):.4f}"


def browser_sequence(page) -> str:
    """The sequence as the browser's data source holds it (letters of the sequence track)."""
    positions = xl.bokeh_source_data(page, "flipper_sequence_source", "position")
    bases = xl.bokeh_source_data(page, "flipper_sequence_source", "base")
    return "".join(base for _, base in sorted(zip(positions, bases)))


@pytest.mark.browser
def test_clicks_edit_the_sequence_and_update_the_readout(lab, page):
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    sequence = decode(motif_presence(n=20, random_state=7).X[SEQUENCE_INDEX : SEQUENCE_INDEX + 1])[0]
    try:
        xl.open_notebook(page, lab, NOTEBOOK)
        xl.run_all_cells(page)
        for name in ("flipper_sequence", "flipper_logo", "flipper_heatmap", "flipper_history"):
            xl.wait_for_bokeh_plot(page, name)
        xl.wait_for_text(page, ".xw-readout", lambda text: expected_readout(model, sequence) in text)
        assert browser_sequence(page) == sequence
        xl.screenshot(page, "flipper_start")

        # a heatmap cell: "what if position 12 were that base?"
        base = "A" if sequence[12] != "A" else "G"
        xl.click_bokeh(page, "flipper_heatmap", 12, 3 - "ACGT".index(base))
        sequence = sequence[:12] + base + sequence[13:]
        xl.wait_for_text(page, ".xw-readout", lambda text: expected_readout(model, sequence) in text)
        assert browser_sequence(page) == sequence

        # a letter of the sequence track: the next base
        nxt = "ACGT"[("ACGT".index(sequence[30]) + 1) % 4]
        xl.click_bokeh(page, "flipper_sequence", 30, 0.5)
        sequence = sequence[:30] + nxt + sequence[31:]
        xl.wait_for_text(page, ".xw-readout", lambda text: expected_readout(model, sequence) in text)
        xl.screenshot(page, "flipper_after_two_clicks")

        # a burst of ten clicks in about a second (BokehJS reports some as double taps); letters of the
        # sequence track cycle, so a click applied twice or dropped would show
        for k in range(10):
            position = 40 + 4 * k
            if k % 2:
                xl.click_bokeh(page, "flipper_sequence", position, 0.5, min_interval=0.1)
                new = "ACGT"[("ACGT".index(sequence[position]) + 1) % 4]
            else:
                row = k % 4
                xl.click_bokeh(page, "flipper_heatmap", position, row, min_interval=0.1)
                new = "ACGT"[3 - row]
            sequence = sequence[:position] + new + sequence[position + 1 :]
        xl.wait_for_text(page, ".xw-readout", lambda text: expected_readout(model, sequence) in text, timeout=60)
        assert browser_sequence(page) == sequence
        xl.screenshot(page, "flipper_after_burst")
    except Exception:
        xl.screenshot(page, "flipper_failure")
        print(f"JupyterLab log {lab.log_path}:\n{lab.log_tail()}")
        raise
    assert page.page_errors == []
    assert page.console_errors == []
