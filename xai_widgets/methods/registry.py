"""One registry of attribution methods: the list that every menu, check and store reads.

Each attribution method is one :class:`AttributionMethod` entry, registered under one name (the
``.method`` its results carry): the function, a label for menus, a typed applicability check,
whether its map is already multiplied by the input, whether it has a summation (convergence)
gap, and the options the widgets use for interactive speed. :func:`~.capabilities.capabilities`,
:func:`~.diagnostics.diagnose`, :func:`~.variants.explain_variant`,
:func:`~.atscale.attribute_to_store` and the widgets' method menus (NucleotideFlipper,
VariantExplorer, and the flipper inside MotifDiscovery) read this registry and nothing else, so
a method registered here appears in all of them.

==========================  ======================  ==============================  ==================
name                        function                multiplies by the input         convergence gap
==========================  ======================  ==============================  ==================
``"ism"``                   saturation_mutagenesis  yes: the observed base's        no
                                                    mean-centred change
``"occlusion"``             occlusion               yes: the window's change        no
``"saliency"``              saliency                no: the gradient of every base  no
``"gradient_x_input"``      gradient_x_input        yes                             no
``"integrated_gradients"``  integrated_gradients    yes: ``x - baseline``           yes (completeness)
``"deep_lift_shap"``        deep_lift_shap          yes                             yes (summation)
==========================  ======================  ==============================  ==================

All apply to any model mapping ``(N, 4, L)`` to ``(N, T)`` except DeepLIFT, whose check is
:func:`~.deeplift.deeplift_support` (its rules must cover every nonlinearity).

Occlusion is registered with ``interactive=False``: its map is a window's prediction change
(occluded minus original, the opposite sign of a contribution) spread over the window, so it is
not offered in the widgets' menus nor ranked against ISM by ``diagnose``; the store and
``explain_variant`` take it.

A method of your own is a function ``f(model, X, *, target, ...)`` returning an object with
``.values`` of shape ``(N, 4, L)`` (:class:`~.results.AttributionResult`); register it with
:func:`register_method`. The old spelling ``"saturation_mutagenesis"`` of ``"ism"`` is a
deprecated alias: it still works and warns (``FutureWarning``).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from .deeplift import deep_lift_shap, deeplift_support
from .gradients import gradient_x_input, integrated_gradients, saliency
from .ism import occlusion, saturation_mutagenesis

#: Deprecated spellings and the name they stand for (each use warns with a FutureWarning).
DEPRECATED_ALIASES = {"saturation_mutagenesis": "ism"}


@dataclass(frozen=True)
class Applicability:
    """Whether a method applies to a model: the answer of an :class:`AttributionMethod`'s check.

    Attributes
    ----------
    applies : bool
        True when the method's result is right for this model.
    reason : str
        Why not (naming the layer and what to change); ``""`` when it applies.
    checked : bool
        False when the answer could not be checked (``"unknown: ..."``, e.g. a model that can
        neither be traced nor run without example input); ``applies`` is then False.

    ``str(answer)`` is the answer as :func:`~.capabilities.capabilities` gives it: ``"yes"``,
    ``"no: <reason>"`` or ``"unknown: <reason>"``; ``bool(answer)`` is ``applies``.
    """

    applies: bool
    reason: str = ""
    checked: bool = True

    def __post_init__(self):
        if self.applies and (self.reason or not self.checked):
            raise ValueError("an Applicability that applies has no reason and is checked")
        if not self.applies and not self.reason:
            raise ValueError("an Applicability that does not apply needs a reason (what to change)")

    def __bool__(self) -> bool:
        return self.applies

    def __str__(self) -> str:
        if self.applies:
            return "yes"
        return f"{'no' if self.checked else 'unknown'}: {self.reason}"

    @classmethod
    def from_answer(cls, answer: str) -> Applicability:
        """Parse a ``"yes"`` / ``"no: ..."`` / ``"unknown: ..."`` answer (e.g. of
        :func:`~.deeplift.deeplift_support`); ValueError for anything else."""
        if answer == "yes":
            return cls(True)
        kind, sep, reason = str(answer).partition(": ")
        if sep and kind in ("no", "unknown") and reason:
            return cls(False, reason, checked=kind == "no")
        raise ValueError(f"an applicability answer is 'yes', 'no: <reason>' or 'unknown: <reason>'; got {answer!r}")


APPLIES = Applicability(True)


def always_applies(model: nn.Module, X=None) -> Applicability:
    """The check of a method that applies to any model mapping ``(N, 4, L)`` to ``(N, T)``."""
    return APPLIES


def _deeplift_applies(model: nn.Module, X=None) -> Applicability:
    return Applicability.from_answer(deeplift_support(model, X))


def _ism_hypothetical(result) -> torch.Tensor:
    return result.centred()


def _deeplift_hypothetical(result) -> torch.Tensor:
    return result.hypothetical


@dataclass(frozen=True)
class AttributionMethod:
    """One entry of the registry (:func:`register_method` builds it; :func:`get_method` reads it).

    Attributes
    ----------
    name : str
        The one spelling, the ``.method`` its results carry.
    function : callable
        ``function(model, X, *, target, ...)`` returning an object with ``.values``
        ``(N, 4, L)``.
    label : str
        How menus name it.
    applicability : callable
        ``applicability(model, X)`` (``X`` may be None) returning an :class:`Applicability`.
    multiplies_by_input : bool
        True when ``.values`` is already a map at the observed bases (times the one-hot input,
        or ``x - baseline``), so one score per position is ``values.sum(1)``; False for saliency,
        whose ``.values`` is the gradient at every base, scored ``(values * X).sum(1)``.
    has_convergence_gap : bool
        True when the contributions should add up to a prediction difference and may miss it
        (integrated gradients' completeness gap, DeepLIFT's summation gap).
    defaults : dict
        Options the widgets pass for interactive speed (e.g. integrated gradients' ``n_steps``,
        DeepSHAP's ``n_shuffles``); the function's own defaults apply elsewhere. Read, do not
        modify (copy it: ``dict(entry.defaults)``).
    hypothetical : callable or None
        ``hypothetical(result)``: the map of every base, ``(N, 4, L)``, that the Zarr store keeps
        beside ``values`` (DeepSHAP's hypothetical contributions, ISM's mean-centred deltas);
        None: ``values`` itself.
    interactive : bool
        Offered in the widgets' method menus and ranked against ISM by ``diagnose``.
    """

    name: str
    function: Callable
    label: str
    applicability: Callable = always_applies
    multiplies_by_input: bool = True
    has_convergence_gap: bool = False
    defaults: dict = field(default_factory=dict)
    hypothetical: Callable | None = None
    interactive: bool = True

    def applies_to(self, model: nn.Module, X=None) -> Applicability:
        """The entry's check on ``model`` (and example sequences ``X``, if given); TypeError if the
        check does not return an :class:`Applicability`."""
        answer = self.applicability(model, X)
        if not isinstance(answer, Applicability):
            raise TypeError(f"the applicability check of {self.name!r} must return an Applicability; got "
                            f"{type(answer).__name__}")
        return answer

    def accepts(self, option: str) -> bool:
        """Whether :attr:`function` takes the keyword ``option`` (or any keyword)."""
        parameters = inspect.signature(self.function).parameters
        return option in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())

    def run(self, model: nn.Module, X: torch.Tensor, *, target=None, options: dict | None = None,
            batch_size: int | None = None, device="auto", random_state=None):
        """Call :attr:`function` on ``(model, X)`` and check its result.

        ``target`` is always passed; ``device``, and ``batch_size`` and ``random_state`` when not
        None, are passed when the function takes them; ``options`` (keyword arguments of the
        function) come last and win.

        Parameters
        ----------
        model : torch.nn.Module
        X : torch.Tensor, shape (N, 4, L)
        target : int, str or None, optional
            Default None: the model's only output.
        options : dict, optional
            Default None: none.
        batch_size : int or None, optional
            Default None: the function's own (the memory rule).
        device : str or torch.device, optional
            Default ``"auto"``.
        random_state : int or None, optional
            Default None: the function's own.

        Returns
        -------
        object
            The function's result, whose ``.values`` has the shape of ``X``.

        Raises
        ------
        TypeError
            If the result has no tensor ``.values``.
        ValueError
            If ``.values`` does not have the shape of ``X``.
        """
        kwargs = {"target": target}
        for key, value in (("device", device), ("batch_size", batch_size), ("random_state", random_state)):
            if (value is not None or key == "device") and self.accepts(key):
                kwargs[key] = value
        kwargs.update(options or {})
        result = self.function(model, X, **kwargs)
        values = getattr(result, "values", None)
        if not isinstance(values, torch.Tensor):
            raise TypeError(f"attribution method {self.name!r} returned {type(result).__name__} without a tensor "
                            "`.values`; an attribution method returns an object with .values of shape (N, 4, L)")
        if tuple(values.shape) != tuple(X.shape):
            raise ValueError(f"attribution method {self.name!r} returned .values of shape {tuple(values.shape)}; "
                             f"expected the shape of X, {tuple(X.shape)}")
        return result

    def per_position(self, values: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """One score per position, ``(..., L)``, from a map ``values`` ``(..., 4, L)`` of ``X``:
        the sum over bases, of ``values * X`` when the method does not multiply by the input."""
        return (values if self.multiplies_by_input else values * X).sum(-2)

    def hypothetical_of(self, result) -> torch.Tensor:
        """:attr:`hypothetical` of ``result``, or ``result.values`` when the entry has none."""
        return result.values if self.hypothetical is None else self.hypothetical(result)


_REGISTRY: dict[str, AttributionMethod] = {}


def _takes_model_x_target(function) -> bool:
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return True  # a builtin without a signature: trust it
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    keyword = any(p.name == "target" and p.kind is not p.POSITIONAL_ONLY for p in parameters)
    return (len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in parameters)) and (
        keyword or any(p.kind is p.VAR_KEYWORD for p in parameters))


def register_method(name: str, function: Callable, *, label: str | None = None, applicability: Callable | None = None,
                    multiplies_by_input: bool = True, has_convergence_gap: bool = False, defaults: dict | None = None,
                    hypothetical: Callable | None = None, interactive: bool = True,
                    replace: bool = False) -> AttributionMethod:
    """Register an attribution method: it then appears in every menu, check and store.

    After ``register_method("mine", f)``, ``"mine"`` is offered in the NucleotideFlipper's and the
    VariantExplorer's method menus (where its check applies), reported by
    :func:`~xai_widgets.methods.capabilities`, ranked against ISM by
    :func:`~xai_widgets.methods.diagnose`, and accepted by
    :func:`~xai_widgets.methods.explain_variant` and
    :func:`~xai_widgets.methods.attribute_to_store`.

    Parameters
    ----------
    name : str
        The method's one spelling (a Python identifier, e.g. ``"smoothgrad"``); best the
        ``.method`` its results carry.
    function : callable
        ``function(model, X, *, target, ...)`` returning an object with ``.values`` of shape
        ``(N, 4, L)`` (:class:`~xai_widgets.methods.AttributionResult`). ``target`` is an output
        index; ``device``, ``batch_size`` and ``random_state`` are passed when it takes them.
    label : str, optional
        Default None: ``name``. How menus name the method.
    applicability : callable, optional
        Default None: it applies to every model. ``applicability(model, X)`` (``X`` may be None)
        returning an :class:`Applicability`, ``Applicability(False, "why, and what to change")``
        where the method's result would be wrong.
    multiplies_by_input : bool, optional
        Default True: ``.values`` is a map at the observed bases (a contribution), scored per
        position as ``values.sum(1)``. False for a gradient-like map of every base, scored
        ``(values * X).sum(1)``.
    has_convergence_gap : bool, optional
        Default False. True when the contributions should add up to a prediction difference
        (integrated gradients, DeepLIFT).
    defaults : dict, optional
        Default None: none. Options the widgets pass for interactive speed.
    hypothetical : callable, optional
        Default None: ``.values``. ``hypothetical(result)``, the ``(N, 4, L)`` map of every base
        the Zarr store keeps beside ``values``.
    interactive : bool, optional
        Default True: offered in the widgets' menus and ranked against ISM by ``diagnose``.
    replace : bool, optional
        Default False: a name already registered raises. True replaces that entry.

    Returns
    -------
    AttributionMethod
        The new entry.

    Raises
    ------
    ValueError
        For a name that is not an identifier, already registered (without ``replace=True``) or
        a deprecated alias.
    TypeError
        If ``function`` is not ``f(model, X, *, target, ...)`` or a check is not callable.

    Examples
    --------
    >>> from xai_widgets import methods
    >>> def gradient_sign(model, X, *, target=None, device="auto"):
    ...     result = methods.saliency(model, X, target=target, device=device)
    ...     return methods.Attribution(result.values.sign() * X, X, "gradient_sign", result.target)
    >>> entry = methods.register_method("gradient_sign", gradient_sign, label="sign of the gradient")
    >>> "gradient_sign" in methods.method_names()
    True
    >>> _ = methods.unregister_method("gradient_sign")
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a method name is a Python identifier such as 'smoothgrad'; got {name!r}")
    if name in DEPRECATED_ALIASES:
        raise ValueError(f"{name!r} is a deprecated spelling of {DEPRECATED_ALIASES[name]!r}; choose another name")
    if name in _REGISTRY and not replace:
        raise ValueError(f"an attribution method {name!r} is registered already; pass replace=True to replace it")
    if not callable(function) or not _takes_model_x_target(function):
        raise TypeError(f"an attribution method is a function f(model, X, *, target, ...); got {function!r}")
    for what, check in (("applicability", applicability), ("hypothetical", hypothetical)):
        if check is not None and not callable(check):
            raise TypeError(f"{what} must be callable or None; got {check!r}")
    if defaults is not None and not isinstance(defaults, dict):
        raise TypeError(f"defaults must be a dict of keyword options or None; got {type(defaults).__name__}")
    entry = AttributionMethod(name, function, label or name, applicability or always_applies,
                              bool(multiplies_by_input), bool(has_convergence_gap), dict(defaults or {}),
                              hypothetical, bool(interactive))
    _REGISTRY[name] = entry
    return entry


def unregister_method(name: str) -> AttributionMethod:
    """Remove a method from the registry (built-in ones too) and return its entry.

    Parameters
    ----------
    name : str
        A registered name.

    Returns
    -------
    AttributionMethod

    Raises
    ------
    ValueError
        If ``name`` is not registered (the message lists the registered names).
    """
    return _REGISTRY.pop(get_method(name).name)


def get_method(name: str) -> AttributionMethod:
    """The registry's entry for ``name``.

    Parameters
    ----------
    name : str
        A registered name (:func:`method_names`). A deprecated spelling
        (:data:`DEPRECATED_ALIASES`: ``"saturation_mutagenesis"``) gives its method and warns.

    Returns
    -------
    AttributionMethod

    Raises
    ------
    ValueError
        If ``name`` is not registered; the message lists the registered names.

    Warns
    -----
    FutureWarning
        For a deprecated spelling.
    """
    if isinstance(name, str) and name in DEPRECATED_ALIASES and name not in _REGISTRY:
        warnings.warn(f"the attribution method {name!r} is now spelled {DEPRECATED_ALIASES[name]!r}; the old "
                      "spelling will be removed", FutureWarning, stacklevel=2)
        name = DEPRECATED_ALIASES[name]
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"method must be one of the registered attribution methods {list(_REGISTRY)}; got {name!r} "
                         "(register a method of your own with methods.register_method)")
    return _REGISTRY[name]


