"""The Binder set-up (binder/environment.yml + binder/postBuild) is well formed and works from scratch.

repo2docker solves the conda part with conda, which these machines do not have; the second test
rebuilds the same environment as a fresh virtual environment instead: each conda package by its pip
name with the same range (pytorch-cpu -> the local CPU build torch==2.13.0), then the pip section,
then postBuild, then the set-up cells of every student notebook.
"""

import json
import os
import re
import subprocess
import sys

import yaml
from packaging.requirements import Requirement

from tests.helpers import REPO

BINDER = REPO / "binder"
CONDA_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+) (?P<spec>(>=[\w.]+,<[\w.]+)|(==[\w.]+))$")
PIP_NAME_OF = {"pytorch-cpu": "torch"}
LOCAL_TORCH = "torch==2.13.0"


def environment() -> dict:
    return yaml.safe_load((BINDER / "environment.yml").read_text())


def conda_and_pip() -> tuple[list[str], list[str]]:
    deps = environment()["dependencies"]
    conda = [d for d in deps if isinstance(d, str)]
    pip = [p for d in deps if isinstance(d, dict) for p in d["pip"]]
    return conda, pip


def test_conda_part_is_conda_forge_only_with_pinned_ranges():
    env = environment()
    assert env["channels"] == ["conda-forge", "nodefaults"]
    conda, pip = conda_and_pip()
    assert "pytorch-cpu" in [d.split()[0] for d in conda], "the CPU build of PyTorch from conda-forge"
    for dep in conda:
        assert "::" not in dep, f"{dep}: no other channel"
        assert CONDA_SPEC.match(dep), f"{dep!r}: give a range 'name >=low,<high' (or '==version')"
    for dep in pip:
        req = Requirement(dep)
        assert not req.url and req.specifier, f"pip: {dep!r} needs a version range"
        assert any(s.operator in ("==", "<") for s in req.specifier), f"pip: {dep!r} needs an upper bound"
    names = {PIP_NAME_OF.get(d.split()[0], d.split()[0]).lower().replace("_", "-") for d in conda}
    names |= {Requirement(p).name.lower().replace("_", "-") for p in pip}
    pyproject = (REPO / "pyproject.toml").read_text()
    runtime = re.search(r"^dependencies = \[(.*?)^\]", pyproject, re.S | re.M).group(1)
    for line in re.findall(r'^\s*"([^"]+)"', runtime, re.M):
        name = Requirement(line).name.lower().replace("_", "-")
        assert name in names, f"{name} (a runtime dependency in pyproject.toml) is missing from binder/environment.yml"


def test_no_requirements_txt_and_no_package_host():
    assert not (BINDER / "requirements.txt").exists(), "environment.yml takes precedence; keep one list"
    for path in BINDER.iterdir():
        text = path.read_text()
        assert "://" not in text and "index-url" not in text, f"{path.name} names a package host"
    assert os.access(BINDER / "postBuild", os.X_OK)


def pip_lines_for_a_venv() -> list[str]:
    conda, pip = conda_and_pip()
    lines = []
    for dep in conda:
        name, spec = dep.split(" ", 1)
        if name in ("python", "pip"):
            continue
        lines.append(LOCAL_TORCH if name == "pytorch-cpu" else f"{name}{spec}")
    return lines + pip + ["nbclient", "ipykernel"]


def test_binder_environment_runs_the_student_setup_cells(tmp_path):
    venv = tmp_path / "binder-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv),
           "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    *pip_lines_for_a_venv()], cwd=tmp_path, env=env, check=True, timeout=1500)
    # postBuild runs in a copy of the checkout's files (tracked and new, not ignored), so it cannot
    # touch this checkout
    clone = tmp_path / "repo"
    listed = subprocess.run(["git", "ls-files", "-c", "-o", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    for name in listed:
        if (REPO / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            (clone / name).write_bytes((REPO / name).read_bytes())
    (clone / "binder" / "postBuild").chmod(0o755)
    subprocess.run(["bash", "binder/postBuild"], cwd=clone, env=env, check=True, timeout=900)
    assert sorted(p.name for p in (clone / "my-course").glob("*.ipynb")) == \
        sorted(p.name for p in (REPO / "tutorials" / "student").glob("*.ipynb"))
    runner = tmp_path / "setup_cells.py"
    runner.write_text(SETUP_RUNNER)
    result = subprocess.run([str(python), str(runner), str(clone / "my-course")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == {} and report["n"] >= 9, report
    assert report["not_from_site_packages"] == [], "the package must be the one postBuild installed"


SETUP_RUNNER = r'''
import json, sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient

errors, n = {}, 0
for path in sorted(Path(sys.argv[1]).glob("*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    first = next(k for k, c in enumerate(nb.cells) if c.cell_type == "code")   # imports, device, set-up
    nb.cells = [nb.cells[first], nbformat.v4.new_code_cell("import xai_widgets; print(xai_widgets.__file__)")]
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    n += 1
    for cell in nb.cells:
        for out in cell.outputs:
            if out.output_type == "error":
                errors[path.name] = f"{out.ename}: {out.evalue}"
    where = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    if "site-packages" not in where:
        errors.setdefault("not_from_site_packages", []).append(path.name)
bad = errors.pop("not_from_site_packages", [])
print(json.dumps({"n": n, "errors": errors, "not_from_site_packages": bad}))
'''
