"""Drive notebooks and widgets in a real JupyterLab, in headless Chromium.

The helpers here start a throw-away JupyterLab server (:func:`running_lab`),
open a Playwright page in the system Chromium (:func:`chromium_page`), open and
run a notebook (:func:`open_notebook`, :func:`run_all_cells`), and then talk to
the rendered widgets: click a Bokeh plot at *data* coordinates
(:func:`click_bokeh`), read what the browser-side Bokeh document holds
(:func:`bokeh_source_data`), wait for an ipywidgets text (:func:`wait_for_text`)
and time a click -> kernel -> browser round trip (:func:`measure_round_trip_ms`).

Playwright never downloads a browser here: Chromium is found on ``PATH``
(Debian: ``apt-get install chromium``).  All timeouts are in **seconds**.

Typical use::

    with running_lab(notebook_dir) as lab, chromium_page() as page:
        open_notebook(page, lab, "demo.ipynb")
        run_all_cells(page)
        wait_for_bokeh_plot(page, "pad")
        click_bokeh(page, "pad", 3, 7)
        wait_for_text(page, ".xw-readout", "clicks: 1")
        assert not page.page_errors
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BOKEH_TAP_INTERVAL",
    "CHROMIUM_ARGS",
    "LabServer",
    "NotebookError",
    "artifacts_dir",
    "bokeh_data_to_page",
    "assert_browser_matches_kernel",
    "bokeh_source_data",
    "browser_sources",
    "kernel_sources",
    "kernel_value",
    "python_sources",
    "reload_notebook",
    "restart_kernel",
    "run_cell",
    "save_notebook",
    "scroll_through_notebook",
    "browser_unavailable_reason",
    "chromium_page",
    "click_bokeh",
    "find_chromium",
    "measure_round_trip_ms",
    "notebook_errors",
    "open_notebook",
    "run_all_cells",
    "running_lab",
    "screenshot",
    "wait_for_bokeh_plot",
    "wait_for_text",
]

#: Command-line flags for Chromium: no sandbox (we may be root in a container),
#: no GPU, and no background network traffic or component updates.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

#: BokehJS turns a second tap within this many seconds into a ``DoubleTap``
#: (``UIGestures.doubletap_threshold`` is 300 ms), so :func:`click_bokeh`
#: spaces clicks on a plot at least this far apart.
BOKEH_TAP_INTERVAL = 0.35

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


# --------------------------------------------------------------------------- #
# Environment checks
# --------------------------------------------------------------------------- #
def find_chromium() -> str | None:
    """Locate a Chromium (or Chrome) executable.

    Returns
    -------
    str or None
        The path given by the ``XW_CHROMIUM`` environment variable if set,
        else the first of ``chromium``, ``chromium-browser``, ``google-chrome``
        ... found on ``PATH``; ``None`` if there is none.
    """
    env = os.environ.get("XW_CHROMIUM")
    if env:
        return env if os.path.exists(env) else shutil.which(env)
    for name in _CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def browser_unavailable_reason() -> str | None:
    """Say why browser tests cannot run here, if they cannot.

    Returns
    -------
    str or None
        ``None`` when the Playwright Python package imports and a Chromium is
        found; otherwise a message naming what is missing and how to install it.
    """
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Playwright Python package (`pip install playwright`; no `playwright install` needed)")
    if find_chromium() is None:
        missing.append(
            "a Chromium browser on PATH (`apt-get install chromium`, or set XW_CHROMIUM to its path)"
        )
    if not missing:
        return None
    return "browser tests need " + " and ".join(missing)


def artifacts_dir() -> Path:
    """Directory for screenshots and logs, created if needed.

    Returns
    -------
    pathlib.Path
        ``$XW_BROWSER_ARTIFACTS`` if set, else ``<repo>/test-artifacts/browser``
        (``./test-artifacts/browser`` when the package is not in a checkout).
    """
    env = os.environ.get("XW_BROWSER_ARTIFACTS")
    if env:
        path = Path(env)
    else:
        repo = Path(__file__).resolve().parents[2]
        root = repo if (repo / "pyproject.toml").exists() else Path.cwd()
        path = root / "test-artifacts" / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- #
# JupyterLab server
# --------------------------------------------------------------------------- #
@dataclass
class LabServer:
    """A running JupyterLab server, as yielded by :func:`running_lab`.

    Attributes
    ----------
    url : str
        Root URL including the base URL, without trailing slash
        (``http://127.0.0.1:PORT``).
    token : str
        Authentication token.
    base_url : str
        Server base URL (``"/"``).
    log_path : pathlib.Path
        File receiving the server's stdout and stderr.
    root_dir : pathlib.Path
        The notebook directory served.
    port : int
        TCP port on 127.0.0.1.
    process : subprocess.Popen
        The server process.
    startup_s : float
        Seconds from launch until ``/api/status`` answered.
    """

    url: str
    token: str
    base_url: str
    log_path: Path
    root_dir: Path
    port: int
    process: subprocess.Popen
    startup_s: float = float("nan")

    def api(self, method: str, path: str, timeout: float = 10.0) -> Any:
        """Call the server's REST API (``path`` like ``"api/kernels"``); return decoded JSON or ``None``."""
        req = urllib.request.Request(
            f"{self.url}/{path.lstrip('/')}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"" if method in ("POST", "PUT", "PATCH") else None,
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 60) -> str:
        """Return the last ``n`` lines of the server log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    out = []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ..."; comm may contain spaces/parens.
            fields = stat.rsplit(")", 1)[-1].split()
            if len(fields) > 1 and fields[1] == str(pid):
                out.append(int(entry))
    return out


# Settings written into the isolated user-settings dir: no news, no update
# checks, no toasts, and no notebook windowing (every cell stays in the DOM).
_LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


@contextlib.contextmanager
def running_lab(
    notebook_dir: str | os.PathLike,
    *,
    token: str | None = None,
    timeout: float = 120,
    log_path: str | os.PathLike | None = None,
) -> Iterator[LabServer]:
    """Run a throw-away JupyterLab server serving ``notebook_dir``.

    The server listens on a free port of 127.0.0.1, runs ``python -m jupyterlab``
    with this interpreter, exposes ``window.jupyterapp``, and uses fresh
    settings, workspaces, runtime and IPython directories in a temporary
    directory, with news, update checks and notifications turned off, so no
    user state leaks in or out.

    Parameters
    ----------
    notebook_dir : path-like
        Root directory of the server.
    token : str, optional
        Token to use; random by default.
    timeout : float
        Seconds to wait for ``/api/status`` to answer.
    log_path : path-like, optional
        Server log file; default ``artifacts_dir() / "jupyterlab.log"``
        (overwritten on each start).

    Yields
    ------
    LabServer
        On exit its kernels are shut down and the server is terminated
        (killed after 15 s), as are any kernel processes left behind.
    """
    root_dir = Path(notebook_dir).resolve()
    token = token or secrets.token_hex(16)
    port = _free_port()
    log_path = Path(log_path) if log_path is not None else artifacts_dir() / "jupyterlab.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="xw-lab-"))
    settings_dir = tmp / "user-settings"
    for rel, value in _LAB_SETTINGS.items():
        f = settings_dir / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    env = dict(os.environ)
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        IPYTHONDIR=str(tmp / "ipython"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    env.pop("JUPYTER_TOKEN", None)
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")

    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=root_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal must not reach it first
        )
    lab = LabServer(url, token, "/", log_path, root_dir, port, proc)
    try:
        deadline = t0 + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {proc.returncode} during start-up; "
                    f"log {log_path}:\n{lab.log_tail()}"
                )
            try:
                lab.api("GET", "api/status", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"JupyterLab did not answer within {timeout} s; log {log_path}:\n{lab.log_tail()}")
            time.sleep(0.2)
        lab.startup_s = time.monotonic() - t0
        yield lab
    finally:
        _stop_lab(lab)
        shutil.rmtree(tmp, ignore_errors=True)


def _stop_lab(lab: LabServer) -> None:
    proc = lab.process
    if proc.poll() is None:
        with contextlib.suppress(Exception):
            for kernel in lab.api("GET", "api/kernels", timeout=5) or []:
                with contextlib.suppress(Exception):
                    lab.api("DELETE", f"api/kernels/{kernel['id']}", timeout=10)
    children = _child_pids(proc.pid) if proc.poll() is None else []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # jupyter_server shuts its kernels down on SIGTERM
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    for pid in children:  # kernels outliving the server (they also poll their parent)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- #
# Browser
# --------------------------------------------------------------------------- #
@contextlib.contextmanager
def chromium_page(*, viewport: tuple[int, int] = (1400, 1000), timeout: float = 30) -> Iterator[Any]:
    """Open a headless Chromium page through Playwright (sync API).

    Parameters
    ----------
    viewport : (int, int)
        Width and height in CSS pixels.
    timeout : float
        Default timeout for Playwright actions, in seconds.

    Yields
    ------
    playwright.sync_api.Page
        With three extra list attributes, filled as the page runs:
        ``page.console_errors`` (text of every ``console.error`` message, with
        its source location), ``page.page_errors`` (uncaught exceptions and
        unhandled rejections, as ``"Name: message"``) and ``page.bokeh_warnings``
        (BokehJS's ``console.warn`` lines, ``[bokeh 3.x] ...``, such as "data
        source has columns of inconsistent lengths").
    """
    reason = browser_unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            context.set_default_timeout(timeout * 1000)
            page = context.new_page()
            page.console_errors = []
            page.page_errors = []
            page.bokeh_warnings = []

            def on_console(msg: Any) -> None:
                if msg.type == "warning" and "[bokeh" in msg.text:
                    page.bokeh_warnings.append(msg.text)
                if msg.type == "error":
                    loc = msg.location or {}
                    where = f" ({loc.get('url', '')}:{loc.get('lineNumber', '')})" if loc.get("url") else ""
                    page.console_errors.append(msg.text + where)

            def on_pageerror(err: Any) -> None:
                page.page_errors.append(f"{getattr(err, 'name', 'Error')}: {getattr(err, 'message', err)}")

            def on_dialog(dialog: Any) -> None:
                # a reload or navigation is what the test asked for: leave (beforeunload), and
                # record every dialog so that a test can see one it did not expect
                page.dialogs.append(f"{dialog.type}: {dialog.message}")
                dialog.accept() if dialog.type == "beforeunload" else dialog.dismiss()

            page.dialogs = []
            page.on("console", on_console)
            page.on("pageerror", on_pageerror)
            page.on("dialog", on_dialog)
            yield page
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a PNG of the viewport under :func:`artifacts_dir`.

    Parameters
    ----------
    page : playwright.sync_api.Page
    name : str
        File stem; characters other than letters, digits, ``-_.`` become ``_``.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).removesuffix(".png")
    path = artifacts_dir() / f"{stem}.png"
    page.screenshot(path=str(path))
    return path


# --------------------------------------------------------------------------- #
# Notebooks
# --------------------------------------------------------------------------- #
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


# --------------------------------------------------------------------------- #
# Bokeh
# --------------------------------------------------------------------------- #
# `window.Bokeh.index` (BokehJS 3.x) is a ViewManager wrapped in a Proxy: it is
# iterable over the root views, `index.roots` lists them, `index.all_views()`
# walks every view (roots and descendants), and `index[id]` gives the root view
# of model `id`.  jupyter_bokeh's BokehView renders through
# `embed.add_document_standalone`, which registers its root views there too.
# Older layouts (a plain {id: view} dict, views exposing `child_views`) are
# walked by hand.
_JS_BOKEH = r"""
const xwAllViews = () => {
  const B = window.Bokeh;
  if (B == null || B.index == null) return [];
  const idx = B.index;
  const seen = new Set();
  const walk = (v) => {
    if (v == null || seen.has(v)) return;
    seen.add(v);
    let kids = [];
    try {
      if (typeof v.children === "function") kids = [...v.children()];
      else if (v.child_views != null) {
        kids = Array.isArray(v.child_views) ? v.child_views : Object.values(v.child_views);
      }
    } catch (e) {}
    for (const k of kids) walk(k);
  };
  let roots;
  if (typeof idx.all_views === "function") {
    for (const v of idx.all_views()) walk(v);
    return [...seen];
  }
  if (Array.isArray(idx.roots)) roots = idx.roots;
  else if (typeof idx[Symbol.iterator] === "function") roots = [...idx];
  else roots = Object.values(idx);
  for (const v of roots) walk(v);
  return [...seen];
};
const xwVisible = (el) => {
  if (el == null || !el.isConnected) return false;
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0;
};
const xwCanvasEl = (view) => (view.canvas_view ?? view.canvas)?.el ?? view.el;
const xwPlotViews = (name) => xwAllViews().filter((v) =>
  v.model != null && v.model.name === name && v.frame != null && v.frame.x_scale != null);
const xwPlotView = (name) => {
  const views = xwPlotViews(name).filter((v) => xwVisible(xwCanvasEl(v)));
  return views.length > 0 ? views[views.length - 1] : null;
};
const xwRootView = (view) => { let v = view; while (v.parent != null) v = v.parent; return v; };
const xwDocuments = () => {
  const docs = [];
  const add = (d) => { if (d != null && !docs.includes(d)) docs.push(d); };
  for (const v of xwAllViews()) if (xwVisible(v.el)) add(v.model?.document);
  for (const d of (window.Bokeh?.documents ?? [])) add(d);
  return docs;
};
const xwFindModel = (name) => {
  const docs = xwDocuments();
  for (let i = docs.length - 1; i >= 0; i--) {
    const doc = docs[i];
    let found = null;
    try { found = doc.get_model_by_name(name); } catch (e) {
      const all = doc._all_models ?? doc.all_models;
      for (const m of (all?.values?.() ?? all ?? [])) if (m.name === name) found = m;
    }
    if (found != null) return found;
  }
  return null;
};
const xwColumn = (source, column) => {
  const data = source.data;
  const col = data instanceof Map ? data.get(column) : data?.[column];
  if (col == null) return null;
  return Array.from(col, (v) => (typeof v === "number" || typeof v === "string" || v == null) ? v : String(v));
};
const xwToPage = (name, x, y) => {
  const view = xwPlotView(name);
  if (view == null) {
    const n = xwPlotViews(name).length;
    throw new Error(`no rendered Bokeh plot named ${JSON.stringify(name)} (${n} hidden views; `
                    + `${xwAllViews().length} views in Bokeh.index)`);
  }
  const sx = view.frame.x_scale.compute(x);
  const sy = view.frame.y_scale.compute(y);
  const bbox = view.frame.bbox;
  const inside = bbox == null || (sx >= bbox.left && sx <= bbox.right && sy >= bbox.top && sy <= bbox.bottom);
  if (!inside) throw new Error(`data point (${x}, ${y}) is outside the frame of plot ${JSON.stringify(name)}`);
  const el = xwCanvasEl(view);
  let r = el.getBoundingClientRect();
  let px = r.left + sx, py = r.top + sy;
  if (px < 0 || py < 0 || px >= window.innerWidth || py >= window.innerHeight) {
    el.scrollIntoView({block: "center", inline: "center"});
    r = el.getBoundingClientRect();
    px = r.left + sx; py = r.top + sy;
  }
  const hit = document.elementFromPoint(px, py);
  const root = xwRootView(view).el;
  const onPlot = hit != null && (hit === root || root.contains(hit));
  return {px, py, onPlot, hit: hit == null ? null : `${hit.tagName}.${hit.className}`};
};
"""


def wait_for_bokeh_plot(page: Any, figure_name: str, *, timeout: float = 30) -> None:
    """Wait until a Bokeh plot whose model ``name`` is ``figure_name`` is rendered with a non-empty canvas.

    Parameters
    ----------
    page : playwright.sync_api.Page
    figure_name : str
        ``figure(name=...)`` given in Python.
    timeout : float
        Seconds to wait.
    """
    page.wait_for_function(
        "(name) => {" + _JS_BOKEH + """
          const v = xwPlotView(name);
          return v != null && v.frame.bbox != null && v.frame.bbox.width > 0
                 && (v.is_idle === undefined || v.is_idle);
        }""",
        arg=figure_name,
        timeout=timeout * 1000,
        polling=100,
    )


def bokeh_data_to_page(page: Any, figure_name: str, x: float, y: float) -> tuple[float, float]:
    """Convert data coordinates of a rendered Bokeh plot to page (viewport) pixels.

    Uses the plot view's frame scales (``view.frame.x_scale.compute``) and the
    canvas' bounding rectangle; scrolls the plot into view if the point is
    outside the viewport.

    Parameters
    ----------
    page : playwright.sync_api.Page
    figure_name : str
        ``name`` of the figure model; the last visible view of it is used.
    x, y : float
        Data coordinates; must lie inside the plot frame.

    Returns
    -------
    (float, float)
        CSS pixel coordinates, for ``page.mouse``.

    Raises
    ------
    RuntimeError
        If the plot is not found, the point lies outside its frame, or the
        point is covered by another element.
    """
    try:
        res = page.evaluate("([name, x, y]) => {" + _JS_BOKEH + "return xwToPage(name, x, y); }", [figure_name, x, y])
    except Exception as exc:  # playwright.Error; keep the JS message
        raise RuntimeError(re.sub(r"^.*?Error: ", "", str(exc).splitlines()[0])) from exc
    if not res["onPlot"]:
        raise RuntimeError(f"point ({x}, {y}) of plot {figure_name!r} is covered by {res['hit']}")
    return res["px"], res["py"]


def click_bokeh(page: Any, figure_name: str, x: float, y: float, *, min_interval: float = BOKEH_TAP_INTERVAL) -> None:
    """Click a Bokeh plot at data coordinates ``(x, y)``.

    Clicks on the same page are spaced at least ``min_interval`` seconds apart,
    since BokehJS reports a second click within 300 ms as a ``DoubleTap``
    instead of a ``Tap``.

    Parameters
    ----------
    page : playwright.sync_api.Page
    figure_name : str
        ``name`` of the figure model.
    x, y : float
        Data coordinates.
    min_interval : float
        Minimum seconds since the previous :func:`click_bokeh` on this page.
    """
    px, py = bokeh_data_to_page(page, figure_name, x, y)
    last = getattr(page, "_xw_last_click", None)
    if last is not None:
        wait = min_interval - (time.monotonic() - last)
        if wait > 0:
            time.sleep(wait)
    page.mouse.click(px, py)
    page._xw_last_click = time.monotonic()


def bokeh_source_data(page: Any, source_name: str, column: str) -> list:
    """Read a column of a named ``ColumnDataSource`` from the browser-side Bokeh document.

    Parameters
    ----------
    page : playwright.sync_api.Page
    source_name : str
        ``ColumnDataSource(name=...)`` given in Python.
    column : str
        Column name.

    Returns
    -------
    list
        The column's values (typed arrays become lists).

    Raises
    ------
    KeyError
        If no document holds such a source, or it lacks the column.
    """
    res = page.evaluate(
        "([name, column]) => {" + _JS_BOKEH + """
          const src = xwFindModel(name);
          if (src == null) return {error: `no Bokeh model named ${JSON.stringify(name)}`};
          const col = xwColumn(src, column);
          if (col == null) return {error: `${JSON.stringify(name)} has no column ${JSON.stringify(column)}`};
          return {values: col};
        }""",
        [source_name, column],
    )
    if "error" in res:
        raise KeyError(res["error"])
    return res["values"]


def measure_round_trip_ms(
    page: Any,
    figure_name: str,
    source_name: str,
    x: float,
    y: float,
    *,
    repeats: int = 10,
    jitter: float = 0.0,
    timeout: float = 30,
    samples: list[float] | None = None,
) -> float:
    """Median time from a click on a Bokeh plot to the redrawn browser-side source.

    For each repeat, the page records ``performance.now()`` in a capturing
    ``pointerdown`` listener, Playwright clicks the plot at ``(x, y)`` (plus
    ``jitter`` data units on alternating sides, if given), and the timer stops
    in the first animation frame after the named source changes (its
    ``change``, ``streaming`` or ``patching`` signal).  BokehJS schedules its
    repaint when the source changes, before that frame callback, so the time
    includes the kernel round trip, the patch and the canvas render.

    Parameters
    ----------
    page : playwright.sync_api.Page
    figure_name : str
        ``name`` of the figure to click.
    source_name : str
        ``name`` of the ``ColumnDataSource`` the kernel updates on each click.
    x, y : float
        Data coordinates to click.
    repeats : int
        Number of clicks.
    jitter : float
        Offset in data units, alternately added and subtracted, so that repeat
        clicks do not land on the same point.
    timeout : float
        Seconds to wait for each update.
    samples : list, optional
        If given, every round trip (ms) is appended to it.

    Returns
    -------
    float
        Median round trip, in milliseconds.
    """
    samples = [] if samples is None else samples
    start = len(samples)
    for i in range(repeats):
        dx = jitter * (1 if i % 2 == 0 else -1) * ((i // 2) % 3 + 1) / 3 if jitter else 0.0
        px, py = bokeh_data_to_page(page, figure_name, x + dx, y)
        armed = page.evaluate(
            "([name, timeout]) => {" + _JS_BOKEH + """
              const src = xwFindModel(name);
              if (src == null) return `no Bokeh model named ${JSON.stringify(name)}`;
              const state = {t0: null};
              window.addEventListener("pointerdown", (ev) => { state.t0 = performance.now(); },
                                      {capture: true, once: true});
              window.__xwRoundTrip = new Promise((resolve, reject) => {
                const signals = [src.change, src.streaming, src.patching].filter((s) => s != null);
                const timer = setTimeout(() => { done(); reject(new Error("no source change")); }, timeout * 1000);
                const done = () => { clearTimeout(timer); for (const s of signals) s.disconnect(slot, state); };
                const slot = () => {
                  if (state.t0 == null) return;  // not ours: before the click
                  done();
                  requestAnimationFrame(() => resolve(performance.now() - state.t0));
                };
                for (const s of signals) s.connect(slot, state);
              });
              window.__xwRoundTrip.catch(() => {});
              return null;
            }""",
            [source_name, timeout],
        )
        if armed is not None:
            raise KeyError(armed)
        last = getattr(page, "_xw_last_click", None)
        if last is not None and time.monotonic() - last < BOKEH_TAP_INTERVAL:
            time.sleep(BOKEH_TAP_INTERVAL - (time.monotonic() - last))
        page.mouse.click(px, py)
        page._xw_last_click = time.monotonic()
        samples.append(page.evaluate("() => window.__xwRoundTrip"))
    return statistics.median(samples[start:])


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


# --------------------------------------------------------------------------- #
# Browser state against Python state
# --------------------------------------------------------------------------- #
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


def _plain(value: Any) -> Any:
    """A data-source column value as JSON-able lists, strings and floats."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return value if value is None or isinstance(value, str) else str(value)


