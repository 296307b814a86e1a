"""Ports for a test's agent that no other test process can take before the agent binds them.

A port found with ``bind(("127.0.0.1", 0))`` and released is free for anyone: the kernel can
hand it to another xdist worker's ``bind(0)`` or outgoing connection, and another worker's
"free" port search can find it too. So ports come from below the kernel's ephemeral range
(never handed out by ``bind(0)`` nor used as a source port) and each one is claimed with an
exclusive lock on a file shared by every test process on the machine. The lock is held until
the process exits (the kernel drops it if the process dies), so a port stays reserved across
agent restarts within a test, and no two live test processes ever hold the same one.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

# Below Linux's default ephemeral range (32768-60999) and far below the IANA one
# (49152-65535, Windows and macOS), above the ports services usually take.
RANGE_START = 20000
RANGE_END = 32767
LOCK_DIR = Path(tempfile.gettempdir()) / "litellm-bridge-test-ports"

_held: dict[int, IO[bytes]] = {}
_lock = threading.Lock()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 49152, 65535


def _try_lock(handle: IO[bytes]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _bindable(port: int) -> bool:
    # Anything outside the test suite listening there (or a socket of a test process that
    # died and left TIME_WAIT behind with SO_REUSEADDR off) rules the port out.
    with socket.socket() as probe:
        if sys.platform != "win32":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _start_offset(span: int) -> int:
    # A different place in each process, so concurrent workers rarely contend for a lock.
    return (os.getpid() * 7919) % span


def reserve_port() -> int:
    """A loopback port reserved for this process until it exits."""
    low, high = _ephemeral_range()
    LOCK_DIR.mkdir(exist_ok=True)
    span = RANGE_END - RANGE_START + 1
    offset = _start_offset(span)
    with _lock:
        for i in range(span):
            port = RANGE_START + (offset + i) % span
            if port in _held or low <= port <= high:
                continue
            try:
                handle = open(LOCK_DIR / f"{port}.lock", "a+b")  # noqa: SIM115 (held until exit)
            except OSError:  # another user's lock file
                continue
            if not _try_lock(handle):
                handle.close()
                continue
            if not _bindable(port):
                with contextlib.suppress(OSError):
                    handle.close()
                continue
            _held[port] = handle
            return port
    raise RuntimeError(f"no free test port in {RANGE_START}-{RANGE_END}; see {LOCK_DIR}")
