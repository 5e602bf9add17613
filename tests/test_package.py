"""Project-level promises: light import, two-command README, CI calls the test command."""

import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cold_import_is_light_and_fast():
    code = ("import sys, time; t = time.perf_counter(); import xai_widgets; dt = time.perf_counter() - t; "
            "heavy = [m for m in ('torch', 'bokeh', 'pyjaspar', 'numba', 'ipywidgets') if m in sys.modules]; "
            "print(dt, heavy)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(maxsplit=1)
    assert time.perf_counter() - start < 10
    assert float(out[0]) < 2.0
    assert out[1].strip() == "[]"


def test_lazy_submodules_resolve():
    import xai_widgets

    assert xai_widgets.data.one_hot("ACGT").shape == (1, 4, 4)
    assert "list_models" in dir(xai_widgets.zoo)
    try:
        xai_widgets.nope
    except AttributeError as err:
        assert "nope" in str(err)
    else:
        raise AssertionError("missing attribute did not raise")


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", text, flags=re.S).group(1)
    commands = [ln.split("#")[0].strip() for ln in first_block.splitlines() if ln.strip()]
    assert commands == ["make lab", "make test"]
    assert text.index("```") < text.index("\n## ")


def test_ci_runs_the_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_test_only_tools_are_not_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"])
    for tool in ("pytest", "nbval", "hypothesis", "playwright", "captum", "tangermeme"):
        assert tool not in runtime
    assert any(d.startswith("pytest") for d in project["optional-dependencies"]["test"])


def test_jaspar_attribution_ships_with_the_motifs():
    from importlib import resources

    text = resources.files("xai_widgets.data").joinpath("motifs", "ATTRIBUTION.md").read_text()
    assert "CC BY 4.0" in text and "JASPAR" in text
