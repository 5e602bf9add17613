"""One place for each thing (issue 12): modules import only public names across subpackages.

Every module of ``xai_widgets`` is parsed with :mod:`ast` (imports inside functions included)
and each import of the package itself is resolved to the module it names. An import that
crosses from one part of the package to another (a subpackage such as ``methods`` or a
top-level module such as ``adapt``) must

- not import an underscore module (``methods._common``) nor an underscore name
  (``_as_features``); ``xai_widgets/_core.py`` is the package-wide private core and may be
  imported from anywhere inside the package;
- name only what the target part exports: a name in its ``__all__`` (or a public submodule of
  it), whether imported from the package or from one of its public modules.

Within one subpackage anything goes. And ``methods`` does not depend on ``zoo``: the model
contract the methods need lives in :mod:`xai_widgets.contract`.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "xai_widgets"
SHARED_CORE = "_core"


def module_name(path: Path, root: Path | None = None) -> str:
    parts = list(path.relative_to(root or ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = sorted(PACKAGE.rglob("*.py"))
IDS = [module_name(p) for p in MODULES]


def package_imports(path: Path, root: Path | None = None) -> list[tuple[int, str, str | None]]:
    """``(line, imported module, imported name or None)`` for every import of ``xai_widgets``, at
    any depth (module level, functions, ``if TYPE_CHECKING``); ``root`` is the folder holding
    ``xai_widgets`` (default: this checkout)."""
    name = module_name(path, root)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names if alias.name.startswith("xai_widgets")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "xai_widgets":
                found += [(node.lineno, target, alias.name) for alias in node.names]
    return found


def part(module: str) -> str | None:
    """The part of the package a module belongs to: its subpackage or top-level module."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else None


def exported(part_name: str) -> set[str]:
    """What a part exports: its ``__all__`` (else its public names) and its public submodules."""
    module = importlib.import_module(f"xai_widgets.{part_name}")
    names = set(getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")])
    if hasattr(module, "__path__"):
        names |= {p.stem for p in Path(module.__path__[0]).glob("*.py") if not p.stem.startswith("_")}
        names |= {p.name for p in Path(module.__path__[0]).iterdir() if (p / "__init__.py").exists()
                  and not p.name.startswith("_")}
    return names


def violations(path: Path) -> list[str]:
    source = part(module_name(path))
    problems = []
    for line, target, name in package_imports(path):
        destination = part(target)
        if destination == source or destination is None:
            continue
        where = f"{path.relative_to(ROOT)}:{line}: {target}" + (f" import {name}" if name else "")
        private_modules = [p for p in target.split(".")[1:] if p.startswith("_") and p != SHARED_CORE]
        if private_modules:
            problems.append(f"{where}: underscore module {'.'.join(private_modules)} of another subpackage")
        elif name is not None and name.startswith("_") and destination != SHARED_CORE:
            problems.append(f"{where}: underscore name of another subpackage")
        elif name is not None and destination != SHARED_CORE and name not in exported(destination):
            problems.append(f"{where}: xai_widgets.{destination} does not export {name!r} (add it to its __all__ "
                            "or import a public name)")
    return problems


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_modules_import_only_public_names_across_subpackages(path):
    problems = violations(path)
    assert not problems, "\n".join(problems)


def test_the_check_catches_private_and_unexported_imports(tmp_path, monkeypatch):
    """The rule above can fail: a module that breaks it in each way is reported each time."""
    fake = tmp_path / "xai_widgets" / "widgets"
    fake.mkdir(parents=True)
    module = fake / "bad.py"
    module.write_text("from ..methods._common import check_output\n"
                      "from ..methods.interactions import _as_feature\n"
                      "from ..plots.tracks import heatmap_data, not_exported_anywhere\n"
                      "from .._core import predict\n"
                      "from ._common import update_source\n"
                      "def f():\n    from ..data import shuffle\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    problems = violations(module)
    assert len(problems) == 3, problems
    assert "underscore module _common" in problems[0]
    assert "underscore name" in problems[1]
    assert "does not export 'not_exported_anywhere'" in problems[2]


def test_methods_do_not_depend_on_the_zoo():
    """The model contract is in xai_widgets.contract: no module of methods imports zoo, and importing
    the methods (and what they import) in a fresh interpreter does not load it."""
    direct = [f"{path.relative_to(ROOT)}:{line}: {target}"
              for path in (PACKAGE / "methods").rglob("*.py")
              for line, target, _ in package_imports(path) if part(target) == "zoo"]
    assert not direct, direct
    code = "import sys, xai_widgets.methods; print(sorted(m for m in sys.modules if m.startswith('xai_widgets.zoo')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "[]"


def test_the_contract_is_the_one_home_of_its_names():
    """Exp, GlobalMaxPool, LocalPlan and Residual are defined once, in xai_widgets.contract, and the zoo's
    models satisfy the protocols the methods read."""
    from xai_widgets import contract, zoo

    for name in ("Exp", "GlobalMaxPool", "LocalPlan", "Residual"):
        assert getattr(contract, name).__module__ == "xai_widgets.contract"
        defined = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
                   if f"\nclass {name}(" in p.read_text()]
        assert defined == ["xai_widgets/contract.py"], (name, defined)
    basset = zoo.build("basset", n_targets=2)
    assert isinstance(basset, contract.LocalPlanModel) and isinstance(basset, contract.FirstConvModel)
    assert not isinstance(basset, contract.AttentionModel)
    assert isinstance(zoo.build("attention", n_targets=2), contract.AttentionModel)
    assert isinstance(basset.local_plan(), contract.LocalPlan)


def test_predict_is_public_at_the_top():
    import torch

    import xai_widgets
    from xai_widgets import zoo
    from xai_widgets.data import one_hot

    assert "predict" in xai_widgets.__all__ and "contract" in xai_widgets.__all__
    model = zoo.build("deepbind", n_targets=3).eval()
    X = one_hot(["ACGT" * 10, "TTGCA" * 8])
    with torch.no_grad():
        expected = torch.cat([model(X[i : i + 1]) for i in range(2)])
    torch.testing.assert_close(xai_widgets.predict(model, X), expected)
