"""The agent owns the listening socket and hands it to each sidecar (zero-downtime swaps)."""

from __future__ import annotations

import errno
import socket
import sys

import psutil


class PortBusyError(Exception):
    """The port is taken; the message names the port and, when found, the holder."""

    def __init__(self, host: str, port: int, holder: str | None) -> None:
        who = f" by {holder}" if holder else " by another program"
        super().__init__(
            f"port {port} on {host} is already in use{who}; stop that program or choose "
            f"another port (bridge.port in config.yaml, or `litellm-bridge init --port N`)"
        )
        self.host = host
        self.port = port
        self.holder = holder


def find_holder(port: int) -> str | None:
    """Describe the process listening on ``port`` (``pid 123 (python3 ...)``) if visible."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for c in conns:
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port:
            if c.pid is None:
                return None
            try:
                p = psutil.Process(c.pid)
                cmd = " ".join(p.cmdline()[:3]) or p.name()
                return f"pid {c.pid} ({cmd})"
            except psutil.Error:
                return f"pid {c.pid}"
    return None


def bind_listener(host: str, port: int, backlog: int = 512) -> socket.socket:
    """Bind and listen; the socket is inheritable so sidecars can serve on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if sys.platform == "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # type: ignore[attr-defined]
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1), errno.EACCES):
            raise PortBusyError(host, port, find_holder(port)) from exc
        raise
    sock.set_inheritable(True)
    return sock
