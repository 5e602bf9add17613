"""The thread policy for oversubscribed CPUs (issue 21 part 5): ``xai_widgets.thread_policy``.

No timing here: the load is faked by replacing the readings, and the benchmarks
(``benchmarks/attributions.py --load``, ``benchmarks/ism_real.py --load``) show what it buys.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch
from torch import nn

import xai_widgets
from xai_widgets import _core
from xai_widgets.methods import integrated_gradients, saliency


@pytest.fixture
def threads():
    """torch at 3 threads during the test (a count no policy here picks by accident), restored after;
    the package setting and the environment variable cleared."""
    before = torch.get_num_threads()
    previous = xai_widgets.set_thread_policy(None)
    torch.set_num_threads(3)
    yield 3
    xai_widgets.set_thread_policy(previous)
    torch.set_num_threads(before)


@pytest.fixture
def machine(monkeypatch):
    """Fake readings: ``machine(others=..., cores=...)`` sets other processes' runnable tasks and
    the machine's (and this process's usable) cores; the environment variable is cleared."""
    monkeypatch.delenv(_core.THREADS_ENV, raising=False)
    monkeypatch.setattr(_core, "READING_TTL_S", 0.0)  # every scope reads the (fake) load

    def set_reading(*, others, cores):
        monkeypatch.setattr(_core, "other_runnable", lambda samples=3: others)
        monkeypatch.setattr(_core, "usable_cores", lambda: cores)
        monkeypatch.setattr(_core.os, "cpu_count", lambda: cores)

    return set_reading


def test_policy_threads_rule():
    # free = min(usable, machine - others), at least 1, at most the current count
    assert _core.policy_threads(2, others=0, usable=2, machine=2) == 2
    assert _core.policy_threads(2, others=1, usable=2, machine=2) == 1
    assert _core.policy_threads(2, others=7, usable=2, machine=2) == 1
    assert _core.policy_threads(8, others=3, usable=8, machine=8) == 5
    assert _core.policy_threads(4, others=3, usable=8, machine=8) == 4  # never more than torch had
    assert _core.policy_threads(8, others=30, usable=8, machine=64) == 8  # others on the other cores
    assert _core.policy_threads(8, others=0, usable=2, machine=64) == 2  # at most the usable cores
    assert _core.policy_threads(8, others=None, usable=4, machine=8) == 4  # no reading: the usable cores


def test_auto_picks_the_free_cores_under_a_fake_load(threads, machine):
    machine(others=2, cores=4)
    with xai_widgets.thread_policy() as inside:
        assert inside == torch.get_num_threads() == 2
    assert torch.get_num_threads() == threads
    machine(others=9, cores=4)
    with xai_widgets.thread_policy() as inside:
        assert inside == torch.get_num_threads() == 1
    machine(others=0, cores=4)  # quiet: nothing changes
    with xai_widgets.thread_policy() as inside:
        assert inside == torch.get_num_threads() == threads


def test_restored_after_an_exception(threads, machine):
    machine(others=4, cores=4)
    with pytest.raises(KeyError, match="boom"):
        with xai_widgets.thread_policy():
            assert torch.get_num_threads() == 1
            raise KeyError("boom")
    assert torch.get_num_threads() == threads
    with pytest.raises(KeyError, match="boom"):
        with xai_widgets.thread_policy(2):
            raise KeyError("boom")
    assert torch.get_num_threads() == threads


def test_off_switch_and_forced_count(threads, machine, monkeypatch):
    machine(others=4, cores=4)
    with xai_widgets.thread_policy("off") as inside:
        assert inside == torch.get_num_threads() == threads
    assert xai_widgets.set_thread_policy("off") is None
    with xai_widgets.thread_policy() as inside:
        assert inside == threads
    assert xai_widgets.set_thread_policy(2) == "off"
    with xai_widgets.thread_policy() as inside:  # forced: whatever the load
        assert inside == torch.get_num_threads() == 2
    machine(others=0, cores=4)
    with xai_widgets.thread_policy() as inside:
        assert inside == 2
    xai_widgets.set_thread_policy(None)  # back to the environment
    monkeypatch.setenv(_core.THREADS_ENV, "off")
    machine(others=4, cores=4)
    with xai_widgets.thread_policy() as inside:
        assert inside == threads
    monkeypatch.setenv(_core.THREADS_ENV, "1")
    with xai_widgets.thread_policy() as inside:
        assert inside == 1
    monkeypatch.setenv(_core.THREADS_ENV, " AUTO ")
    with xai_widgets.thread_policy() as inside:
        assert inside == 1  # 4 others on 4 cores
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize("bad", ["two", "0", "-1", "1.5", ""])
def test_bad_settings_raise(threads, machine, monkeypatch, bad):
    machine(others=0, cores=4)
    with pytest.raises(ValueError, match="'auto', 'off' or a positive integer"):
        xai_widgets.set_thread_policy(bad if bad else 0)
    monkeypatch.setenv(_core.THREADS_ENV, bad)
    if bad == "":  # an empty variable is the default
        with xai_widgets.thread_policy() as inside:
            assert inside == threads
        return
    with pytest.raises(ValueError, match="XAI_WIDGETS_THREADS"):
        with xai_widgets.thread_policy():
            pass
    assert torch.get_num_threads() == threads


def test_nested_scopes_keep_the_outer_choice_and_read_nothing(threads, machine, monkeypatch):
    machine(others=2, cores=4)
    with xai_widgets.thread_policy() as outer:
        assert outer == 2

        def no_reading(samples=3):
            raise AssertionError("a nested scope read the load")

        monkeypatch.setattr(_core, "other_runnable", no_reading)
        with xai_widgets.thread_policy() as inner:
            assert inner == 2
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == threads


class ThreadRecorder(nn.Module):
    """A one-conv model that records torch's thread count at every forward pass."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 3, 5)
        self.seen = []

    def forward(self, x):
        self.seen.append(torch.get_num_threads())
        return self.conv(x).amax(dim=2)[:, :1]


