"""Device selection, model-state hygiene, the memory rule, the thread policy and batched
prediction, shared by the models and methods; and the one way a public keyword is renamed
(:func:`renamed_keywords`)."""

from __future__ import annotations

import functools
import os
import threading
import time
import warnings
import weakref
from contextlib import contextmanager

import torch
from torch import nn

from .data.encoding import check_one_hot


def renamed_keywords(**renamed: str):
    """Decorator: keyword ``old`` still works for ``new`` (``renamed_keywords(old="new")``), with a
    ``FutureWarning`` naming the new one; giving both raises ``TypeError``. The signature shown
    (``inspect.signature``) is the new one."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for old, new in renamed.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{function.__name__}() got both {old}= (deprecated) and {new}=")
                    warnings.warn(f"{function.__name__}({old}=...) is deprecated; use {new}=", FutureWarning,
                                  stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return wrapper

    return decorate


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Turn ``"auto"`` (or None) into CUDA when available, else CPU; pass others through.

    Parameters
    ----------
    device : str, torch.device or None, optional
        Default ``"auto"``: CUDA when available, else the CPU; else ``"cpu"``, ``"cuda:0"``...

    Raises
    ------
    ValueError
        When CUDA is asked for explicitly but not available.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but CUDA is not available; use device='auto' or 'cpu'")
    return device


#: Memory a method's batches may use for activations, in bytes (256 MiB). Default batch sizes
#: are this budget divided by the bytes one item needs (see :func:`resolve_batch_size`); pass
#: ``batch_size=`` to any method to override it.
MEMORY_BUDGET_BYTES = 256 * 2**20

#: Multiplier on the forward activations for methods that also run a backward pass
#: (gradients are kept for every activation, plus autograd's saved tensors).
BACKWARD_FACTOR = 3

_MAX_BATCH = 4096


def model_dtype(model: nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating parameter or buffer (None if it has none)."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return None


def as_model_input(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """``X`` cast to the model's floating dtype (unchanged when it already matches or is not a tensor)."""
    dtype = model_dtype(model) if isinstance(model, nn.Module) else None
    if isinstance(X, torch.Tensor) and X.is_floating_point() and dtype is not None and X.dtype != dtype:
        return X.to(dtype)
    return X


@contextmanager
def preserved_state(model: nn.Module):
    """Restore, on exit, every module's training flag, the parameters' and buffers' devices and
    the parameters' ``requires_grad``, whatever the body did to them."""
    modes = [(module, module.training) for module in model.modules()]
    params = [(p, p.device, p.requires_grad) for p in model.parameters()]
    buffers = [(b, b.device) for b in model.buffers()]
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode
        moved = ([p for p, device, _ in params if p.device != device]
                 + [b for b, device in buffers if b.device != device])
        if moved:
            devices = {device for _, device, _ in params} | {device for _, device in buffers}
            if len(devices) == 1:
                model.to(devices.pop())
            else:  # a model spread over devices: put each tensor back where it was
                for p, device, _ in params:
                    p.data = p.data.to(device)
                for b, device in buffers:
                    b.data = b.data.to(device)
        for p, _, requires_grad in params:
            p.requires_grad_(requires_grad)


# the memory rule for default batch sizes

_ACTIVATION_BYTES: weakref.WeakKeyDictionary[nn.Module, dict] = weakref.WeakKeyDictionary()


def activation_bytes(model: nn.Module, X: torch.Tensor, device) -> dict:
    """Bytes of activations one sequence of ``X``'s length needs, measured with forward hooks.

    Returns ``{"total": bytes over every leaf module's output (and the input),
    "per_module": {module: (bytes of its output, length of its last axis)}}`` for a single
    sequence; cached per model, length, dtype and device.
    """
    key = (X.shape[2], X.dtype, str(device))
    cache = _ACTIVATION_BYTES.setdefault(model, {})
    if key in cache:
        return cache[key]
    per_module: dict = {}

    def hook(module, inputs, output):
        outputs = [o for o in (output if isinstance(output, (tuple, list)) else (output,))
                   if isinstance(o, torch.Tensor)]
        size = sum(o.numel() * o.element_size() for o in outputs)
        length = outputs[0].shape[-1] if outputs and outputs[0].ndim else 1
        previous = per_module.get(module, (0, length))[0]
        per_module[module] = (previous + size, length)

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            model(X[:1].to(device))
    finally:
        for handle in handles:
            handle.remove()
    total = X[:1].numel() * X.element_size() + sum(size for size, _ in per_module.values())
    cache[key] = {"total": total, "per_module": per_module}
    return cache[key]


