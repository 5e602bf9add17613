"""Input checks and model plumbing shared by every method.

Every public method over ``(model, X)`` is wrapped by :func:`model_method`, which

- casts a floating ``X`` to the model's floating dtype (float64 sequences work with a float32
  model and the other way round),
- accepts the ``N`` columns that :func:`xai_widgets.data.one_hot` writes (all-zero or all-0.25),
- computes with the model in eval mode and leaves the model as it found it: each module's
  training flag, the device of its parameters and buffers, and each parameter's
  ``requires_grad`` are restored when the method returns or raises,
- runs under the package's thread policy (:func:`xai_widgets.thread_policy`): fewer torch
  threads while other processes keep the CPU cores busy, torch's thread count restored
  afterwards (``xai_widgets.set_thread_policy("off")`` or ``XAI_WIDGETS_THREADS=off`` to
  turn it off).

``target`` follows one rule everywhere (:func:`check_target`): None (every method's default)
is the model's only output and raises for a multi-output model, naming its outputs; an int or
an output name picks one; ``"all"`` asks for every output where a method returns them all.

Default batch sizes follow one memory rule (:func:`resolve_batch_size`): a batch holds as many
items as fit :data:`MEMORY_BUDGET_BYTES` given the activations one item needs in this model at
this input length (measured once per model and shape with forward hooks on a single sequence).
"""

from __future__ import annotations

import functools
import inspect

import numpy as np
import torch
from torch import nn

from .._core import as_model_input, preserved_state, resolve_device, thread_policy
from ..contract import output_names
from ..data.encoding import check_one_hot

#: The ``target`` of methods that return every output by design (:func:`check_target`).
ALL = "all"


def target_index(model: nn.Module, target):
    """``target`` as an output index: a name is looked up in the model's output names
    (:func:`xai_widgets.contract.output_names`; for a model without names, ``"0"``, ``"1"``...);
    ``None``,
    ``"all"`` and other values are returned unchanged (checked later by :func:`check_target`)."""
    if not isinstance(target, str) or target == ALL:
        return target
    names = output_names(model)
    if not names and target.isdigit():
        return int(target)  # the fallback names of output_names(): "0", "1", ...
    if not names:
        raise ValueError(f"target {target!r} is not an output name of the model: it declares no output names; pass "
                         "an index, or give the model an output_names attribute (or wrap it with "
                         "xai_widgets.adapt.adapt(model, output_names=[...]))")
    if target not in names:
        raise ValueError(f"target {target!r} is not an output name of the model; its outputs are {names}")
    return names.index(target)