def test_methods_run_under_the_policy(threads, machine):
    model = ThreadRecorder()
    X = nn.functional.one_hot(torch.randint(0, 4, (2, 20), generator=torch.Generator().manual_seed(0)), 4)
    X = X.permute(0, 2, 1).float()
    machine(others=3, cores=4)
    saliency(model, X, device="cpu")
    assert model.seen and set(model.seen) == {1}
    assert torch.get_num_threads() == threads
    model.seen.clear()
    xai_widgets.predict(model, X, device="cpu")
    assert set(model.seen) == {1}
    machine(others=0, cores=4)
    model.seen.clear()
    integrated_gradients(model, X, n_steps=4, device="cpu")
    assert set(model.seen) == {threads}


def test_results_do_not_depend_on_the_policy(threads):
    """Saliency and integrated gradients of a trained zoo model with the policy forced to one
    thread and off (3 threads): the same maps, to float rounding."""
    from xai_widgets import zoo

    model = zoo.load("basset_exp_motif_presence", device="cpu")
    X = nn.functional.one_hot(torch.randint(0, 4, (4, 200), generator=torch.Generator().manual_seed(1)), 4)
    X = X.permute(0, 2, 1).float()
    maps = {}
    for policy in (1, "off"):
        xai_widgets.set_thread_policy(policy)
        maps[policy] = (saliency(model, X, target=0, device="cpu").values,
                        integrated_gradients(model, X, target=0, n_steps=16, device="cpu").values)
    assert maps[1][0].abs().max() > 0 and maps[1][1].abs().max() > 0
    for one, off in zip(maps[1], maps["off"]):
        torch.testing.assert_close(one, off, rtol=1e-5, atol=1e-6)


def test_a_reading_is_reused_for_a_while(threads, machine, monkeypatch):
    readings = iter([3, 0])
    monkeypatch.setattr(_core, "other_runnable", lambda samples=3: next(readings))
    monkeypatch.setattr(_core.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(_core, "usable_cores", lambda: 4)
    monkeypatch.setattr(_core, "READING_TTL_S", 3600.0)
    monkeypatch.setitem(_core._LAST_READING, "time", float("-inf"))
    for _ in range(3):  # one reading (3 others: 1 thread), then reused
        with xai_widgets.thread_policy() as inside:
            assert inside == 1
    monkeypatch.setattr(_core, "READING_TTL_S", 0.0)  # expired: the next reading (quiet)
    with xai_widgets.thread_policy() as inside:
        assert inside == threads


def test_own_threads_are_not_counted_as_others(monkeypatch):
    """others = runnable on the machine - this process's running threads (read before and after
    the total, the larger kept), the least of the samples; a zero stops the sampling."""
    totals = iter([5, 4, 6])
    own = iter([2, 2, 1, 3, 1, 1])
    monkeypatch.setattr(_core, "_runnable_total", lambda: next(totals))
    monkeypatch.setattr(_core, "_own_running_tasks", lambda: next(own))
    assert _core.other_runnable(samples=3) == 1  # min(5 - 2, 4 - 3, 6 - 1)
    totals, own = iter([2]), iter([2, 2])  # a second sample would raise StopIteration
    monkeypatch.setattr(_core, "_runnable_total", lambda: next(totals))
    monkeypatch.setattr(_core, "_own_running_tasks", lambda: next(own))
    assert _core.other_runnable(samples=3) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc readings exist on Linux only")
def test_a_busy_process_is_seen_at_once():
    """A process spinning on a core shows as another runnable task immediately (the 1-min load
    average would take tens of seconds)."""
    assert _core._own_running_tasks() >= 1  # the reading thread itself
    child = subprocess.Popen([sys.executable, "-c", "print('ready', flush=True)\nwhile True:\n    pass"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.05)
        assert _core.other_runnable() >= 1
    finally:
        child.kill()
        child.wait()
