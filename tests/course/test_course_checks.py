"""Checks that check: every check cell (tag ``check``) of every notebook fails while the student's
answer is ``...`` and passes with the teacher's answer.

One kernel per notebook, at one CPU thread, runs the notebook once: every cell in order, and at
each exercise first the student's answer cells (``...``) and the check, which must end in an
``AssertionError`` (any other error would be a broken check), then the teacher's answer cells and
the check again, which must pass and say "correct". The run is also the notebook's budget
measurement (tests/course/test_tutorial_budget.py reads it), so the course is executed once for both.
Notebooks are found by glob, so new ones are covered.
"""

import pytest

from tests.course.notebooks import (
    MEASURED,
    ONE_THREAD,
    SOURCES,
    CellExecutionError,
    Measured,
    build,
)

WITH_CHECKS = [p for p in SOURCES if any("check" in c.metadata.get("tags", []) for c in build.read_source(p).cells)]


def test_most_notebooks_have_exercises():
    assert len(WITH_CHECKS) >= 8, [p.name for p in WITH_CHECKS]


def _stream(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


@pytest.mark.parametrize("source", WITH_CHECKS, ids=[p.stem for p in WITH_CHECKS])
def test_checks_fail_unanswered_and_pass_answered(source, monkeypatch):
    for name, value in ONE_THREAD.items():
        monkeypatch.setenv(name, value)  # the kernel inherits it, as on Binder
    student, teacher = build.edition(source, student=True), build.edition(source, student=False)
    assert len(student.cells) == len(teacher.cells)
    pending, n_checks = [], 0
    with Measured(teacher) as kernel:
        for k, (mine, key) in enumerate(zip(student.cells, teacher.cells)):
            if key.cell_type != "code":
                continue
            if mine.source != key.source:  # an answer cell: the student's version first
                kernel.run(mine)
                pending.append(k)
                continue
            if "check" in key.metadata.get("tags", []):
                n_checks += 1
                with pytest.raises(CellExecutionError) as unanswered:
                    kernel.run(mine)
                assert unanswered.value.ename == "AssertionError", (
                    f"{source.name} cell {k}: unanswered, the check must raise AssertionError; got "
                    f"{unanswered.value.ename}: {unanswered.value.evalue}")
            for j in pending:  # the teacher's answers, then this cell
                kernel.run(teacher.cells[j])
            pending = []
            kernel.run(key)
            if "check" in key.metadata.get("tags", []):
                assert _stream(key).lower().startswith("correct"), (
                    f"{source.name} cell {k}: a passed check says so: {_stream(key)!r}")
    assert n_checks and not pending
    MEASURED[source.stem] = (kernel.seconds, kernel.peak)
