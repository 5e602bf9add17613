"""A throw-away JupyterLab server on 127.0.0.1 with a token and isolated settings."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .page import artifacts_dir


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
