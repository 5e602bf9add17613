"""The package's import graph (issue 21): no circles, and every import points down the layers.

Every module of ``xai_widgets`` is parsed with :mod:`ast`; every import of the package counts,
at module level, inside functions and under ``if TYPE_CHECKING`` alike (an import moved into a
function to dodge a circle is still a circle). ``from package import name`` is an edge to the
module ``package.name`` when that is a module, else to ``package`` (its ``__init__``, which
imports its submodules).

The layers, bottom to top (docs/architecture.md draws them). A part may import its own modules
and the parts of lower layers; parts on one layer never import each other.

====================================  ==========================================================
``data``, ``metrics``                 sequences, motifs, tasks, readers; metrics (no model)
``_core``                             devices, model-state hygiene, the memory rule, predict()
``contract``                          what a model is, and the one reader of each fact about it
``adapt``                             any model fitted to the contract
``zoo`` | ``methods``                 shipped models | the functional core (methods never
                                      import the zoo, the zoo never runs a method)
``evaluation`` | ``plots`` |          scores against planted truth | figures | headless widget
``widgets.core``                      cores (a core never draws)
``testing`` | ``widgets``             the browser harness (above ``plots``: ``plots`` never imports
                                      it) | the views
====================================  ==========================================================
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_package_structure import MODULES, ROOT, module_name, package_imports

LAYERS = [
    ("data", "metrics"),
    ("_core",),
    ("contract",),
    ("adapt",),
    ("zoo", "methods"),
    ("evaluation", "plots", "widgets.core"),
    ("testing", "widgets"),
]
LEVEL = {part: level for level, parts in enumerate(LAYERS) for part in parts}

#: Circles still allowed: none (the ism <-> _fast_ism circle went with the one edit engine).
ENGINE_CIRCLE: set = set()


def allowed_in_a_circle(module: str) -> bool:
    return module in ENGINE_CIRCLE


#: Imports against the layers that another change removes (none left: plan discovery moved into
#: the contract). The test fails once an entry no longer occurs, so that it is deleted.
PENDING_UPWARD: set = set()


def layer_part(module: str) -> str | None:
    """The layer part of a module: ``widgets.core`` for widget cores, else its top-level part."""
    pieces = module.split(".")
    if len(pieces) < 2:
        return None
    if pieces[1] == "widgets" and len(pieces) > 2 and pieces[2] == "core":
        return "widgets.core"
    return pieces[1]


def import_graph(paths, root: Path) -> dict[str, dict[str, int]]:
    """``{module: {imported module: first line}}`` over ``paths`` (edges to modules of ``paths`` only)."""
    names = {module_name(path, root): path for path in paths}
    graph = {}
    for name, path in names.items():
        edges = {}
        for line, target, imported in package_imports(path, root):
            full = f"{target}.{imported}" if imported is not None else None
            destination = full if full in names else target
            if destination in names and destination != name:
                edges.setdefault(destination, line)
        graph[name] = edges
    return graph


def circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def circle_problems(graph) -> list[str]:
    problems = []
    for component in circles(graph):
        if all(allowed_in_a_circle(m) for m in component):
            continue
        members = set(component)
        edges = [f"{a} -> {b} (line {graph[a][b]})" for a in component for b in graph[a] if b in members]
        problems.append("import circle: " + "; ".join(edges))
    return problems


def layer_problems(graph) -> tuple[list[str], set]:
    """Imports of a part from a part on its own or a higher layer, and the pending ones met."""
    problems, pending = [], set()
    for module, edges in graph.items():
        source = layer_part(module)
        for target, line in edges.items():
            destination = layer_part(target)
            if source is None or destination is None or source == destination:
                continue
            if LEVEL[destination] < LEVEL[source]:
                continue
            if (module, target) in PENDING_UPWARD:
                pending.add((module, target))
                continue
            where = "the same layer as" if LEVEL[destination] == LEVEL[source] else "a higher layer than"
            path = module.replace(".", "/") + ".py"
            problems.append(f"{path}:{line}: {module} imports {target}: {destination} is on {where} {source}")
    return problems, pending


GRAPH = import_graph(MODULES, ROOT)


def test_every_part_has_a_layer():
    parts = {layer_part(m) for m in GRAPH} - {None}
    assert parts <= set(LEVEL), sorted(parts - set(LEVEL))


def test_no_import_circles():
    problems = circle_problems(GRAPH)
    assert not problems, "\n".join(problems)


def test_imports_point_down_the_layers():
    problems, pending = layer_problems(GRAPH)
    assert not problems, "\n".join(problems)
    assert pending == PENDING_UPWARD, f"no longer imported, delete from PENDING_UPWARD: {PENDING_UPWARD - pending}"


def test_widget_cores_do_not_draw_and_plots_do_not_test():
    """The two rules the layers imply that issue 21 names: no widget core imports ``plots``, and
    ``plots`` does not import ``testing``."""
    for module, edges in GRAPH.items():
        if layer_part(module) == "widgets.core":
            assert not [t for t in edges if layer_part(t) == "plots"], module
        if layer_part(module) == "plots":
            assert not [t for t in edges if layer_part(t) == "testing"], module


def test_only_the_contract_reads_a_model_s_declared_facts():
    """Output names, input length, the first layer and the card are read in one place each
    (``xai_widgets.contract``): no other module calls ``getattr(x, "card")`` (or the other three)
    or reads ``x.card`` / ``x.first_conv``."""
    facts = {"card", "output_names", "input_length", "first_conv"}
    found = []
    for path in MODULES:
        if path.name == "contract.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("getattr", "hasattr") and len(node.args) > 1
                    and isinstance(node.args[1], ast.Constant) and node.args[1].value in facts):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
            if (isinstance(node, ast.Attribute) and node.attr in ("card", "first_conv")
                    and isinstance(node.ctx, ast.Load)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "\n".join(found)


def _write(root: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(path)
    return paths


def test_the_checks_catch_circles_and_upward_imports(tmp_path):
    """The checks can fail: a circle through a function-level import, one through a package's
    ``__init__``, one under ``TYPE_CHECKING`` and the old ism <-> _fast_ism one (no circle is
    allowed any more) are reported, as are a widget core drawing, a method importing the zoo and
    plots importing testing."""
    paths = _write(tmp_path, {
        "xai_widgets/__init__.py": "",
        "xai_widgets/data/__init__.py": "from .a import x\n",
        "xai_widgets/data/a.py": "def f():\n    from .b import y\n",
        "xai_widgets/data/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import x\n",
        "xai_widgets/methods/__init__.py": "from .one import f\nfrom .ism import g\n",
        "xai_widgets/methods/one.py": "from . import g\nfrom ..zoo import load\n",
        "xai_widgets/methods/ism.py": "from ._fast_ism import h\n",
        "xai_widgets/methods/_fast_ism.py": "def h():\n    from .ism import g\n",
        "xai_widgets/zoo/__init__.py": "",
        "xai_widgets/plots/__init__.py": "from ..testing import lab\n",
        "xai_widgets/testing/__init__.py": "",
        "xai_widgets/testing/lab.py": "",
        "xai_widgets/widgets/core/__init__.py": "from ...plots import figure\n",
    })
    graph = import_graph(paths, tmp_path)
    found = circle_problems(graph)
    assert len(found) == 3, found
    assert "xai_widgets.data.a -> xai_widgets.data.b (line 2)" in found[0]
    assert any("xai_widgets.methods -> xai_widgets.methods.one" in problem for problem in found)
    assert any("_fast_ism" in problem for problem in found)
    upward, _ = layer_problems(graph)
    assert len(upward) == 3, upward
    assert any("xai_widgets.methods.one imports xai_widgets.zoo: zoo is on the same layer as methods" in p
               for p in upward)
    assert any("imports xai_widgets.testing.lab: testing is on a higher layer than plots" in p for p in upward)
    assert any("xai_widgets.widgets.core imports xai_widgets.plots: plots is on the same layer" in p for p in upward)


@pytest.mark.parametrize("part", sorted(LEVEL))
def test_each_layer_part_exists(part):
    path = ROOT / "xai_widgets" / Path(*part.split("."))
    assert path.is_dir() or path.with_suffix(".py").exists(), part
