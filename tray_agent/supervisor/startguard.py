"""Bound what a starting sidecar may take: the resident memory of its process tree.

A monitor thread polls the tree's RSS (psutil) until the sidecar is ready or gone. Past the
ceiling it reports (the report posts an event to the core) and then kills the tree at once:
a sidecar that is not ready serves nothing, and a runaway start (a YAML alias bomb) grows by
gigabytes a second, so there is no drain and no waiting on the core thread.

On Linux an address-space limit (``RLIMIT_AS``) is a backstop for a start that outruns the
poll. Virtual size is far above RSS for a threaded Python (thread stacks, malloc arenas), so
the backstop sits well above the ceiling, and it is lifted once the sidecar is ready so a
serving sidecar is never limited by it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import psutil

from tray_agent.platform import processes
from tray_agent.supervisor import proctree

MB = 1 << 20
POLL_INTERVAL = 0.2
# Backstop: the virtual size a start may reach. A sidecar here peaked at 379 MB RSS and
# 863 MB virtual with 7 threads; twice the ceiling plus 2 GB leaves room for more threads'
# stacks and malloc arenas (6 GB for the default 2048 MB ceiling).
BACKSTOP_FACTOR = 2
BACKSTOP_EXTRA_MB = 2048


def tree_rss(pid: int) -> int | None:
    """Resident bytes of ``pid`` and its descendants; None when the process is gone."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def backstop_bytes(limit_mb: int) -> int:
    return (limit_mb * BACKSTOP_FACTOR + BACKSTOP_EXTRA_MB) * MB


def set_backstop(pid: int, limit_mb: int) -> bool:
    """Linux: cap the address space of the starting sidecar; False where not possible."""
    return processes.set_address_limit(pid, backstop_bytes(limit_mb))


def lift_backstop(pid: int) -> None:
    """Back to the hard limit (raising a soft limit up to the hard one needs no privilege)."""
    processes.set_address_limit(pid, None)


class StartGuard:
    """Kills the tree of ``pid`` when its RSS passes ``limit_mb`` before ``stop()``.

    ``on_exceeded(rss_mb)`` is called once, before the kill, from the guard's thread.
    """

    def __init__(
        self,
        pid: int,
        limit_mb: int,
        on_exceeded: Callable[[int], None],
        interval: float = POLL_INTERVAL,
        measure: Callable[[int], int | None] = tree_rss,
    ) -> None:
        self.pid = pid
        self.created = proctree.started_at(pid)
        self.limit_mb = limit_mb
        self._on_exceeded = on_exceeded
        self._interval = interval
        self._measure = measure
        self._stop = threading.Event()
        self.tripped = False
        self.peak_mb = 0
        self._thread = threading.Thread(target=self._run, name=f"start-guard-{pid}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        limit = self.limit_mb * MB
        while True:
            # Once the sidecar is gone its pid may be another process's: never measure it.
            if self.created is None or not proctree.is_same(self.pid, self.created):
                return
            rss = self._measure(self.pid)
            if rss is None or self._stop.is_set():
                return
            self.peak_mb = max(self.peak_mb, rss // MB)
            if rss > limit:
                self.tripped = True
                try:
                    self._on_exceeded(rss // MB)
                finally:
                    proctree.signal_tree(self.pid, hard=True, created=self.created)
                return
            if self._stop.wait(self._interval):
                return
