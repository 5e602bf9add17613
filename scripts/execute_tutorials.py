"""Execute teacher-edition notebooks in place, keeping only the outputs nbval checks.

    python scripts/execute_tutorials.py tutorials/04_ism_and_the_flipper.ipynb [...]

Usually called through ``scripts/tutorials/build.py --execute``. Cells marked
``# NBVAL_CHECK_OUTPUT`` keep their outputs (nbval compares against them); every other output, the
cells' execution timestamps and the saved widget state are dropped, so notebooks stay small (a widget
output embeds BokehJS) and diffs stay readable.
"""

import sys

import nbformat
from nbclient import NotebookClient


def main(paths: list[str]) -> None:
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": "tutorials"}}).execute()
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
            if cell.cell_type == "code" and "NBVAL_CHECK_OUTPUT" not in cell.source:
                cell.outputs, cell.execution_count = [], None
        nb.metadata.pop("widgets", None)
        nbformat.write(nb, path)
        print("executed", path)


if __name__ == "__main__":
    main(sys.argv[1:])
