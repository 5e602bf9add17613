"""The course has one source per notebook (tutorials/src/NN_name.py); the committed teacher and
student editions are exactly what scripts/tutorials/build.py makes from it."""

import nbformat
import pytest

from tests.course.notebooks import REPO, SOURCES, build

TUTORIALS = REPO / "tutorials"
IDS = [p.stem for p in SOURCES]


def test_every_notebook_has_a_source():
    notebooks = sorted(p.stem for p in TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
    students = sorted(p.stem for p in (TUTORIALS / "student").glob("*.ipynb"))
    assert len(SOURCES) >= 9
    missing = sorted(set(notebooks) - set(IDS))
    assert not missing, (f"{missing} have no source in tutorials/src/: convert them with "
                         "`python scripts/tutorials/convert.py <old generator or notebook>`")
    assert students == IDS, "tutorials/student/ must hold exactly one student edition per source"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_committed_editions_match_the_source(source):
    teacher = nbformat.read(build.teacher_path(source), as_version=4)
    assert build.comparable(teacher) == build.comparable(build.edition(source, student=False)), (
        f"{build.teacher_path(source).name} differs from {source.name}: run "
        f"`python scripts/tutorials/build.py --execute {source.stem[:2]}`")
    student = nbformat.read(build.student_path(source), as_version=4)
    expected = build.edition(source, student=True)
    assert build.comparable(student) == build.comparable(expected), "run `python scripts/tutorials/build.py`"
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None for c in student.cells), \
        "the student edition is stored unexecuted"
    for cell in teacher.cells:
        assert "execution" not in cell.metadata, "execution timestamps are dropped (scripts/execute_tutorials.py)"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_student_edition_hides_every_answer(source):
    teacher, student = build.edition(source, student=False), build.edition(source, student=True)
    n_checks = n_blocks = 0
    for t, s in zip(teacher.cells, student.cells, strict=True):
        assert "### BEGIN SOLUTION" not in s.source and "### END SOLUTION" not in s.source
        if "check" in t.metadata.get("tags", []):
            n_checks += 1
            assert t.source == s.source, "check cells are the same in both editions"
        if t.source != s.source:
            n_blocks += 1
            if t.cell_type == "code":
                assert "= ...  # your answer" in s.source
                hidden = [line for line in t.source.splitlines() if line not in s.source.splitlines()]
                assert hidden, "a solution block must hide some code"
            else:
                assert s.source == build.STUDENT_PROMPT
    if n_blocks:
        assert n_checks, f"{source.name} has answers but no check cell (tag 'check')"


def test_metadata_matches_what_jupyterlab_writes():
    for path in [*TUTORIALS.glob("[0-9][0-9]_*.ipynb"), *(TUTORIALS / "student").glob("*.ipynb")]:
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["kernelspec"] == {"display_name": "Python 3 (ipykernel)", "language": "python",
                                             "name": "python3"}, path.name
        info = nb.metadata["language_info"]
        assert info["name"] == "python" and info["pygments_lexer"] == "ipython3", path.name
        assert (nb.nbformat, nb.nbformat_minor) == (4, 5) and all(c.get("id") for c in nb.cells), path.name


def test_stub_names_and_markup_errors(tmp_path):
    assert build._stub(["a, b = 1, 2", "c = a"], "", "x") == ["a = ...  # your answer", "b = ...  # your answer",
                                                              "c = ...  # your answer"]
    assert build._stub(["tmp = 1", "share = tmp"], " share", "x") == ["share = ...  # your answer"]
    with pytest.raises(ValueError, match="assigns no name"):
        build._stub(["print(1)"], "", "x")
    with pytest.raises(ValueError, match="without END"):
        build._edit_solutions("### BEGIN SOLUTION\nx = 1", True, "x")
    with pytest.raises(ValueError, match="without BEGIN"):
        build._edit_solutions("x = 1\n### END SOLUTION", True, "x")


def test_convert_turns_an_old_generator_into_a_source(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("course_convert", REPO / "scripts" / "tutorials" / "convert.py")
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    old = tmp_path / "42_old.py"
    old.write_text('import nbformat as nbf\nmd, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell\n'
                   'cells = [md("# 42"), code("x = 1"), code("# your answer\\ny = x + 1\\n# self-check\\n'
                   'assert y == 2")]\nnb = nbf.v4.new_notebook(cells=cells)\nnbf.write(nb, "tutorials/42_old.ipynb")\n')
    out = convert.convert(old, tmp_path / "src")
    assert out.name == "42_old.py"
    teacher, student = build.edition(out, student=False), build.edition(out, student=True)
    assert [c.source for c in teacher.cells] == ["# 42", "x = 1", "# your answer\ny = x + 1",
                                                 "# check: TODO recompute the answer here and compare it with "
                                                 "the student's value\nassert y == 2"]
    assert student.cells[2].source == "# your answer\ny = ...  # your answer"
    assert teacher.cells[3].metadata["tags"] == ["check"]


def test_working_copy_is_made_once_and_never_overwritten(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("course_copy", REPO / "scripts" / "tutorials" / "working_copy.py")
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    folder = tmp_path / "my-course"
    copied, kept = copy.working_copy(folder)
    assert copied == [p.name for p in sorted((TUTORIALS / "student").glob("*.ipynb"))] and kept == []
    mine = folder / copied[1]
    mine.write_text("my work")
    (folder / copied[0]).unlink()                    # e.g. a notebook added to the course later
    copied_again, kept_again = copy.working_copy(folder)
    assert copied_again == [copied[0]] and mine.name in kept_again
    assert mine.read_text() == "my work"
    assert (folder / copied[0]).read_bytes() == (TUTORIALS / "student" / copied[0]).read_bytes()


def test_make_lab_opens_the_ignored_working_copy():
    makefile = (REPO / "Makefile").read_text()
    lab = makefile[makefile.index("\nlab:"):].split("\n\n")[0]
    assert "working_copy.py $(COURSE)" in lab and "--notebook-dir=$(COURSE)" in lab
    assert "COURSE ?= my-course" in makefile
    ignored = __import__("subprocess").run(["git", "check-ignore", "-q", "my-course/00_quick_start.ipynb"], cwd=REPO)
    assert ignored.returncode == 0, "my-course/ must be git-ignored"
