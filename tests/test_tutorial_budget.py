"""Each tutorial runs within the classroom budget: under 90 s and under 1.5 GB of kernel memory
(Binder gives 2 GB), all together under 8 minutes, on this machine's CPU."""

import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbclient import NotebookClient

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
MAX_SECONDS, MAX_BYTES, MAX_TOTAL_SECONDS = 90, 1.5 * 2**30, 8 * 60
_spent: dict[str, float] = {}


def run_measured(path: Path) -> tuple[float, int]:
    """Execute a notebook in a fresh kernel; return (wall seconds, peak kernel RSS in bytes)."""
    nb = nbformat.read(path, as_version=4)
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
def test_tutorial_fits_the_budget(path):
    seconds, peak = run_measured(path)
    _spent[path.stem] = seconds
    assert peak > 0, "the kernel's memory could not be measured"
    assert seconds < MAX_SECONDS, f"{path.name} took {seconds:.0f} s (budget {MAX_SECONDS} s)"
    assert peak < MAX_BYTES, f"{path.name} peaked at {peak / 2**30:.2f} GB (budget 1.5 GB)"


def test_the_whole_course_fits_in_eight_minutes():
    if len(_spent) != len(NOTEBOOKS):
        pytest.skip("run together with test_tutorial_fits_the_budget")
    assert sum(_spent.values()) < MAX_TOTAL_SECONDS, _spent
