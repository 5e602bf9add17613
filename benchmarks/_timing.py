"""Timing helper shared by the benchmark scripts."""

from __future__ import annotations

import statistics
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


def compare_ms(ours, peer, repeats: int):
    """Medians in ms of ``ours()`` and ``peer()`` timed alternately (so drift hits both alike),
    after one warm-up call each; returns ``(ours_ms, ours_result, peer_ms, peer_result)``."""
    results = [ours(), peer()]
    times = ([], [])
    for _ in range(repeats):
        for i, fn in enumerate((ours, peer)):
            start = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - start)
    return statistics.median(times[0]) * 1000, results[0], statistics.median(times[1]) * 1000, results[1]
