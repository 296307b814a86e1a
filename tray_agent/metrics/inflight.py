"""Open client connections to the proxy, counted from the sidecar process's sockets."""

from __future__ import annotations

from collections.abc import Iterable

import psutil


def _connections(proc: psutil.Process) -> list[object]:
    getter = getattr(proc, "net_connections", None) or proc.connections
    return list(getter(kind="tcp"))


def open_connections(pids: Iterable[int], port: int) -> int | None:
    """Established connections accepted on ``port`` by any of ``pids``; None if not visible."""
    seen: set[tuple[object, object]] = set()
    visible = False
    for pid in pids:
        try:
            conns = _connections(psutil.Process(pid))
        except (psutil.Error, OSError):
            continue
        visible = True
        for c in conns:
            laddr = getattr(c, "laddr", None)
            raddr = getattr(c, "raddr", None)
            if (
                getattr(c, "status", None) == psutil.CONN_ESTABLISHED
                and laddr
                and laddr.port == port
                and raddr
            ):
                seen.add((tuple(laddr), tuple(raddr)))
    return len(seen) if visible else None
