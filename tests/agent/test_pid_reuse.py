"""Kills and measurements are bound to the process, not to its pid: pids are reused."""

from __future__ import annotations

import subprocess
import sys
import time

from tray_agent.supervisor import proctree
from tray_agent.supervisor.startguard import StartGuard

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def spawn() -> subprocess.Popen[bytes]:
    return subprocess.Popen(SLEEPER, **proctree.popen_kwargs())


def test_a_pid_that_is_now_another_process_is_never_signalled() -> None:
    other = spawn()
    try:
        created = proctree.started_at(other.pid)
        assert created is not None
        # What a stale handle looks like once the pid belongs to a later process.
        proctree.signal_tree(other.pid, hard=True, created=created - 1.0)
        time.sleep(0.3)
        assert other.poll() is None, "an unrelated process with a reused pid was killed"
        proctree.signal_tree(other.pid, hard=True, created=created)
        assert other.wait(10) is not None
    finally:
        other.kill()
        other.wait()


def test_terminate_leaves_an_exited_process_alone() -> None:
    done = subprocess.Popen([sys.executable, "-c", "pass"], **proctree.popen_kwargs())
    done.wait(30)
    assert proctree.terminate_tree(done, grace=1) == 0


def test_the_start_guard_never_kills_a_process_that_is_not_its_sidecar() -> None:
    other = spawn()
    try:
        guard = StartGuard(other.pid, limit_mb=0, on_exceeded=lambda _mb: None, interval=0.05)
        assert guard.created is not None
        guard.created -= 1.0  # the sidecar it watched is gone; the pid is someone else's
        guard.start()
        guard._thread.join(5)
        assert not guard.tripped and other.poll() is None
        real = StartGuard(other.pid, limit_mb=0, on_exceeded=lambda _mb: None, interval=0.05)
        real.start()
        real._thread.join(5)
        assert real.tripped and other.wait(10) is not None
    finally:
        other.kill()
        other.wait()
