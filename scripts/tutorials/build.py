"""Build both editions of the course from its single source, ``tutorials/src/NN_name.py``.

    python scripts/tutorials/build.py                 # every source; teacher editions not re-executed
    python scripts/tutorials/build.py --execute 04 06 # also execute these teacher editions (nbval outputs)

Each source is a jupytext percent script. It makes:

- the **teacher edition** ``tutorials/NN_name.ipynb``: the answers filled in; executed by
  ``scripts/execute_tutorials.py`` (outputs kept only under ``# NBVAL_CHECK_OUTPUT``), validated by nbval;
- the **student edition** ``tutorials/student/NN_name.ipynb``: not executed; each solution block
  replaced by ``name = ...`` stubs and each written answer by a prompt.

Markup in a source:

- ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` in a code cell: the teacher's code. The student
  edition gets one ``name = ...`` line per top-level name the block assigns, or the names listed on the
  BEGIN line (``### BEGIN SOLUTION share, best``). Put hints as comments above the block.
- a code cell tagged ``check``: recomputes the answer and compares it with the student's value; it
  must raise ``AssertionError`` while the answer is ``...`` or wrong (tests/course/test_course_checks.py
  runs every check cell of both editions).
- a markdown cell tagged ``answer``: the example answer to a written question; the student edition
  shows a prompt instead.

Without ``--execute``, a teacher edition whose cells are unchanged keeps its stored outputs; a
changed one is written unexecuted and must be executed before committing (the sync test in
tests/course/test_course_sync.py says which).
"""

import ast
import platform
import re
import sys
from pathlib import Path

import jupytext
import nbformat

REPO = Path(__file__).resolve().parents[2]
TUTORIALS = REPO / "tutorials"
SOURCES = TUTORIALS / "src"
STUDENT = TUTORIALS / "student"

BEGIN, END = re.compile(r"^\s*### BEGIN SOLUTION\b(.*)$"), re.compile(r"^\s*### END SOLUTION\s*$")
STUDENT_PROMPT = "**Your answer:** *(double-click this cell and write here)*"

# What JupyterLab (ipykernel) writes, so that opening a notebook does not mark it modified.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def language_info() -> dict:
    return {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
            "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
            "pygments_lexer": "ipython3", "version": platform.python_version()}


def sources() -> list[Path]:
    return sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def read_source(path: Path) -> nbformat.NotebookNode:
    return jupytext.read(path, fmt="py:percent")


def _stub(block: list[str], names: str, where: str) -> list[str]:
    """The student's lines for one solution block: `name = ...` per answer name."""
    if names.strip():
        wanted = [n.strip() for n in names.split(",") if n.strip()]
    else:
        try:
            tree = ast.parse("\n".join(block))
        except SyntaxError as error:
            raise ValueError(f"{where}: the solution block is not valid Python ({error})") from None
        wanted = []
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name) and leaf.id not in wanted:
                        wanted.append(leaf.id)
    if not wanted:
        raise ValueError(f"{where}: the solution block assigns no name; list the answer names on the "
                         "BEGIN line, e.g. '### BEGIN SOLUTION share'")
    indent = re.match(r"\s*", next((line for line in block if line.strip()), "")).group(0)
    return [f"{indent}{name} = ...  # your answer" for name in wanted]


def _edit_solutions(source: str, student: bool, where: str) -> str:
    out, block, names = [], None, ""
    for line in source.splitlines():
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if block is not None:
                raise ValueError(f"{where}: nested '### BEGIN SOLUTION'")
            block, names = [], begin.group(1)
        elif end:
            if block is None:
                raise ValueError(f"{where}: '### END SOLUTION' without BEGIN")
            out += _stub(block, names, where) if student else block
            block = None
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise ValueError(f"{where}: '### BEGIN SOLUTION' without END")
    return "\n".join(out)


def edition(path: Path, student: bool) -> nbformat.NotebookNode:
    """The teacher (student=False) or student edition of one source, unexecuted."""
    src = read_source(path)
    cells = []
    for k, cell in enumerate(src.cells):
        tags = list(cell.metadata.get("tags", []))
        metadata = {"tags": tags} if tags else {}
        where = f"{path.name}, cell {k}"
        if cell.cell_type == "markdown":
            text = STUDENT_PROMPT if student and "answer" in tags else cell.source
            new = nbformat.v4.new_markdown_cell(text, metadata=metadata)
        elif cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(_edit_solutions(cell.source, student, where), metadata=metadata)
        else:
            new = nbformat.v4.new_raw_cell(cell.source, metadata=metadata)
        new["id"] = f"c{k:02d}"  # stable ids: rebuilding gives the same file
        cells.append(new)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = nbformat.from_dict({"kernelspec": dict(KERNELSPEC), "language_info": language_info()})
    return nb


def comparable(nb: nbformat.NotebookNode) -> dict:
    """What the sync test compares: cells without outputs/execution data, metadata without the
    Python version (the kernel that executed it writes its own)."""
    cells = [{"id": c.get("id"), "cell_type": c.cell_type, "source": c.source,
              "metadata": {k: v for k, v in c.metadata.items() if k != "execution"}} for c in nb.cells]
    meta = {k: v for k, v in nb.metadata.items() if k != "widgets"}
    meta["language_info"] = {k: v for k, v in meta.get("language_info", {}).items() if k != "version"}
    return {"cells": cells, "metadata": meta, "nbformat": (nb.nbformat, nb.nbformat_minor)}


def teacher_path(path: Path) -> Path:
    return TUTORIALS / f"{path.stem}.ipynb"


def student_path(path: Path) -> Path:
    return STUDENT / f"{path.stem}.ipynb"


def build(path: Path, execute: bool = False) -> list[str]:
    """Write both editions of one source; return what needs doing (empty when all is done)."""
    notes = []
    STUDENT.mkdir(exist_ok=True)
    nbformat.write(edition(path, student=True), student_path(path))
    teacher, target = edition(path, student=False), teacher_path(path)
    if not execute and target.exists() and comparable(nbformat.read(target, as_version=4)) == comparable(teacher):
        return notes
    nbformat.write(teacher, target)
    if execute:
        sys.path.insert(0, str(REPO / "scripts"))
        from execute_tutorials import main as execute_notebooks
        execute_notebooks([str(target)])
    else:
        notes.append(f"{target.relative_to(REPO)} changed: run with --execute {path.stem[:2]}")
    return notes


def main(argv: list[str]) -> int:
    execute = "--execute" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    chosen = [p for p in sources() if not wanted or any(p.stem.startswith(w) for w in wanted)]
    if wanted and not chosen:
        print("no source matches", wanted, "in", SOURCES)
        return 1
    notes = [note for path in chosen for note in build(path, execute)]
    print(f"built {len(chosen)} source(s)", *notes, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
