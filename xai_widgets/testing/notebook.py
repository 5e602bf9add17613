"""Open, run, save, reload and query a notebook in JupyterLab through the page."""

from __future__ import annotations

import contextlib
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .page import screenshot
from .server import LabServer


class NotebookError(AssertionError):
    """A notebook cell raised, or printed a traceback."""


# The current notebook panel, whether its kernel is idle, and whether any cell
# is still queued or running.
_JS_NOTEBOOK = r"""
const xwPanel = () => {
  const app = window.jupyterapp;
  if (app == null) return null;
  const w = app.shell.currentWidget;
  return (w != null && w.content != null && w.sessionContext != null) ? w : null;
};
const xwKernelIdle = (panel) => {
  const k = panel.sessionContext.session?.kernel;
  return k != null && k.status === "idle" && k.connectionStatus === "connected";
};
const xwBusyCells = (panel) => {
  let n = 0;
  for (const cell of panel.content.widgets) {
    if (cell.model.type !== "code") continue;
    if (cell.model.executionState === "running") { n++; continue; }
    const prompt = cell.node.querySelector(".jp-InputArea-prompt");
    if (prompt != null && prompt.textContent.includes("[*]")) n++;
  }
  return n;
};
"""


def _js_run_done() -> str:
    """A page expression: the last run command has finished and the notebook's kernel is idle."""
    return "() => {" + _JS_NOTEBOOK + """
      const p = xwPanel();
      return window.__xwRunAll.done && p != null && xwKernelIdle(p) && xwBusyCells(p) === 0;
    }"""


def open_notebook(page: Any, lab: LabServer, path: str, *, timeout: float = 60) -> None:
    """Open ``path`` (relative to the server root) in JupyterLab and wait for an idle kernel.

    The workspace is reset (``?reset``) so earlier layouts do not reopen.

    Parameters
    ----------
    page : playwright.sync_api.Page
    lab : LabServer
    path : str
        Notebook path relative to ``lab.root_dir``.
    timeout : float
        Seconds to wait for the panel and an idle, connected kernel.
    """
    quoted = urllib.parse.quote(path.replace(os.sep, "/"))
    page.goto(f"{lab.url}/lab/tree/{quoted}?reset&token={lab.token}", timeout=timeout * 1000)
    page.wait_for_selector(".jp-NotebookPanel", timeout=timeout * 1000)
    try:
        page.wait_for_function(
            "(path) => {" + _JS_NOTEBOOK + """
              const p = xwPanel();
              return p != null && p.context.isReady && p.context.path === path
                     && p.content.widgets.length > 0 && xwKernelIdle(p);
            }""",
            arg=path.replace(os.sep, "/"),
            timeout=timeout * 1000,
            polling=100,
        )
    except Exception as exc:
        raise AssertionError(f"notebook {path} not open with an idle kernel after {timeout} s: "
                             f"{_notebook_state(page)}; dialogs: {getattr(page, 'dialogs', None)}") from exc


def _notebook_state(page: Any) -> dict:
    """What :func:`open_notebook` waits for, part by part, and any open dialog (for its error)."""
    try:
        return page.evaluate("() => {" + _JS_NOTEBOOK + """
          const app = window.jupyterapp, p = xwPanel(), w = app?.shell.currentWidget;
          const k = p?.sessionContext.session?.kernel;
          return {url: location.href, app: app != null, current: w?.constructor?.name ?? null,
                  path: p?.context.path ?? null, ready: p?.context.isReady ?? null,
                  dirty: p?.context.model.dirty ?? null, cells: p?.content.widgets.length ?? null,
                  kernel: k == null ? null : {status: k.status, connection: k.connectionStatus},
                  dialogs: [...document.querySelectorAll(".jp-Dialog")].map((d) => d.innerText.slice(0, 200))};
        }""")
    except Exception as exc:  # the page itself is not answering
        return {"error": repr(exc)}


