"""Each tutorial (teacher edition) runs within the classroom budget on ONE CPU thread, as on Binder:
at most 120 s and 1.5 GB of kernel memory (Binder gives 2 GB) per notebook, and at most 10 minutes
of compute for the 2-hour path of tutorials/README.md."""

import nbformat
import pytest

from tests.course.notebooks import (
    MAX_BYTES,
    MAX_SECONDS,
    MEASURED,
    ONE_THREAD,
    TUTORIALS,
    run_measured,
)

NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
MAX_PATH_SECONDS = 10 * 60
TWO_HOUR_PATH = ("00", "01", "04", "05", "08")  # tutorials/README.md, "Paths"


def _measure(path, monkeypatch) -> tuple[float, int]:
    """The notebook's one-thread run: measured by tests/course/test_course_checks.py when it ran first
    (its run executes every cell of the teacher edition), else here."""
    if path.stem not in MEASURED:
        for name, value in ONE_THREAD.items():
            monkeypatch.setenv(name, value)  # the kernel inherits it: torch and numba start with one thread
        MEASURED[path.stem] = run_measured(nbformat.read(path, as_version=4))
    return MEASURED[path.stem]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_tutorial_fits_the_budget(path, monkeypatch):
    seconds, peak = _measure(path, monkeypatch)
    assert peak > 0, "the kernel's memory could not be measured"
    assert seconds <= MAX_SECONDS, f"{path.name} took {seconds:.0f} s at one thread (budget {MAX_SECONDS} s)"
    assert peak < MAX_BYTES, f"{path.name} peaked at {peak / 2**30:.2f} GB (budget 1.5 GB)"


def test_the_two_hour_path_fits_in_ten_minutes(monkeypatch):
    """Reuses the per-notebook timings; run alone it measures the path's notebooks itself."""
    readme = (TUTORIALS / "README.md").read_text()
    assert "2-hour path" in readme and all(f"{n} " in readme for n in TWO_HOUR_PATH)
    path = [p for p in NOTEBOOKS if p.stem[:2] in TWO_HOUR_PATH]
    assert len(path) == len(TWO_HOUR_PATH)
    spent = {p.stem: _measure(p, monkeypatch)[0] for p in path}
    total = sum(spent.values())
    assert total <= MAX_PATH_SECONDS, f"the 2-hour path took {total:.0f} s of compute: {spent}"
