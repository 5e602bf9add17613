"""Convert an old-style tutorial into its single source, ``tutorials/src/NN_name.py``.

    python scripts/tutorials/convert.py scripts/tutorials/09_name.py [tutorials/01_x.ipynb ...]

The input is either an old generator (a script that builds a list of nbformat cells and calls
``nbformat.write(nb, "tutorials/NN_name.ipynb")``; it is run with ``nbformat.write`` captured, so
nothing is written) or a notebook. The output is a jupytext percent script, the one file to edit
from then on; ``scripts/tutorials/build.py`` makes both editions from it.

Exercise cells are converted mechanically: a code cell starting with ``# your answer`` is split at
its ``# self-check`` line into an answer cell (the code between ``### BEGIN SOLUTION`` and
``### END SOLUTION``) and a check cell (tag ``check``). Old self-checks usually test the expected
science rather than the student's value: rewrite each one so that it recomputes the answer and
compares (see tutorials/README.md, "Writing an exercise"), then delete the old generator.
"""

import runpy
import sys
from pathlib import Path
from unittest import mock

import jupytext
import nbformat

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "tutorials" / "src"


def load_old(path: Path) -> tuple[nbformat.NotebookNode, str]:
    """The notebook an old generator would write (or a notebook file), and its stem."""
    if path.suffix == ".ipynb":
        return nbformat.read(path, as_version=4), path.stem
    written = []
    with mock.patch.object(nbformat, "write", lambda nb, target, *a, **k: written.append((nb, target))):
        runpy.run_path(str(path), run_name="__main__")
    if len(written) != 1:
        raise ValueError(f"{path} wrote {len(written)} notebooks; expected exactly one nbformat.write call")
    nb, target = written[0]
    return nb, Path(str(target)).stem


def split_exercise(source: str) -> list[tuple[str, list[str]]]:
    """An old '# your answer' cell -> [(answer source, []), (check source, ['check'])]."""
    lines = source.splitlines()
    cut = next((k for k, line in enumerate(lines) if line.strip().lower().startswith("# self-check")), len(lines))
    head, body = lines[0], lines[1:cut]
    answer = "\n".join([head, "### BEGIN SOLUTION", *body, "### END SOLUTION"])
    cells = [(answer, [])]
    if cut < len(lines):
        check = "\n".join(["# check: TODO recompute the answer here and compare it with the student's value",
                           *lines[cut + 1:]])
        cells.append((check, ["check"]))
    return cells


def convert(path: Path, out_dir: Path = SOURCES) -> Path:
    old, stem = load_old(path)
    cells = []
    for cell in old.cells:
        if cell.cell_type == "code" and cell.source.lstrip().lower().startswith("# your answer"):
            for source, tags in split_exercise(cell.source):
                new = nbformat.v4.new_code_cell(source)
                if tags:
                    new.metadata["tags"] = tags
                cells.append(new)
        elif cell.cell_type == "code":
            cells.append(nbformat.v4.new_code_cell(cell.source, metadata={k: v for k, v in cell.metadata.items()
                                                                            if k == "tags"}))
        else:
            cells.append(nbformat.v4.new_markdown_cell(cell.source))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["jupytext"] = {"formats": "py:percent", "notebook_metadata_filter": "-all",
                               "cell_metadata_filter": "tags"}
    out = out_dir / f"{stem}.py"
    out.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nb, out, fmt="py:percent")
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        print("wrote", convert(Path(arg)).relative_to(REPO))
