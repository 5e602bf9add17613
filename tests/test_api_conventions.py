"""The public API follows one set of conventions (issue 12).

Every public callable exported by ``__all__`` of ``xai_widgets`` and its subpackages (for a module
without ``__all__``: every public function and class defined in it) is checked, one test case
per callable and rule, so a failure names the callable and the rule:

(a) at most two positional parameters (``(model, X)`` or a function's principal data); the rest
    keyword-only;
(b) every parameter with a default is described in the numpydoc ``Parameters`` section, and its
    entry states the default: the word "default" (or "optional") and the value;
(c) a parameter named ``target`` defaults to None (the model's only output; ``"all"`` where a
    method returns every output);
(d) no parameter is named ``targets`` (a motif database is ``database``, DFIM's features
    ``target_features``);
(e) the shared parameters keep the package's defaults: ``progress`` False (True in widgets),
    ``random_state`` None (a fixed int in widgets and data tasks), ``batch_size`` None,
    ``device`` ``"auto"``.

Classes are checked through ``__init__`` (their docstring is the class's, as numpydoc writes
it). Exempt, each with its reason in :data:`EXEMPT`: dataclass results (their fields are
documented under ``Attributes``, built by the methods, not by users), enums, and classes with
no ``__init__`` of their own.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import re

import pytest
from torch import nn

MODULES = ("xai_widgets", "xai_widgets.contract", "xai_widgets.methods", "xai_widgets.evaluation", "xai_widgets.data",
           "xai_widgets.plots", "xai_widgets.widgets", "xai_widgets.zoo", "xai_widgets.metrics", "xai_widgets.adapt")

#: Callables exempt from every rule, with the reason (add ``qualname: reason``).
EXEMPT: dict = {
    "xai_widgets.methods.check_target": "the validator of the target rule: target is its input, not an option",
}

#: (callable, parameter) pairs exempt from rule (a) or (b), with the reason.
EXEMPT_PARAMS: dict = {}

#: (callable, parameter) pairs exempt from rule (e), with the reason.
SHARED_EXEMPT = {
    ("xai_widgets.data.one_hot_batches", "batch_size"):
        "strings per yielded batch of an encoder: no model runs, so the memory rule does not apply",
    ("xai_widgets.zoo.train", "batch_size"):
        "the SGD minibatch size: a training hyperparameter recorded in the model card, not a memory choice",
}

#: Callables whose ``random_state`` is a fixed int (tasks, training, widgets): their results are
#: shipped or shown, and must come out the same on every run.
FIXED_SEED_MODULES = ("xai_widgets.data.tasks", "xai_widgets.zoo.training")


def _public(module_name: str):
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name, obj in vars(module).items()
                 if not name.startswith("_") and getattr(obj, "__module__", None) == module_name
                 and (inspect.isfunction(obj) or inspect.isclass(obj))]
    for name in names:
        obj = getattr(module, name)
        if inspect.ismodule(obj) or not callable(obj):
            continue
        yield f"{module_name}.{name}", obj


def _exemption(obj) -> str | None:
    if inspect.isclass(obj):
        if dataclasses.is_dataclass(obj):
            return "dataclass result: fields documented under Attributes, built by the methods"
        if issubclass(obj, enum.Enum):
            return "enum"
        if "__init__" not in vars(obj) and not any("__init__" in vars(base) for base in obj.__mro__[1:]
                                                   if base not in (object, nn.Module)):
            return "no __init__ of its own"
    return None


CALLABLES = []
EXEMPTIONS = {}
for _module in MODULES:
    for _qualname, _obj in _public(_module):
        reason = EXEMPT.get(_qualname) or _exemption(_obj)
        if reason:
            EXEMPTIONS[_qualname] = reason
        else:
            CALLABLES.append((_qualname, _obj))
IDS = [name for name, _ in CALLABLES]


def _signature(obj) -> list[inspect.Parameter]:
    target = obj.__init__ if inspect.isclass(obj) else obj
    params = list(inspect.signature(target).parameters.values())
    if inspect.isclass(obj):
        params = params[1:]  # self
    return [p for p in params if p.kind not in (p.VAR_KEYWORD,)]


def _docstring(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj) and "Parameters\n---" not in doc:
        doc += "\n" + (inspect.getdoc(obj.__init__) or "")
    return doc


def parameter_entries(doc: str) -> dict[str, str]:
    """The numpydoc ``Parameters`` section as ``{name: header's type text + description}``."""
    lines = doc.splitlines()
    entries: dict[str, str] = {}
    try:
        start = next(i for i, line in enumerate(lines[:-1])
                     if line.strip() == "Parameters" and set(lines[i + 1].strip()) == {"-"})
    except StopIteration:
        return entries
    current: list[str] = []
    for i in range(start + 2, len(lines)):
        line = lines[i]
        if i + 1 < len(lines) and line.strip() and set(lines[i + 1].strip()) == {"-"} and not line.startswith(" "):
            break  # the next section
        if line and not line.startswith(" "):
            head, _, kind = line.partition(" : ")
            current = [n.strip().lstrip("*") for n in head.split(",")]
            for name in current:
                entries[name] = kind
        elif current:
            for name in current:
                entries[name] += "\n" + line.strip()
    return entries


def _renderings(value) -> set[str]:
    out = {repr(value), str(value)}
    if isinstance(value, str):
        out |= {f'"{value}"', f"``{value}``"}
    if isinstance(value, int) and not isinstance(value, bool):
        out.add(f"{value:,}")
    if isinstance(value, float):
        out |= {f"{value:g}", f"{value:.0e}".replace("e-0", "e-"), f"{value:,}"}
    if isinstance(value, tuple):
        out.add(str(list(value)))
    return out


def states_default(text: str, value, module=None) -> bool:
    """The entry says "default" or "optional" and shows the value: its repr (or str, or a
    usual spelling of a number), or the name of a constant of ``module`` that holds it."""
    if not re.search(r"\b(defaults?|optional)\b", text, re.IGNORECASE):
        return False
    if any(r in text for r in _renderings(value)):
        return True
    constants = [name for name, v in vars(module).items() if name.isupper() and v is value] if module else []
    return any(re.search(rf"\b{name}\b", text) for name in constants)


def _area(qualname: str) -> str:
    return qualname.split(".")[1] if qualname.count(".") >= 2 else "top"


@pytest.mark.parametrize("qualname, obj", CALLABLES, ids=IDS)
def test_at_most_two_positional(qualname, obj):
    positional = [p.name for p in _signature(obj)
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
                  and (qualname, p.name) not in EXEMPT_PARAMS]
    assert len(positional) <= 2, (f"{qualname}: parameters after {positional[:2]} must be keyword-only "
                                  f"(positional now: {positional})")


@pytest.mark.parametrize("qualname, obj", CALLABLES, ids=IDS)
def test_defaults_documented(qualname, obj):
    entries = parameter_entries(_docstring(obj))
    missing, unstated = [], []
    for p in _signature(obj):
        if p.default is p.empty or (qualname, p.name) in EXEMPT_PARAMS:
            continue
        if p.name not in entries:
            missing.append(p.name)
        elif not states_default(entries[p.name], p.default, inspect.getmodule(obj)):
            unstated.append(f"{p.name}={p.default!r}")
    assert not missing and not unstated, (f"{qualname}: not in the docstring's Parameters: {missing}; entry does not "
                                          f"state the default: {unstated}")


@pytest.mark.parametrize("qualname, obj", CALLABLES, ids=IDS)
def test_target_vocabulary(qualname, obj):
    params = {p.name: p for p in _signature(obj)}
    assert "targets" not in params, f"{qualname}: a parameter named 'targets' (outputs are 'target')"
    if "target" in params:
        assert params["target"].default is None, (f"{qualname}: target must default to None (the only output); "
                                                  f"got {params['target'].default!r}")


@pytest.mark.parametrize("qualname, obj", CALLABLES, ids=IDS)
def test_shared_defaults(qualname, obj):
    area = _area(qualname)
    widget = area == "widgets"
    params = {p.name: p.default for p in _signature(obj) if (qualname, p.name) not in SHARED_EXEMPT}
    wrong = []
    if "progress" in params and params["progress"] is not widget:
        wrong.append(f"progress={params['progress']!r} (expected {widget})")
    if "random_state" in params:
        fixed = widget or inspect.getmodule(obj).__name__ in FIXED_SEED_MODULES
        ok = (isinstance(params["random_state"], int) and not isinstance(params["random_state"], bool)) if fixed \
            else params["random_state"] is None
        if not ok:
            wrong.append(f"random_state={params['random_state']!r} (expected {'a fixed int' if fixed else None})")
    if "batch_size" in params and params["batch_size"] is not None:
        wrong.append(f"batch_size={params['batch_size']!r} (expected None: the memory rule)")
    if "device" in params and params["device"] != "auto":
        wrong.append(f"device={params['device']!r} (expected 'auto')")
    assert not wrong, f"{qualname}: {wrong}"


def test_walk_covers_the_api():
    """The walk finds the methods, the widgets and the plots (an empty walk would pass vacuously)."""
    names = set(IDS)
    for expected in ("xai_widgets.methods.saturation_mutagenesis", "xai_widgets.methods.tomtom_matches",
                     "xai_widgets.widgets.NucleotideFlipper", "xai_widgets.data.one_hot", "xai_widgets.zoo.load",
                     "xai_widgets.metrics.auroc", "xai_widgets.adapt.adapt"):
        assert expected in names
    assert len(names) > 100
    assert all(reason for reason in EXEMPTIONS.values())
    assert all(reason for reason in [*EXEMPT_PARAMS.values(), *SHARED_EXEMPT.values()])


def test_docstring_parser():
    doc = ("Summary.\n\nParameters\n----------\nmodel : nn.Module\n    The model.\nalpha, beta : float, default 0.5\n"
           "    Both.\nk : int, optional\n    Top k; default 3.\n\nReturns\n-------\nint\n")
    entries = parameter_entries(doc)
    assert set(entries) == {"model", "alpha", "beta", "k"}
    assert states_default(entries["alpha"], 0.5) and states_default(entries["k"], 3)
    assert not states_default(entries["k"], 4) and not states_default(entries["model"], None)


# --- the target rule and the result protocol, on a small two-output model ------------------------

def _two_output_model():
    import torch

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 30, 2))
    model.output_names = ("open", "bound")
    return model.eval()


