"""Process trees: new process group at spawn, terminate/kill the whole tree, start times.

What differs per OS (``killpg`` or ``taskkill /T``, session or process group) is in
``tray_agent.platform`` (``processes``); this module adds what pid reuse demands: nothing is
signalled unless the pid is still the process that started at the recorded time.
"""

from __future__ import annotations

import subprocess
from typing import Any

import psutil

from tray_agent.platform import processes


def popen_kwargs() -> dict[str, Any]:
    """``Popen`` arguments that make the child lead its own process group."""
    return processes.popen_kwargs()


def is_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (PID 1 may not reap)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def descendants(pid: int) -> list[int]:
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def started_at(pid: int) -> float | None:
    """The process's start time: with the pid, what tells it apart from a later one."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def is_same(pid: int, created: float | None) -> bool:
    """True while ``pid`` is still the live process that started at ``created``.

    Pids are reused (32768 of them wrap within minutes on a busy machine): signalling or
    measuring by pid alone after the process is gone can hit an unrelated process, or the
    process group it leads.
    """
    if created is None:
        return True
    try:
        p = psutil.Process(pid)
        return float(p.create_time()) == created and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def signal_tree(pid: int, hard: bool, created: float | None = None) -> None:
    """Send TERM (or KILL when ``hard``) to the process and everything below it.

    With ``created`` (from ``started_at``), nothing is sent unless ``pid`` is still that
    process.
    """
    if not is_same(pid, created):
        return
    processes.signal_tree(pid, descendants(pid), hard)


def terminate_tree(
    proc: subprocess.Popen[bytes], grace: float, created: float | None = None
) -> int | None:
    """Graceful stop, then kill after ``grace`` seconds; returns the exit code.

    A process that has already exited is left alone: its pid may belong to another now.
    """
    if proc.poll() is not None:
        return proc.returncode
    signal_tree(proc.pid, hard=False, created=created)
    try:
        return proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    if not is_same(proc.pid, created):
        return proc.poll()
    children = descendants(proc.pid)
    signal_tree(proc.pid, hard=True, created=created)
    processes.kill_pids(children)  # also when the leader exited meanwhile
    try:
        return proc.wait(5)
    except subprocess.TimeoutExpired:
        return None