def python_sources(widget: Any) -> str:
    """Every ``ColumnDataSource`` of every Bokeh widget inside ``widget``, as JSON (run in the kernel).

    Walks ipywidgets ``children`` for ``jupyter_bokeh.BokehModel`` widgets and returns
    ``{source id: {"name": name, "data": {column: values}}}``, with numbers as floats.
    """
    from bokeh.models import ColumnDataSource
    from jupyter_bokeh import BokehModel

    found, stack = {}, [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, BokehModel):
            for model in w._document.models:
                if isinstance(model, ColumnDataSource):
                    found[model.id] = {"name": model.name, "data": {k: _plain(v) for k, v in model.data.items()}}
        stack.extend(getattr(w, "children", ()))
    return json.dumps(found)


def kernel_sources(page: Any, widget_expression: str) -> dict:
    """:func:`python_sources` of the kernel's ``widget_expression`` (e.g. ``"flipper"``)."""
    text = kernel_value(page, "__import__('xai_widgets.testing.lab', fromlist=['lab'])"
                              f".python_sources({widget_expression})")
    return json.loads(text)


def browser_sources(page: Any) -> list[dict]:
    """The data sources of every Bokeh document rendered in the page, one dict per document.

    A document counts when one of its root views is registered in ``Bokeh.index`` and attached
    to the page; each is ``{source id: {"name": name, "data": {column: values}}}`` (typed arrays
    as lists).
    """
    return page.evaluate(
        "() => {" + _JS_BOKEH + """
          const plain = (v) => (v != null && typeof v === "object" && typeof v.length === "number"
                                && typeof v !== "string") ? Array.from(v, plain) : v;
          const docs = [];
          for (const view of xwAllViews()) {
            if (view.parent != null || view.el == null || !view.el.isConnected) continue;
            const doc = view.model?.document;
            if (doc != null && !docs.includes(doc)) docs.push(doc);
          }
          return docs.map((doc) => {
            const out = {};
            for (const m of (doc._all_models?.values?.() ?? doc.all_models ?? [])) {
              if (m.type !== "ColumnDataSource" && m.constructor?.__name__ !== "ColumnDataSource") continue;
              const data = {};
              const entries = m.data instanceof Map ? [...m.data.entries()] : Object.entries(m.data);
              for (const [k, v] of entries) data[k] = plain(v);
              out[m.id] = {name: m.name, data};
            }
            return out;
          });
        }"""
    )


