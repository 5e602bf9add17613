"""Make (or top up) the class's working copy of the student edition, for ``make lab``.

    python scripts/tutorials/working_copy.py [my-course]

Copies each ``tutorials/student/NN_name.ipynb`` into the working folder (default ``my-course/``,
git-ignored) unless a file of that name is already there: a student's work is never overwritten,
and notebooks added to the course later appear on the next run. JupyterLab then opens that folder,
so autosave never touches the tracked notebooks and ``git pull`` does not conflict. The answer key
is the teacher edition, ``tutorials/NN_name.ipynb``.
"""

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STUDENT = REPO / "tutorials" / "student"


def working_copy(folder: Path) -> tuple[list[str], list[str]]:
    """Copy missing student notebooks into ``folder``; return (copied, kept) file names."""
    folder.mkdir(parents=True, exist_ok=True)
    copied, kept = [], []
    for notebook in sorted(STUDENT.glob("*.ipynb")):
        target = folder / notebook.name
        if target.exists():
            kept.append(notebook.name)
        else:
            shutil.copyfile(notebook, target)
            copied.append(notebook.name)
    if not copied and not kept:
        raise SystemExit(f"no student edition in {STUDENT}: run `python scripts/tutorials/build.py`")
    return copied, kept


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "my-course")
    copied, kept = working_copy(folder)
    print(f"working copy {folder}: {len(copied)} notebook(s) added, {len(kept)} kept as you left them "
          f"(answer key: tutorials/NN_name.ipynb)")
