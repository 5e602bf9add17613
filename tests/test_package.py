"""Project-level promises: light import, two-command README, CI calls the test command."""

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cold_import_is_light_and_fast():
    code = ("import sys, time; t = time.perf_counter(); import xai_widgets; dt = time.perf_counter() - t; "
            "heavy = [m for m in ('torch', 'bokeh', 'pyjaspar', 'numba', 'ipywidgets') if m in sys.modules]; "
            "print(dt, heavy)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split(maxsplit=1)
    assert time.perf_counter() - start < 10
    assert float(out[0]) < 2.0
    assert out[1].strip() == "[]"


def test_lazy_submodules_resolve():
    import xai_widgets

    assert xai_widgets.data.one_hot("ACGT").shape == (1, 4, 4)
    assert "list_models" in dir(xai_widgets.zoo)
    try:
        _ = xai_widgets.nope
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


def _toml_list(text: str, key: str) -> str:
    """The body of ``key = [ ... ]`` in pyproject.toml (tomllib is Python >= 3.11 only)."""
    return re.search(rf"^{key} = \[(.*?)^\]", text, flags=re.S | re.M).group(1)


def test_test_only_tools_are_not_runtime_dependencies():
    text = (ROOT / "pyproject.toml").read_text()
    runtime = _toml_list(text, "dependencies")
    for tool in ("pytest", "nbval", "hypothesis", "playwright", "captum", "tangermeme"):
        assert tool not in runtime
    assert '"pytest' in _toml_list(text, "test")
    assert "pyjaspar==" in runtime  # a pinned JASPAR release


def test_jaspar_attribution_ships_with_the_motifs():
    from importlib import resources

    text = resources.files("xai_widgets.data").joinpath("motifs", "ATTRIBUTION.md").read_text()
    assert "CC BY 4.0" in text and "JASPAR" in text


def test_make_lab_serves_the_tutorials_and_prints_its_url():
    """The README's first command starts JupyterLab on the tutorials and prints the URL + token."""
    import os
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS=--ip=127.0.0.1 --port={port}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url, seen = None, []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            match = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=\w+", line)
            url = match.group(0) if match else None
        assert url, "no URL with a token in the output of make lab:\n" + "".join(seen[-20:])
        import urllib.error
        import urllib.request

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
        for attempt in range(20):  # the URL can be printed a moment before the socket accepts
            try:
                page = opener.open(url.replace("/lab?", "/api/contents?"), timeout=10).read().decode()
                break
            except urllib.error.URLError:
                if attempt == 19 or proc.poll() is not None:
                    raise
                time.sleep(0.5)
        assert "01_sequences_and_models.ipynb" in page
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def test_ruff_finds_nothing_to_report():
    """Lint and import order (``[tool.ruff]`` in pyproject.toml) over the package, tests, scripts,
    benchmarks and the tutorials' sources; ``ruff check --fix`` repairs what it can."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
