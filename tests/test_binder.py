"""The Binder set-up works from scratch: a fresh virtual environment from binder/requirements.txt
(torch from this machine's configuration), binder/postBuild, then the whole course under nbval."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_binder_environment_runs_the_course(tmp_path):
    venv = tmp_path / "binder-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
    env.pop("PYTHONPATH", None)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
                    "binder/requirements.txt", "pytest", "nbval"], cwd=REPO, env=env, check=True, timeout=1500)
    subprocess.run(["bash", "binder/postBuild"], cwd=REPO, env=env, check=True, timeout=600)
    result = subprocess.run([str(python), "-m", "pytest", "tutorials", "--nbval-lax", "--nbval-current-env",
                             "--nbval-sanitize-with", "tutorials/sanitize.cfg", "-q", "-p", "no:cacheprovider"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
