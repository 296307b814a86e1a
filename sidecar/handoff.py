"""Picking up what the agent handed over: the events pipe and the listening socket.

POSIX: both are inherited file descriptors, named by ``LITELLM_BRIDGE_EVENTS_FD`` and
``LITELLM_BRIDGE_LISTEN_FD``; uvicorn serves the fd itself. Windows: the events variable
names an inherited pipe handle (``msvcrt.open_osfhandle`` makes it an fd), and with
``LITELLM_BRIDGE_LISTEN_SHARED=1`` the socket arrives as the first stdin message, the bytes
of the agent's ``socket.share(pid)`` for ``socket.fromshare``. The Windows half is checked
by mypy only (docs/ARCHITECTURE.md, "Per-OS layer").
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Mapping

from sidecar.wire import LISTEN_SHARED_ENV

# How long a sidecar waits for the shared socket on stdin (the agent sends it at once).
SHARE_WAIT_SECONDS = 30.0


def events_fd(value: int | None) -> int | None:
    """The fd to write events to, from the integer the agent put in the environment."""
    if value is None:
        return None
    if sys.platform == "win32":
        import msvcrt

        return msvcrt.open_osfhandle(value, os.O_WRONLY)
    return value


class SharedSocket:
    """The socket the agent shares over stdin (Windows); filled in by the stdin channel."""

    def __init__(self) -> None:
        self._data: bytes | None = None
        self._arrived = threading.Event()

    def offer(self, data: bytes) -> None:
        if not self._arrived.is_set():
            self._data = data
            self._arrived.set()

    def wait(self, timeout: float) -> bytes | None:
        self._arrived.wait(timeout)
        return self._data


SHARED = SharedSocket()


def listening_socket(
    environ: Mapping[str, str],
    shared: SharedSocket = SHARED,
    timeout: float = SHARE_WAIT_SECONDS,
) -> socket.socket | None:
    """The socket handed over as shared bytes, or None (POSIX: uvicorn takes the fd itself).

    Raises OSError when the agent said it would share one and none came.
    """
    if environ.get(LISTEN_SHARED_ENV) != "1":
        return None
    data = shared.wait(timeout)
    if data is None:
        raise OSError(f"{LISTEN_SHARED_ENV}=1 but no listening socket arrived on stdin")
    if sys.platform == "win32":
        return socket.fromshare(data)
    raise OSError(f"{LISTEN_SHARED_ENV} is for Windows; POSIX passes LITELLM_BRIDGE_LISTEN_FD")