def _same(a: Any, b: Any, rtol: float, atol: float) -> bool:
    import math

    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= atol + rtol * abs(b)
    if a is None and isinstance(b, float) and math.isnan(b):  # NaN serialised as null
        return True
    return a == b


def assert_browser_matches_kernel(page: Any, widget_expression: str, *, views: int = 1, rtol: float = 1e-6,
                                  atol: float = 1e-9, timeout: float = 20) -> dict:
    """Assert that every browser view of a widget holds exactly Python's data sources.

    Reads the kernel's sources of ``widget_expression`` (:func:`kernel_sources`), then waits up
    to ``timeout`` seconds until exactly ``views`` rendered documents hold those sources and
    each holds every column of every source with Python's values (numbers within
    ``atol + rtol * |python|``, NaN equal to NaN).

    Returns
    -------
    dict
        The kernel's sources, for further checks.

    Raises
    ------
    AssertionError
        Naming the first differing source and column, with the lengths on both sides.
    """
    expected = kernel_sources(page, widget_expression)
    if not expected:
        raise AssertionError(f"{widget_expression} has no Bokeh data sources in the kernel")
    deadline = time.monotonic() + timeout
    while True:
        problems = []
        docs = [d for d in browser_sources(page) if any(sid in d for sid in expected)]
        if len(docs) != views:
            problems.append(f"{len(docs)} rendered views of {widget_expression}, expected {views}")
        for i, doc in enumerate(docs):
            for sid, source in expected.items():
                shown = doc.get(sid)
                if shown is None:
                    problems.append(f"view {i}: no source {source['name'] or sid}")
                    continue
                if set(shown["data"]) != set(source["data"]):
                    problems.append(f"view {i}: {source['name'] or sid} has columns {sorted(shown['data'])}, "
                                    f"Python {sorted(source['data'])}")
                    continue
                for column, values in source["data"].items():
                    if not _same(shown["data"][column], values, rtol, atol):
                        n = len(shown["data"][column]) if isinstance(shown["data"][column], list) else "?"
                        problems.append(f"view {i}: {source['name'] or sid}.{column} differs "
                                        f"(browser {n} values, Python {len(values)})")
        if not problems:
            return expected
        if time.monotonic() > deadline:
            raise AssertionError(f"{widget_expression}: the browser does not show what Python holds:\n  "
                                 + "\n  ".join(problems[:20]))
        page.wait_for_timeout(200)