def test_the_target_rule():
    from xai_widgets import methods
    from xai_widgets.methods._common import check_target

    from .helpers import random_one_hot

    model, X = _two_output_model(), random_one_hot(2, 30)
    assert check_target(None, 1) == 0 and check_target(-1, 3) == 2 and check_target("all", 3, allow_all=True) == "all"
    assert check_target("bound", 2, model=model) == 1
    for method in (methods.saturation_mutagenesis, methods.saliency, methods.gradient_x_input,
                   methods.integrated_gradients, methods.deep_lift_shap, methods.occlusion):
        with pytest.raises(ValueError, match=r"2 outputs \(0: 'open', 1: 'bound'\): pass target=<index or name>"):
            method(model, X, device="cpu")
    with pytest.raises(ValueError, match='target="all" is not available'):
        methods.saliency(model, X, target="all", device="cpu")
    with pytest.raises(ValueError, match="not an output name"):
        methods.saliency(model, X, target="closed", device="cpu")
    every = methods.saturation_mutagenesis(model, X, target="all", device="cpu")
    one = methods.saturation_mutagenesis(model, X, target="bound", device="cpu")
    assert every.delta.shape == (2, 2, 4, 30) and every.values.shape == (2, 2, 4, 30) and one.target == 1
    assert every.per_position().shape == (2, 2, 30)
    assert ((every.delta[:, 1] - one.delta).abs().max() < 1e-5
            and (every.prediction[:, 1] - one.prediction).abs().max() < 1e-6)
    assert methods.predict_edits(model, X, edits=[(0, 3, "A")], target="all", device="cpu").shape == (1, 2)