def method_names(*, interactive: bool = False) -> tuple[str, ...]:
    """The registered attribution methods' names, in registration order.

    Parameters
    ----------
    interactive : bool, optional
        Default False: every method. True: only those the widgets offer in their menus.

    Returns
    -------
    tuple of str
    """
    return tuple(name for name, entry in _REGISTRY.items() if entry.interactive or not interactive)


# --- the built-in methods ----------------------------------------------------------------------

register_method("ism", saturation_mutagenesis, label="ISM (centred)", hypothetical=_ism_hypothetical)
register_method("occlusion", occlusion, label="occlusion (windows)", defaults={"random_state": 0}, interactive=False)
register_method("saliency", saliency, label="saliency (gradient)", multiplies_by_input=False)
register_method("gradient_x_input", gradient_x_input, label="gradient x input")
register_method("integrated_gradients", integrated_gradients, label="integrated gradients", has_convergence_gap=True,
                defaults={"baseline": "shuffle", "n_baselines": 4, "n_steps": 16, "random_state": 0})
register_method("deep_lift_shap", deep_lift_shap, label="DeepSHAP", applicability=_deeplift_applies,
                has_convergence_gap=True, hypothetical=_deeplift_hypothetical,
                defaults={"n_shuffles": 10, "random_state": 0})
