"""NucleotideFlipper in a real JupyterLab in Debian's Chromium: clicks on the Bokeh canvas edit the
sequence in the kernel, and the readout shows the prediction this test computes independently.

Skipped without Playwright or Chromium, except under ``CI=true`` where that is a failure.
Screenshots go to ``$XW_BROWSER_ARTIFACTS`` (default ``test-artifacts/browser/``).
"""

import time

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


def wait_for_browser_sequence(page, sequence: str, timeout: float = 30) -> None:
    """Wait until the browser's sequence source holds ``sequence``: the readout (an ipywidget) and
    the Bokeh sources travel in separate messages, so one can land before the other on a busy
    machine; fail with both sequences after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (shown := browser_sequence(page)) != sequence and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert shown == sequence


def browser_outlines(page, expression: str, source: str) -> list:
    """Evaluate a letter-outline expression on its source in the page (what BokehJS draws)."""
    return page.evaluate("""([name, sourceName]) => {
        for (const doc of Bokeh.documents) {
            const expr = doc.get_model_by_name(name), source = doc.get_model_by_name(sourceName);
            if (expr && source) return Array.from(expr.v_compute(source), (row) => row.map((polygon) =>
                polygon.map((ring) => Array.from(ring))));
        }
        return null;
    }""", [expression, source])


def assert_letters_drawn_where_the_data_says(page):
    """Every letter of the logo spans position +- 0.45 and bottom .. bottom + value."""
    columns = {key: xl.bokeh_source_data(page, "flipper_logo_source", key) for key in ("position", "bottom", "value")}
    xs = browser_outlines(page, "flipper_logo_xs", "flipper_logo_source")
    ys = browser_outlines(page, "flipper_logo_ys", "flipper_logo_source")
    assert len(xs) == len(ys) == len(columns["position"]) > 0
    for row, (x_rings, y_rings) in enumerate(zip(xs, ys)):
        x = [v for polygon in x_rings for ring in polygon for v in ring]
        y = [v for polygon in y_rings for ring in polygon for v in ring]
        position, bottom, value = (columns[key][row] for key in ("position", "bottom", "value"))
        assert min(x) == pytest.approx(position - 0.45, abs=1e-3) and max(x) == pytest.approx(position + 0.45, abs=1e-3)
        low, high = sorted((bottom, bottom + value))
        assert min(y) == pytest.approx(low, abs=1e-3 * max(1.0, abs(value)))
        assert max(y) == pytest.approx(high, abs=1e-3 * max(1.0, abs(value)))


@pytest.mark.browser
def test_clicks_edit_the_sequence_and_update_the_readout(lab, page):
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    sequence = decode(motif_presence(n=20, random_state=7).X[SEQUENCE_INDEX : SEQUENCE_INDEX + 1])[0]
    with xl.reporting(page, lab, "flipper"):
        xl.open_notebook(page, lab, NOTEBOOK)
        xl.run_all_cells(page)
        for name in ("flipper_sequence", "flipper_logo", "flipper_heatmap", "flipper_history"):
            xl.wait_for_bokeh_plot(page, name)
        xl.wait_for_text(page, ".xw-readout", lambda text: expected_readout(model, sequence) in text)
        wait_for_browser_sequence(page, sequence)
        assert_letters_drawn_where_the_data_says(page)
        xl.screenshot(page, "flipper_start")

        # a heatmap cell: "what if position 12 were that base?"
        base = "A" if sequence[12] != "A" else "G"
        xl.click_bokeh(page, "flipper_heatmap", 12, 3 - "ACGT".index(base))
        sequence = sequence[:12] + base + sequence[13:]
        xl.wait_for_text(page, ".xw-readout", lambda text: expected_readout(model, sequence) in text)
        wait_for_browser_sequence(page, sequence)

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
        wait_for_browser_sequence(page, sequence)
        xl.screenshot(page, "flipper_after_burst")