def run_all_cells(page: Any, *, timeout: float = 120, check_errors: bool = True) -> None:
    """Run every cell of the current notebook and wait until it is done.

    Runs ``notebook:run-all-cells`` through ``window.jupyterapp.commands``, then
    waits for the command to finish, the kernel to be idle and no cell to show
    ``[*]``.

    Parameters
    ----------
    page : playwright.sync_api.Page
    timeout : float
        Seconds to wait.
    check_errors : bool
        Raise :class:`NotebookError` if any cell has an error output or a
        stderr output containing ``Traceback``.

    Raises
    ------
    NotebookError
        With the error name, value and traceback (ANSI codes stripped).
    """
    page.evaluate(
        """() => {
          window.__xwRunAll = {done: false, result: null};
          window.jupyterapp.commands.execute("notebook:run-all-cells").then(
            (r) => { window.__xwRunAll = {done: true, result: r}; },
            (e) => { window.__xwRunAll = {done: true, result: String(e)}; });
        }"""
    )
    try:
        page.wait_for_function(
            _js_run_done(),
            timeout=timeout * 1000,
            polling=100,
        )
    except Exception as exc:
        errors = notebook_errors(page)
        raise TimeoutError(f"cells still running after {timeout} s"
                           + (f"; errors so far:\n{errors}" if errors else "")) from exc
    if check_errors:
        errors = notebook_errors(page)
        if errors:
            raise NotebookError(errors)


def notebook_errors(page: Any) -> str:
    """Return the error outputs of the current notebook as text (empty if none).

    Counts ``error`` outputs and stream/stderr outputs containing ``Traceback``.
    """
    found = page.evaluate(
        "() => {" + _JS_NOTEBOOK + r"""
          const p = xwPanel();
          if (p == null) return [];
          const out = [];
          p.content.widgets.forEach((cell, i) => {
            if (cell.model.type !== "code") return;
            for (const o of cell.model.outputs.toJSON()) {
              if (o.output_type === "error") {
                out.push(`cell ${i}: ${o.ename}: ${o.evalue}\n` + (o.traceback || []).join("\n"));
              } else if (o.output_type === "stream" && o.name === "stderr") {
                const text = Array.isArray(o.text) ? o.text.join("") : String(o.text);
                if (text.includes("Traceback")) out.push(`cell ${i} (stderr):\n${text}`);
              }
            }
            for (const el of cell.node.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')) {
              const t = el.innerText;
              if (t.includes("Traceback") && !out.some((s) => s.startsWith(`cell ${i}`))) {
                out.push(`cell ${i} (stderr):\n${t}`);
              }
            }
          });
          return out;
        }"""
    )
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n\n".join(found))


def wait_for_text(
    page: Any,
    selector: str,
    expected: str | Callable[[str], bool],
    *,
    timeout: float = 30,
) -> str:
    """Wait until the text of the last element matching ``selector`` satisfies ``expected``.

    Meant for ipywidgets ``HTML``/``Label`` outputs given a CSS class with
    ``widget.add_class("xw-readout")`` (selector ``".xw-readout"``).

    Parameters
    ----------
    page : playwright.sync_api.Page
    selector : str
        CSS selector; when several elements match, the last one (the newest
        output) is read.
    expected : str or callable
        Text to equal (after stripping whitespace), or a predicate on the text.
    timeout : float
        Seconds to wait.

    Returns
    -------
    str
        The matching text.

    Raises
    ------
    AssertionError
        On timeout, with the last text seen.
    """
    check = expected if callable(expected) else (lambda text: text == expected)
    deadline = time.monotonic() + timeout
    text = None
    while True:
        texts = page.locator(selector).all_inner_texts()
        if texts:
            text = texts[-1].strip()
            if check(text):
                return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector!r}: expected {expected!r}, last text {text!r} after {timeout} s")
        page.wait_for_timeout(50)


def run_cell(page: Any, index: int, *, timeout: float = 120, check_errors: bool = True) -> None:
    """Run code cell ``index`` (0-based, counting every cell) of the current notebook and wait
    until the kernel is idle and no cell is busy; raise :class:`NotebookError` on an error output."""
    page.evaluate(
        """(index) => {
          const panel = window.jupyterapp.shell.currentWidget;
          panel.content.activeCellIndex = index;
          window.__xwRunAll = {done: false, result: null};
          window.jupyterapp.commands.execute("notebook:run-cell").then(
            (r) => { window.__xwRunAll = {done: true, result: r}; },
            (e) => { window.__xwRunAll = {done: true, result: String(e)}; });
        }""",
        index,
    )
    page.wait_for_function(
        _js_run_done(),
        timeout=timeout * 1000,
        polling=100,
    )
    if check_errors:
        errors = notebook_errors(page)
        if errors:
            raise NotebookError(errors)


def save_notebook(page: Any, *, timeout: float = 30) -> None:
    """Save the current notebook (``docmanager:save``) and wait until it is no longer dirty."""
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => {" + _JS_NOTEBOOK
                           + "const p = xwPanel(); return p != null && !p.context.model.dirty; }",
                           timeout=timeout * 1000, polling=100)