def model_method(func):
    """Decorator for public methods ``func(model, X, ...)``: see the module docstring. A ``target``
    given as an output name becomes its index (:func:`target_index`)."""
    signature = inspect.signature(func)
    names = list(signature.parameters)

    positional = [p.name for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:  # name the call and the parameter, as Python itself does
            if len(args) > len(positional):
                extra = [p for p in signature.parameters.values() if p.kind == p.KEYWORD_ONLY]
                hint = (f"; the options after them are keyword-only: pass them by name (e.g. {extra[0].name}=...)"
                        if extra else "")
                raise TypeError(f"{func.__qualname__}() takes {len(positional)} positional argument"
                                f"{'s' if len(positional) != 1 else ''} ({', '.join(positional)}) but "
                                f"{len(args)} were given{hint}") from None
            raise TypeError(f"{func.__qualname__}(): {error}") from None
        model = bound.arguments.get(names[0])
        if isinstance(model, nn.Module):
            if len(names) > 1 and names[1] in bound.arguments:
                bound.arguments[names[1]] = as_model_input(model, bound.arguments[names[1]])
            if "target" in bound.arguments:
                bound.arguments["target"] = target_index(model, bound.arguments["target"])
            with preserved_state(model), thread_policy():
                return func(*bound.args, **bound.kwargs)
        with thread_policy():
            return func(*bound.args, **bound.kwargs)

    return wrapper


def prepare(model: nn.Module, X: torch.Tensor, device, batch_size: int | None, probe: bool = True):
    """Validate ``X`` and ``batch_size`` (None: the memory rule decides later), move the model
    to ``device`` in eval mode.

    ``X`` may hold ``N`` columns (all-zero or all-0.25). With ``probe=False`` no forward pass
    is made (the caller checks its own first output with :func:`check_output`) and the number
    of outputs is returned as None. Callers restore the model's state through
    :func:`model_method`.

    Returns
    -------
    (torch.device, int or None)
        The device and the model's number of outputs ``T`` (from one forward pass).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    check_one_hot(X, allow_unknown=True)
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer (or None for the memory rule); got {batch_size!r}")
    device = resolve_device(device)
    model.eval().to(device)
    if not probe:
        return device, None
    with torch.no_grad():
        out = model(X[:1].to(device))
    return device, check_output(out, 1)


def check_output(out, n_sequences: int) -> int:
    """Check that a model output is ``(n_sequences, T)``; return ``T``."""
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != n_sequences:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        hint = (" (a tuple or dict of heads, or a profile output: wrap the model with "
                "xai_widgets.adapt() to choose a head and a reduction)")
        raise ValueError(f"the model must map (N, 4, L) to (N, T); for {n_sequences} sequence(s) it returned "
                         f"{shape}{hint}")
    return out.shape[1]


def check_target(target, n_outputs: int, *, model: nn.Module | None = None, allow_all: bool = False):
    """Validate ``target`` against the model's ``n_outputs``: the one rule of the package.

    ``target`` always means a model output:

    - ``None`` (every method's default): the model's only output; a model with several outputs
      raises ValueError naming them, so that a multi-output model never gets explained for an
      output nobody chose (as captum);
    - an int index (negative counts from the end) or an output name
      (:func:`xai_widgets.contract.output_names`);
    - ``"all"``: every output, only for methods that return all outputs by design
      (``allow_all=True``; e.g. :func:`.ism.saturation_mutagenesis`).

    Parameters
    ----------
    target : int, str or None
        As given by the user.
    n_outputs : int
        The model's number of outputs ``T``.
    model : torch.nn.Module, optional
        Default None. When given, output names are resolved and named in error messages.
    allow_all : bool, optional
        Default False. Whether ``target="all"`` is accepted.

    Returns
    -------
    int or "all"
        The output index in ``0..T-1``, or ``"all"``.

    Raises
    ------
    ValueError
        ``None`` for a multi-output model, an index out of range, an unknown name, or ``"all"``
        where the method explains one output.
    TypeError
        A target that is neither an int nor a str.
    """
    if model is not None:
        target = target_index(model, target)
    declared = output_names(model) if model is not None else None
    names = declared if declared and len(declared) == n_outputs else None
    if target is None:
        if n_outputs == 1:
            return 0
        listed = (", ".join(f"{i}: {name!r}" for i, name in enumerate(names)) if names
                  else f"indices 0..{n_outputs - 1}")
        hint = ', or target="all" for every output' if allow_all else ""
        raise ValueError(f"the model has {n_outputs} outputs ({listed}): pass target=<index or name>{hint}")
    if isinstance(target, str) and target == ALL:
        if allow_all:
            return ALL
        raise ValueError('target="all" is not available here: this method explains one output; pass '
                         "target=<index or name>")
    if isinstance(target, str):
        raise ValueError(f"target {target!r} is not an output name of the model; its outputs are "
                         f"{names or tuple(str(i) for i in range(n_outputs))}")
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise TypeError(f"target must be an int index or an output name; got {target!r}")
    if not -n_outputs <= target < n_outputs:
        raise ValueError(f"target {target} is out of range: the model has {n_outputs} output(s)")
    return int(target) % n_outputs