def resolve_batch_size(batch_size, model: nn.Module, X: torch.Tensor, device, *, backward: bool = False,
                       per_item_bytes: int | None = None) -> int:
    """``batch_size`` itself, or (when None) the number of items that fit the memory budget.

    Parameters
    ----------
    batch_size : int or None
        Given by the user: returned unchanged (validated later by :func:`prepare`).
    model, X, device
        The model and the sequences a method runs on.
    backward : bool
        The method also runs a backward pass (costs :data:`BACKWARD_FACTOR` times the forward
        activations).
    per_item_bytes : int, optional
        The bytes one item needs when a method knows better than a whole forward pass (fast
        ISM's edits); else the activations of one sequence, measured by :func:`activation_bytes`.

    Returns
    -------
    int
        ``clip(MEMORY_BUDGET_BYTES // per_item_bytes, 1, 4096)``.
    """
    if batch_size is not None:
        return batch_size
    if per_item_bytes is None:
        with preserved_state(model):
            model.eval().to(device)
            per_item_bytes = activation_bytes(model, X, device)["total"]
        if backward:
            per_item_bytes *= BACKWARD_FACTOR
    return int(max(1, min(_MAX_BATCH, MEMORY_BUDGET_BYTES // max(per_item_bytes, 1))))


@torch.no_grad()
def predict(model: nn.Module, X: torch.Tensor, *, batch_size: int | None = None, device="auto") -> torch.Tensor:
    """Model outputs for one-hot ``X (N, 4, L)`` in eval mode, batched; returns ``(N, T)`` on CPU.

    ``X`` may hold ``N`` columns (all-zero or all-0.25, as :func:`xai_widgets.data.one_hot`
    writes them) and any floating dtype: it is cast to the model's dtype. The model computes in
    eval mode on ``device``; its training flags, device and ``requires_grad`` are restored
    afterwards (:func:`preserved_state`). It runs under the thread policy (:func:`thread_policy`).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences.
    batch_size : int or None, optional
        Sequences per forward pass; default None: from the memory rule (:func:`resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.

    Returns
    -------
    torch.Tensor, shape (N, T)
        float32, on the CPU.

    Raises
    ------
    ValueError
        If ``X`` is not one-hot ``(N, 4, L)`` or the model does not return ``(N, T)``.
    """
    check_one_hot(X, allow_unknown=True)
    device = resolve_device(device)
    X = as_model_input(model, X)
    with preserved_state(model), thread_policy():
        model.eval().to(device)
        batch_size = resolve_batch_size(batch_size, model, X, device)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {batch_size}")
        outputs = []
        for start in range(0, X.shape[0], batch_size):
            batch = X[start : start + batch_size].to(device)
            out = model(batch)
            if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != batch.shape[0]:
                shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                raise ValueError(f"the model must map (N, 4, L) to (N, T); it returned {shape} for input "
                                 f"{tuple(batch.shape)} (wrap tuple/dict or profile outputs with "
                                 "xai_widgets.adapt())")
            outputs.append(out.float().cpu())
        return torch.cat(outputs)


# the thread policy for oversubscribed CPUs

#: Environment variable read by :func:`thread_policy` when :func:`set_thread_policy` has not
#: been called: ``auto`` (the default), ``off``, or a positive integer (that many torch threads).
THREADS_ENV = "XAI_WIDGETS_THREADS"

_POLICY_SETTING: str | int | None = None  # set_thread_policy(); None: the environment decides
_POLICY_LOCAL = threading.local()  # .depth: nested policy scopes in this thread
_POLICY_BROKEN = False  # torch refused a thread count (native parallel backend): auto does nothing


def _check_policy(policy, origin: str):
    if isinstance(policy, str) and policy.strip().lower() in ("auto", "off"):
        return policy.strip().lower()
    if isinstance(policy, str) and policy.strip().isdigit():
        policy = int(policy)
    if isinstance(policy, int) and not isinstance(policy, bool) and policy >= 1:
        return policy
    raise ValueError(f"{origin} must be 'auto', 'off' or a positive integer (torch threads); got {policy!r}")


def set_thread_policy(policy="auto"):
    """Set the package's thread policy (see :func:`thread_policy`); returns the previous setting.

    Parameters
    ----------
    policy : str, int or None, optional
        Default ``"auto"``: fewer torch threads while other processes keep the cores busy.
        ``"off"``: never change torch's thread count. A positive int: every method runs at
        exactly that many torch threads. None: back to the environment variable
        :data:`THREADS_ENV` (``XAI_WIDGETS_THREADS``; ``auto`` when unset).

    Returns
    -------
    str, int or None
        The setting before this call (None: it came from the environment).

    Raises
    ------
    ValueError
        For any other value.
    """
    global _POLICY_SETTING
    previous = _POLICY_SETTING
    _POLICY_SETTING = None if policy is None else _check_policy(policy, "policy")
    return previous


def _current_policy():
    if _POLICY_SETTING is not None:
        return _POLICY_SETTING
    return _check_policy(os.environ.get(THREADS_ENV, "auto") or "auto", f"the environment variable {THREADS_ENV}")


def _own_running_tasks() -> int:
    """Threads of this process in state R (running or runnable), from ``/proc/self/task``."""
    running = 0
    for task in os.scandir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        running += stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] == b"R"
    return running


def _runnable_total() -> int:
    """Runnable tasks on the machine now, this reader included: the 4th field of ``/proc/loadavg``
    (``runnable/total``)."""
    with open("/proc/loadavg", "rb") as f:
        return int(f.read().split()[3].split(b"/")[0])


def other_runnable(samples: int = 3, gap: float = 0.001) -> int | None:
    """Runnable tasks of other processes right now: ``/proc/loadavg``'s runnable count minus this
    process's own running threads, the least of ``samples`` readings; None without ``/proc``.

    Why this reading (measured in ``docs/benchmarks.md``, "Under load: the thread policy"):

    - the 1-min load average (``os.getloadavg``) is an exponentially weighted average updated
      every 5 s: two busy processes starting on a quiet 2-core machine take about 50 s to lift
      it to 1.5, and it stays high for a minute after they stop; worse, it counts this process
      too, so a student's own minute of work at 2 threads on an idle machine looks like a busy
      machine;
    - CPU time from ``/proc/stat`` over an interval (minus this process's own) measures the
      others exactly, but needs an interval: sleeping 20-50 ms before each method call is a
      third of a DeepSTARR click's budget;
    - the runnable count is instantaneous and costs about 0.1-0.3 ms to read. This process's
      own threads are subtracted because torch's OpenMP workers stay runnable (spinning) for a
      while after each parallel region. The least of a few readings ``gap`` apart ignores a
      task that was runnable only for an instant: on a near-quiet 2-core machine, three
      back-to-back readings saw another task 26 times in 400, three readings 1 ms apart 0 times
      in 700; with one or two busy processes, the spaced readings saw them 599 times in 600.
      A reading of 0 ends the sampling, so a quiet machine costs one reading and a busy one
      ``(samples - 1) * gap`` more (2 ms by default).

    Parameters
    ----------
    samples : int, optional
        Default 3. Readings to take the least of.
    gap : float, optional
        Default 0.001. Seconds between readings.

    Returns
    -------
    int or None
        Runnable tasks of other processes (>= 0), or None where ``/proc/loadavg`` cannot be read
        (not Linux).
    """
    least = None
    try:
        for i in range(samples):
            if i:
                time.sleep(gap)
            own = _own_running_tasks()
            total = _runnable_total()
            others = max(0, total - max(own, _own_running_tasks()))
            least = others if least is None else min(least, others)
            if least == 0:
                break
    except (OSError, ValueError, IndexError):
        return None
    return least


#: Seconds a reading of :func:`other_runnable` is reused by :func:`thread_policy` (a burst of
#: method calls, such as a flipper click's, reads the load once; a change of load is seen within
#: this time). 0: read at every call.
READING_TTL_S = 1.0

_LAST_READING = {"time": float("-inf"), "others": None}


def _recent_other_runnable() -> int | None:
    """:func:`other_runnable`, reused for :data:`READING_TTL_S` seconds."""
    if time.monotonic() - _LAST_READING["time"] >= READING_TTL_S:
        others = other_runnable()
        _LAST_READING.update(others=others, time=time.monotonic())
    return _LAST_READING["others"]


def usable_cores() -> int:
    """Cores this process may run on: ``len(os.sched_getaffinity(0))``, else ``os.cpu_count()``."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def policy_threads(current: int, *, others: int | None, usable: int, machine: int) -> int:
    """The torch thread count :func:`thread_policy` picks under ``"auto"``: the free cores, at
    least 1 and at most ``current``.

    ``free = min(usable, machine - others)``: the machine's cores (``os.cpu_count()``; the
    runnable count is machine-wide) less the other processes' runnable tasks, at most the cores
    this process may use. With ``others`` None (no ``/proc``), ``free = usable``.

    Parameters
    ----------
    current : int
        torch's thread count now.
    others : int or None
        :func:`other_runnable`.
    usable : int
        :func:`usable_cores`.
    machine : int
        ``os.cpu_count()``.

    Returns
    -------
    int
        ``max(1, min(current, free))``.
    """
    free = usable if others is None else min(usable, machine - others)
    return max(1, min(current, free))


@contextmanager
def thread_policy(policy=None):
    """Run the body at fewer torch threads while other processes keep the CPU cores busy.

    Every method over ``(model, X)`` runs inside it (``methods._common.model_method``). With
    2 torch threads on a 2-core machine whose cores are busy with other work (a shared class
    server's normal state), each OpenMP region waits for its slower thread, which shares a core
    with another process: measured side by side (``benchmarks/attributions.py --load``,
    ``benchmarks/ism_real.py --load``; ``docs/benchmarks.md``, "Under load"), integrated
    gradients ran up to 3.6x slower at 2 threads than at 1 (below captum), DeepSTARR's fast ISM
    up to 12x slower. So under ``"auto"`` the body runs at :func:`policy_threads` threads: the free cores (the machine's
    cores less the other processes' runnable tasks, :func:`other_runnable`), at least 1, never
    more than torch had; on a quiet machine nothing changes. torch's thread count is restored
    when the body returns or raises. Nested scopes (a method calling another) keep the outer
    scope's choice and read nothing. Results do not depend on the thread count beyond float
    rounding of parallel reductions.

    The reading (why the runnable count and not the load average) is explained in
    :func:`other_runnable`. It is taken when the scope starts and reused for
    :data:`READING_TTL_S` (1 s), so a long call keeps its thread count when the load changes
    meanwhile, and a burst of short calls pays for one reading. Other processes' niced (background) work
    counts as load, and on a machine where this process may use only some of the cores
    (``taskset``, cgroup cpusets) the others' tasks on the other cores count too.

    Parameters
    ----------
    policy : str, int or None, optional
        Default None: the package setting (:func:`set_thread_policy`, else the environment
        variable ``XAI_WIDGETS_THREADS``, else ``"auto"``). ``"auto"``: as above. ``"off"``:
        leave torch's thread count alone. A positive int: run the body at exactly that many
        torch threads.

    Yields
    ------
    int
        The torch thread count inside the body.

    Raises
    ------
    ValueError
        If ``policy`` (or the environment variable) is not ``"auto"``, ``"off"`` or a positive
        integer.

    Examples
    --------
    >>> import xai_widgets
    >>> with xai_widgets.thread_policy() as threads:  # doctest: +SKIP
    ...     ...  # runs at `threads` torch threads
    >>> xai_widgets.set_thread_policy("off")  # doctest: +SKIP
    """
    global _POLICY_BROKEN
    policy = _current_policy() if policy is None else _check_policy(policy, "policy")
    depth = getattr(_POLICY_LOCAL, "depth", 0)
    current = torch.get_num_threads()
    if depth or policy == "off" or (policy == "auto" and _POLICY_BROKEN):
        wanted = current
    elif policy == "auto":
        wanted = policy_threads(current, others=_recent_other_runnable(), usable=usable_cores(),
                                machine=os.cpu_count() or 1)
    else:
        wanted = policy
    if wanted != current:
        with warnings.catch_warnings():  # the native backend warns and ignores late changes
            warnings.simplefilter("ignore")
            torch.set_num_threads(wanted)
        if torch.get_num_threads() != wanted:
            _POLICY_BROKEN = True
            wanted = current
    _POLICY_LOCAL.depth = depth + 1
    try:
        yield torch.get_num_threads()
    finally:
        _POLICY_LOCAL.depth = depth
        if torch.get_num_threads() != current:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.set_num_threads(current)