def test_attribution_results_share_one_protocol():
    import torch

    from xai_widgets import methods

    from .helpers import random_one_hot

    model, X = _two_output_model(), random_one_hot(2, 30)
    results = {"ism": methods.saturation_mutagenesis(model, X, target=1, device="cpu"),
               "saliency": methods.saliency(model, X, target=1, device="cpu"),
               "gradient_x_input": methods.gradient_x_input(model, X, target=1, device="cpu"),
               "integrated_gradients": methods.integrated_gradients(model, X, target=1, n_steps=4, device="cpu"),
               "deep_lift_shap": methods.deep_lift_shap(model, X, target=1, n_shuffles=2, random_state=0, device="cpu"),
               "occlusion": methods.occlusion(model, X, target=1, window=5, fill="zeros", device="cpu")}
    for name, result in results.items():
        assert isinstance(result, methods.AttributionResult), name
        assert result.method == name and result.target == 1 and result.X is X
        assert result.values.shape == (2, 4, 30) and result.per_position().shape == (2, 30)
    ism = results["ism"]  # values: the mean-centred delta at the observed base
    torch.testing.assert_close(ism.values, (ism.delta - ism.delta.mean(1, keepdim=True)) * X)
    torch.testing.assert_close(ism.per_position(), ism.values.sum(1))
    occ = results["occlusion"]  # values: the per-position change at the observed base
    torch.testing.assert_close(occ.values.sum(1), occ.per_position())
    assert not isinstance(object(), methods.AttributionResult)


def test_a_positional_option_names_the_call_and_the_parameters():
    """Issue 25: a keyword-only option passed by position names the function, its positional
    parameters and what to do, as Python itself does (not the bare "too many positional arguments"
    of ``inspect.Signature.bind``); other binding errors name the function too."""
    import re

    import pytest
    import torch

    from xai_widgets import methods

    model = torch.nn.Sequential(torch.nn.Conv1d(4, 2, 3), torch.nn.Flatten(), torch.nn.LazyLinear(1))
    X = torch.eye(4)[torch.arange(12) % 4].T[None]
    with pytest.raises(TypeError, match=re.escape("saturation_mutagenesis() takes 2 positional arguments (model, X) "
                                                  "but 3 were given; the options after them are keyword-only")):
        methods.saturation_mutagenesis(model, X, 0)
    with pytest.raises(TypeError, match=r"^global_importance\(\): missing a required argument: 'insertions'"):
        methods.global_importance(model, X, motif="ACG")
