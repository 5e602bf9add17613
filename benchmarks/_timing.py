"""Timing helpers shared by the benchmark scripts, and ``--load``: the same rows with other
processes saturating the cores.

``--load`` (:func:`add_load_arguments`, :func:`cpu_load`) starts one plain CPU-bound process per
usable core (``len(os.sched_getaffinity(0))``; ``--load-processes`` to change), nice 0, before
the rows run, waits until the 1-min load average shows them (or ``--load-warm`` seconds, whichever
comes first) and stops them when the rows are done, on an error or KeyboardInterrupt (a context
manager), at interpreter exit (``atexit``) and when the benchmark itself dies (each load process
asks the kernel for SIGKILL when its parent exits, ``PR_SET_PDEATHSIG``, and checks its parent
pid). Scripts print :func:`load_note` in their header and :func:`load_fields` in every ``RESULT``
line: the 1-min load average and the instantaneous runnable count (``/proc/loadavg``) when the
rows started and now, and how many load processes ran.
"""

from __future__ import annotations

import atexit
import os
import statistics
import subprocess
import sys
import time


def median_ms(fn, repeats: int, budget_s: float = float("inf")):
    """Median wall time in ms of ``fn()`` after one warm-up call, and its last result.

    When the warm-up alone takes longer than ``budget_s`` seconds, that single time is reported.
    """
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    if first >= budget_s:
        return first * 1000, result
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


def alternate(functions, repeats: int, pause: float = 0.0):
    """Median wall times in ms of ``functions``, timed in turn (so drift hits all alike) after one
    warm-up call each, and their last results: ``([ms, ...], [result, ...])``.

    ``pause``: seconds to sleep (untimed) after each call, e.g. so that the OpenMP workers of a
    multi-threaded call stop spinning before the next, single-threaded one (under load they
    take a core from it: 20-40 ms per 60-200 ms saliency call on 2 busy cores).
    """
    results = [fn() for fn in functions]
    times = [[] for _ in functions]
    for _ in range(repeats):
        for i, fn in enumerate(functions):
            start = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - start)
            if pause:
                time.sleep(pause)
    return [statistics.median(t) * 1000 for t in times], results


def compare_ms(ours, peer, repeats: int):
    """Medians in ms of ``ours()`` and ``peer()`` timed alternately (so drift hits both alike),
    after one warm-up call each; returns ``(ours_ms, ours_result, peer_ms, peer_result)``."""
    (ours_ms, peer_ms), (a, b) = alternate([ours, peer], repeats)
    return ours_ms, a, peer_ms, b


# --load: other processes saturating the cores

#: What each load process runs: ``python`` a pure-Python busy loop, ``numpy`` 256 x 256 float64
#: matmuls on one BLAS thread (also loads the caches and memory bus, like another user's model).
LOAD_KINDS = {
    "python": "x = 0\nwhile True:\n    for _ in range(200_000):\n        x += 1\n    check()\n",
    "numpy": "import numpy as np\na = np.random.default_rng(0).random((256, 256))\n"
             "while True:\n    for _ in range(20):\n        b = a @ a\n    check()\n",
}

_LOAD_PRELUDE = """\
import ctypes, os, sys
parent = int(sys.argv[1])
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG = SIGKILL: die with the parent
except Exception:
    pass
def check():
    if os.getppid() != parent:
        sys.exit(0)
check()
"""

_ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def usable_cores() -> int:
    """Cores this process may run on (``os.sched_getaffinity``, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def load_reading() -> dict:
    """``{"avg1": 1-min load average, "runnable": runnable tasks now (/proc/loadavg, this reader
    included), "time": time.time()}``; ``runnable`` is None where /proc/loadavg is missing."""
    avg1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    try:
        with open("/proc/loadavg") as f:
            runnable = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        runnable = None
    return {"avg1": avg1, "runnable": runnable, "time": time.time()}


class CPULoad:
    """Context manager: ``processes`` plain CPU-bound processes (default: one per usable core),
    running while the body runs.

    Parameters
    ----------
    processes : int, optional
        Default None: :func:`usable_cores`. 0 starts nothing (a quiet run with the same output).
    kind : str, optional
        Default ``"python"``; a key of :data:`LOAD_KINDS`.
    warm_s : float, optional
        Default 10. The longest wait after starting, for the 1-min load average to reach
        ``wait_for_load``.
    wait_for_load : float, optional
        Default None: ``processes - 0.5``. Start the body as soon as the 1-min load average is at
        least this (it is an exponentially weighted average over a minute, so from a quiet machine
        it takes about 50 s to climb to 1.5 under two busy processes; the load itself is there
        at once: the runnable count shows it).

    Attributes
    ----------
    before, after : dict
        :func:`load_reading` when the body started and when it ended.
    """

    def __init__(self, processes: int | None = None, *, kind: str = "python", warm_s: float = 10.0,
                 wait_for_load: float | None = None):
        if kind not in LOAD_KINDS:
            raise ValueError(f"kind must be one of {sorted(LOAD_KINDS)}; got {kind!r}")
        self.processes = usable_cores() if processes is None else processes
        if self.processes < 0:
            raise ValueError(f"processes must be >= 0; got {processes}")
        self.kind = kind
        self.warm_s = warm_s
        self.wait_for_load = self.processes - 0.5 if wait_for_load is None else wait_for_load
        self._children: list[subprocess.Popen] = []
        self.before = self.after = None

    def start(self) -> None:
        code = _LOAD_PRELUDE + LOAD_KINDS[self.kind]
        env = {**os.environ, **_ONE_THREAD}
        atexit.register(self.stop)
        for _ in range(self.processes):
            self._children.append(subprocess.Popen([sys.executable, "-c", code, str(os.getpid())], env=env,
                                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
        deadline = time.monotonic() + (self.warm_s if self.processes else 0)
        while time.monotonic() < deadline and load_reading()["avg1"] < self.wait_for_load:
            if any(child.poll() is not None for child in self._children):
                raise RuntimeError("a load process exited early")
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop every load process (idempotent)."""
        children, self._children = self._children, []
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        atexit.unregister(self.stop)

    def __enter__(self) -> CPULoad:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        self.before = load_reading()
        return self

    def __exit__(self, *exc) -> None:
        self.after = load_reading()
        self.stop()


def add_load_arguments(parser) -> None:
    """``--load``, ``--load-processes``, ``--load-kind`` and ``--load-warm`` on an argparse parser."""
    group = parser.add_argument_group("load", "run the rows with other processes saturating the cores")
    group.add_argument("--load", action="store_true",
                       help="start one busy process per usable core (nice 0) for the duration of the rows")
    group.add_argument("--load-processes", type=int, default=None, help="default: one per usable core")
    group.add_argument("--load-kind", choices=sorted(LOAD_KINDS), default="python",
                       help="python busy loops (default) or numpy matmuls on one BLAS thread each")
    group.add_argument("--load-warm", type=float, default=10.0,
                       help="at most this many seconds for the 1-min load average to show the load (default 10)")


def cpu_load(args) -> CPULoad:
    """The :class:`CPULoad` the parsed ``--load`` options ask for (0 processes without ``--load``)."""
    return CPULoad(args.load_processes if args.load else 0, kind=args.load_kind, warm_s=args.load_warm)


def _fmt(reading) -> str:
    if reading is None:
        return "?"
    runnable = "?" if reading["runnable"] is None else reading["runnable"]
    return f"{reading['avg1']:.2f}/{runnable}"


def load_note(load: CPULoad | None = None) -> str:
    """For a header: the load now, and what ``load`` added."""
    now = load_reading()
    added = (f"{load.processes} {load.kind} load process(es) running" if load is not None and load.processes
             else "no load added")
    return (f"load average {now['avg1']:.2f} (1 min), {now['runnable']} runnable now, {usable_cores()} usable "
            f"cores; {added}")


def load_fields(load: CPULoad) -> str:
    """For a ``RESULT`` line: ``load=<N processes> load_before=<avg1>/<runnable>
    load_after=<avg1>/<runnable>`` (``after``: now, when the body has not ended yet)."""
    after = load.after or load_reading()
    return f"load={load.processes} load_before={_fmt(load.before)} load_after={_fmt(after)}"


def policy_off(fn):
    """``fn`` run with the package's thread policy off (torch's thread count as it is): the
    column that shows what :func:`xai_widgets.thread_policy` changes."""
    from xai_widgets import thread_policy

    def run():
        with thread_policy("off"):
            return fn()

    return run


def policy_on(fn):
    """``fn`` (a peer's code) run under the package's thread policy, as our methods run."""
    from xai_widgets import thread_policy

    def run():
        with thread_policy():
            return fn()

    return run


def policy_threads_now() -> int:
    """The torch thread count the package's thread policy would pick now."""
    from xai_widgets import thread_policy

    with thread_policy() as threads:
        return threads


def header(load: CPULoad | None = None) -> str:
    """The first line of a benchmark's output: processor, cores, torch and its threads, the load."""
    import platform

    import torch

    return (f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads; {load_note(load)}")
