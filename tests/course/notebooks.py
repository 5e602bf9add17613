"""Shared helpers for the course tests: the build script (scripts/tutorials/build.py) as a module,
and one measured, one-thread execution of a notebook that the two-way check test and the budget
test share (so the course runs once for both)."""

import importlib.util
import os
import threading
import time

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.helpers import REPO  # noqa: E402

TUTORIALS = REPO / "tutorials"
_spec = importlib.util.spec_from_file_location("course_build", REPO / "scripts" / "tutorials" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)
SOURCES = build.sources()

MAX_SECONDS, MAX_BYTES = 120, 1.5 * 2**30
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
#: notebook stem -> (wall seconds, peak kernel RSS in bytes) of its one-thread teacher run
MEASURED: dict[str, tuple[float, int]] = {}


class Measured:
    """A kernel for ``nb`` (one CPU thread: set ONE_THREAD in the environment first) whose peak
    memory is watched; ``run(cell)`` executes a cell, raising CellExecutionError on an error."""

    def __init__(self, nb: nbformat.NotebookNode):
        assert all(os.environ.get(k) == v for k, v in ONE_THREAD.items()), "set ONE_THREAD first (monkeypatch)"
        # the client's notebook collects the cells in the order they run (a cell may run twice)
        self.client = NotebookClient(nbformat.v4.new_notebook(metadata=nb.metadata), timeout=MAX_SECONDS * 2,
                                     kernel_name="python3", resources={"metadata": {"path": str(TUTORIALS)}})
        self.peak, self._done = 0, threading.Event()

    def _watch(self):
        while not self._done.is_set():
            manager = self.client.km
            pid = getattr(getattr(manager, "provisioner", None), "pid", None) if manager else None
            if pid:
                try:
                    process = psutil.Process(pid)
                    rss = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(True))
                    self.peak = max(self.peak, rss)
                except psutil.Error:
                    pass
            self._done.wait(0.2)

    def run(self, cell) -> None:
        self.client.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.client.nb.cells) - 1)

    def __enter__(self):
        self._context = self.client.setup_kernel()
        self._context.__enter__()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()
        self.start = time.perf_counter()
        self.run(nbformat.v4.new_code_cell(
            "import torch\nassert torch.get_num_threads() == 1, torch.get_num_threads()"))
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        self._done.set()
        self._watcher.join()
        return self._context.__exit__(*exc)


def run_measured(nb: nbformat.NotebookNode) -> tuple[float, int]:
    """Execute every cell of ``nb`` in a fresh one-thread kernel; (wall seconds, peak kernel RSS)."""
    with Measured(nb) as kernel:
        for cell in nb.cells:
            if cell.cell_type == "code":
                kernel.run(cell)
    return kernel.seconds, kernel.peak


__all__ = ["REPO", "SOURCES", "build", "CellExecutionError", "Measured", "run_measured", "MEASURED", "ONE_THREAD"]
