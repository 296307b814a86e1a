"""The agent owns the listening socket and hands it to each sidecar (zero-downtime swaps)."""

from __future__ import annotations

import errno
import getpass
import socket
from dataclasses import dataclass

import psutil

from tray_agent.platform import files


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


@dataclass(frozen=True)
class Listener:
    """A process listening on a TCP port, as far as the OS lets this user see it."""

    pid: int | None  # None: the socket is there but its process is not visible to us
    user: str | None = None
    command: str | None = None

    @property
    def foreign(self) -> bool:
        """Owned by another user (or invisible to us, which on Linux means the same)."""
        return self.pid is None or (self.user is not None and self.user != _me())

    def __str__(self) -> str:
        if self.pid is None:
            return "a process of another user (its pid is not visible to you)"
        text = f"pid {self.pid}"
        if self.command:
            text += f" ({self.command})"
        if self.user and self.foreign:
            text += f" of another user, {self.user}"
        elif self.user:
            text += f", user {self.user}"
        return text


def _me() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def listeners(port: int) -> list[Listener] | None:
    """Every process listening on ``port`` (any address); None when the OS does not tell."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return None
    found: dict[int | None, Listener] = {}
    for c in conns:
        if c.status != psutil.CONN_LISTEN or not c.laddr or c.laddr.port != port:
            continue
        if c.pid is None:
            found.setdefault(None, Listener(None))
            continue
        try:
            p = psutil.Process(c.pid)
            with p.oneshot():
                user = p.username()
                cmd = " ".join(p.cmdline()[:3]) or p.name()
            found[c.pid] = Listener(c.pid, user, cmd)
        except psutil.Error:
            found[c.pid] = Listener(c.pid)
    return list(found.values())


def describe_listener(port: int, ours: set[int] | frozenset[int] = frozenset()) -> str | None:
    """Who listens on ``port`` apart from the pids in ``ours``, for a message; None if nobody."""
    others = [li for li in listeners(port) or [] if li.pid is None or li.pid not in ours]
    return "; ".join(str(li) for li in others) or None


def foreign_listeners(port: int, agent_pid: int | None = None) -> list[Listener]:
    """Listeners on ``port`` that are not the agent ``agent_pid`` or one of its sidecars.

    While the bridge is down, anything listening on its port would receive the proxy key
    from clients: this is what ``status``, ``doctor`` and ``key`` check.
    """
    ours: set[int] = set()
    if agent_pid is not None:
        from tray_agent.supervisor.proctree import descendants

        ours = {agent_pid, *descendants(agent_pid)}
    return [li for li in listeners(port) or [] if li.pid is None or li.pid not in ours]


def find_holder(port: int) -> str | None:
    """Describe the process listening on ``port`` (``pid 123 (python3 ...)``) if visible."""
    return describe_listener(port)


def bind_listener(host: str, port: int, backlog: int = 512) -> socket.socket:
    """Bind and listen; the socket is inheritable so sidecars can serve on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        files.reuse_address(sock)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1), errno.EACCES):
            raise PortBusyError(host, port, find_holder(port)) from exc
        raise
    sock.set_inheritable(True)
    return sock
