"""Each tutorial (teacher edition) runs within the classroom budget on ONE CPU thread, as on Binder:
at most 120 s and 1.5 GB of kernel memory (Binder gives 2 GB) per notebook, and at most 10 minutes
of compute for the 2-hour path of tutorials/README.md."""

import os
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbclient import NotebookClient

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
MAX_SECONDS, MAX_BYTES, MAX_PATH_SECONDS = 120, 1.5 * 2**30, 10 * 60
TWO_HOUR_PATH = ("00", "01", "04", "05", "08")  # tutorials/README.md, "Paths"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
_spent: dict[str, float] = {}


def run_measured(path: Path) -> tuple[float, int]:
    """Execute a notebook in a fresh kernel; return (wall seconds, peak kernel RSS in bytes)."""
    nb = nbformat.read(path, as_version=4)
    assert all(os.environ.get(k) == v for k, v in ONE_THREAD.items()), "set ONE_THREAD first (monkeypatch)"
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        "import torch\nassert torch.get_num_threads() == 1, torch.get_num_threads()"))
    client = NotebookClient(nb, timeout=MAX_SECONDS * 2, kernel_name="python3",
                            resources={"metadata": {"path": str(TUTORIALS)}})
    peak, done = [0], threading.Event()

    def watch():
        while not done.is_set():
            manager = client.km
            pid = getattr(getattr(manager, "provisioner", None), "pid", None) if manager else None
            if pid:
                try:
                    process = psutil.Process(pid)
                    rss = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(True))
                    peak[0] = max(peak[0], rss)
                except psutil.Error:
                    pass
            done.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        done.set()
        watcher.join()
    return time.perf_counter() - start, peak[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_tutorial_fits_the_budget(path, monkeypatch):
    for name, value in ONE_THREAD.items():
        monkeypatch.setenv(name, value)
    seconds, peak = run_measured(path)
    _spent[path.stem] = seconds
    assert peak > 0, "the kernel's memory could not be measured"
    assert seconds <= MAX_SECONDS, f"{path.name} took {seconds:.0f} s at one thread (budget {MAX_SECONDS} s)"
    assert peak < MAX_BYTES, f"{path.name} peaked at {peak / 2**30:.2f} GB (budget 1.5 GB)"


def test_the_two_hour_path_fits_in_ten_minutes(monkeypatch):
    """Runs after the per-notebook test (same module, in order) and reuses its timings; run alone it
    measures the path's notebooks itself."""
    readme = (TUTORIALS / "README.md").read_text()
    assert "2-hour path" in readme and all(f"{n} " in readme for n in TWO_HOUR_PATH)
    path = [p for p in NOTEBOOKS if p.stem[:2] in TWO_HOUR_PATH]
    assert len(path) == len(TWO_HOUR_PATH)
    for name, value in ONE_THREAD.items():
        monkeypatch.setenv(name, value)  # the kernel inherits it: torch and numba start with one thread
    for notebook in path:
        if notebook.stem not in _spent:
            _spent[notebook.stem] = run_measured(notebook)[0]
    total = sum(_spent[p.stem] for p in path)
    assert total <= MAX_PATH_SECONDS, f"the 2-hour path took {total:.0f} s of compute: {_spent}"
