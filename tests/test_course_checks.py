"""Checks that check: every check cell (tag ``check``) of every notebook fails while the student's
answer is ``...`` and passes with the teacher's answer.

Each edition of a notebook is run once, up to and including its last check cell, with nbclient
(``allow_errors=True`` so the student run goes on after a failed check). Check cells of the student
edition must end in an ``AssertionError`` (not any other error: that would be a broken check); the
teacher edition must run without any error. Notebooks are found by glob, so new ones are covered.
"""

import nbformat
import pytest
from nbclient import NotebookClient

from tests.course import REPO, SOURCES, build

WITH_CHECKS = [p for p in SOURCES if any("check" in c.metadata.get("tags", []) for c in build.read_source(p).cells)]


def run_until_last_check(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[int]]:
    checks = [k for k, c in enumerate(nb.cells) if "check" in c.metadata.get("tags", [])]
    nb.cells = nb.cells[: checks[-1] + 1]
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(REPO / "tutorials")}}).execute()
    return nb, checks


def errors(cell) -> list[tuple[str, str]]:
    return [(o.ename, o.evalue) for o in cell.get("outputs", []) if o.output_type == "error"]


def test_most_notebooks_have_exercises():
    assert len(WITH_CHECKS) >= 8, [p.name for p in WITH_CHECKS]


@pytest.mark.parametrize("source", WITH_CHECKS, ids=[p.stem for p in WITH_CHECKS])
def test_checks_fail_unanswered_and_pass_answered(source):
    student, checks = run_until_last_check(build.edition(source, student=True))
    for k in checks:
        found = errors(student.cells[k])
        assert found and found[0][0] == "AssertionError", (
            f"{source.name} cell {k}: unanswered, the check must raise AssertionError; got {found or 'no error'}")
    teacher, _ = run_until_last_check(build.edition(source, student=False))
    for k, cell in enumerate(teacher.cells):
        assert not errors(cell), f"{source.name} cell {k} (teacher edition): {errors(cell)}"
    for k in checks:
        text = "".join(o.get("text", "") for o in teacher.cells[k].outputs if o.output_type == "stream")
        assert text.lower().startswith("correct"), f"{source.name} cell {k}: a passed check says so: {text!r}"