def reload_notebook(page: Any, lab: LabServer, path: str, *, timeout: float = 60) -> None:
    """Reload the browser page on notebook ``path`` (the kernel keeps running) and wait for it."""
    page.reload(timeout=timeout * 1000)
    open_notebook(page, lab, path, timeout=timeout)


def scroll_through_notebook(page: Any, *, pause_ms: int = 300) -> None:
    """Scroll every cell of the current notebook into view, top to bottom, as a reader would.

    JupyterLab may render the outputs of cells outside the viewport only when they come into
    view (its notebook windowing), so views of a reloaded page exist only after this.
    """
    n = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length")
    for index in range(n):
        page.evaluate("""async (index) => {
          const notebook = window.jupyterapp.shell.currentWidget.content;
          await notebook.scrollToItem(index, "start");
          notebook.widgets[index].node.scrollIntoView({block: "start"});
        }""", index)
        page.wait_for_timeout(pause_ms)


def restart_kernel(page: Any, *, timeout: float = 60) -> None:
    """Restart the current notebook's kernel (no dialog) and wait until it is idle."""
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_function("() => {" + _JS_NOTEBOOK + "const p = xwPanel(); return p != null && xwKernelIdle(p); }",
                           timeout=timeout * 1000, polling=100)


def kernel_value(page: Any, expression: str, *, timeout: float = 60) -> Any:
    """Evaluate a Python ``expression`` in the current notebook's kernel and return its value.

    Sent as a silent execute request's ``user_expressions``: no cell runs, nothing is displayed,
    and IPython's ``post_run_cell`` hooks do not fire (so reading state does not change it). The
    value comes back as its ``repr`` and is decoded with :func:`ast.literal_eval`.
    """
    import ast

    reply = page.evaluate(
        """async ([expression, timeout]) => {
          const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
          const future = kernel.requestExecute({code: "", silent: true, store_history: false,
                                                user_expressions: {value: expression}});
          const reply = await Promise.race([future.done,
            new Promise((_, reject) => setTimeout(() => reject(new Error("no reply")), timeout * 1000))]);
          return reply.content.user_expressions.value;
        }""",
        [expression, timeout],
    )
    if reply.get("status") != "ok":
        raise NotebookError(f"{expression}: {reply.get('ename')}: {reply.get('evalue')}")
    return ast.literal_eval(reply["data"]["text/plain"])


def write_notebook(path: str | Path, cells: list[str]) -> Path:
    """Write code ``cells`` as a Python 3 notebook at ``path``; returns the path."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return Path(path)


#: A bare jupyter_bokeh round trip: each tap on the figure ``pad`` appends a point to the source
#: ``clicks`` in the kernel and updates an HTML readout (class ``xw-readout``).
BARE_BOKEH_CELLS = [
    """\
from bokeh.io import output_notebook
from bokeh.resources import INLINE

output_notebook(INLINE, hide_banner=True)""",
    """\
import bokeh.events
import ipywidgets
import jupyter_bokeh
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

source = ColumnDataSource(name="clicks", data={"x": [], "y": []})
p = figure(name="pad", width=400, height=300, x_range=(0, 10), y_range=(0, 10), tools="tap")
p.scatter("x", "y", source=source, size=10, marker="circle")
readout = ipywidgets.HTML("clicks: 0")
readout.add_class("xw-readout")


def on_tap(event):
    xs = list(source.data["x"]) + [event.x]
    ys = list(source.data["y"]) + [event.y]
    source.data = {"x": xs, "y": ys}
    readout.value = f"clicks: {len(xs)}"


p.on_event(bokeh.events.Tap, on_tap)
ipywidgets.VBox([readout, jupyter_bokeh.BokehModel(p)])""",
]


@contextlib.contextmanager
def reporting(page: Any, lab: LabServer, name: str) -> Iterator[None]:
    """Run a browser check: on failure keep a screenshot ``{name}_failure`` and print the
    JupyterLab log; on success assert that the page logged no error to its console and BokehJS
    no warning."""
    try:
        yield
    except Exception:
        screenshot(page, f"{name}_failure")
        print(f"JupyterLab log {lab.log_path}:\n{lab.log_tail()}")
        raise
    problems = {"page errors": page.page_errors, "console errors": page.console_errors,
                "Bokeh warnings": page.bokeh_warnings}  # all three in one message
    assert not any(problems.values()), "; ".join(f"{len(v)} {k}: {v[:20]}" for k, v in problems.items())
