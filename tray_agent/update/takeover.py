"""Restart the whole agent into another program (a new version) without a refused request.

The way a config swap hands the listening socket from one sidecar to the next, a restart
hands it from one agent to the next:

1. The running agent (the predecessor) starts its successor -- the installed launcher,
   which picks the current version -- with the proxy's listening socket and its instance
   lock inherited (a flock belongs to the open file: the lock never has a moment without a
   holder) and ``LITELLM_BRIDGE_TAKEOVER`` naming both. It keeps serving meanwhile.
2. The successor starts everything but its control channel and the duties only one agent
   may have (token refresh, saving the usage book), adopts the socket instead of binding
   the port and starts its sidecar on it: both sidecars now accept from the same queue.
3. Once its sidecar is ready, the successor asks ``handover``: the predecessor stops
   refreshing (a refresh under way finishes first), saves the usage book and journals from
   then on, and closes its control channel. Then ``release``, the point of no return: the
   predecessor frees its lock and socket copies and drains its sidecar (requests finish,
   up to the drain timeout, and are still counted and audited; the counts reach the
   successor through ``usage.replay``). Without a ``release`` within ``RELEASE_WAIT`` the
   predecessor takes its duties back, and a late ``release`` is refused.
4. After ``release`` the successor re-reads the token and the usage book, records its pid
   in the lock file and opens its control channel. A command run in between waits for it
   (the lock is held).

A successor that never gets ready exits (or is stopped by the launcher watching a version
on trial) and the predecessor goes on serving: a bad version is never switched to.
POSIX only; on Windows the agent restarts the plain way (stop, then start).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("tray_agent.update.takeover")

TAKEOVER_ENV = "LITELLM_BRIDGE_TAKEOVER"
SUPPORTED = os.name == "posix"

Binder = Callable[[str, int], socket.socket]


class TakeoverError(Exception):
    """The successor cannot take over; the predecessor keeps serving."""


@dataclass(frozen=True)
class Takeover:
    """What a successor was handed: the listening socket's fd and port (-1 and 0 when the
    predecessor served nothing: the successor starts stopped, as it stood), who to relieve."""

    fd: int
    port: int
    predecessor: int
    lock_fd: int  # the predecessor's instance lock, held through this inherited descriptor

    def to_env(self) -> str:
        doc = {"fd": self.fd, "port": self.port, "predecessor": self.predecessor}
        return json.dumps({**doc, "lock_fd": self.lock_fd})

    def fds(self) -> tuple[int, ...]:
        """What a launcher between the two agents must pass on."""
        return (self.lock_fd,) if self.fd < 0 else (self.fd, self.lock_fd)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Takeover | None:
        """The hand-over this process was started for, or None. A malformed value is refused
        (a plain start would find the port taken by the predecessor anyway)."""
        raw = (os.environ if environ is None else environ).get(TAKEOVER_ENV)
        if not raw:
            return None
        try:
            doc = json.loads(raw)
            fd, port, pid = int(doc["fd"]), int(doc["port"]), int(doc["predecessor"])
            lock_fd = int(doc["lock_fd"])
        except (ValueError, TypeError, KeyError) as exc:
            raise TakeoverError(f"{TAKEOVER_ENV} is not a hand-over description: {exc}") from None
        serving = fd >= 3 and 0 < port < 65536
        if not (serving or (fd, port) == (-1, 0)) or pid <= 0 or lock_fd < 3 or lock_fd == fd:
            raise TakeoverError(f"{TAKEOVER_ENV} names an impossible socket, lock, port or pid")
        return cls(fd, port, pid, lock_fd)


def adopting(takeover: Takeover | None, bind: Binder) -> Binder:
    """``bind`` that returns the inherited socket for the first bind of its port.

    The socket is checked to be a listening TCP socket on exactly that host and port: an fd
    number that means something else in this process is never served on.
    """
    state = {"left": takeover}

    def binder(host: str, port: int) -> socket.socket:
        handed = state["left"]
        state["left"] = None
        if handed is None or handed.fd < 0:
            return bind(host, port)
        try:
            sock = socket.socket(fileno=handed.fd)
        except OSError as exc:
            raise TakeoverError(f"the handed-over socket (fd {handed.fd}) is gone: {exc}") from exc
        try:
            listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
            ok = sock.type == socket.SOCK_STREAM and listening
            ok = ok and sock.getsockname()[:2] == (host, port) and port == handed.port
        except OSError:
            ok = False
        if not ok:
            if port != handed.port:
                sock.close()  # ours, for a port config.yaml no longer names: let it go
            else:
                sock.detach()  # not ours to close: only a socket we checked is adopted
            log.warning("handed-over fd %d is not a listener on %s:%d", handed.fd, host, port)
            return bind(host, port)
        sock.set_inheritable(True)
        return sock

    return binder


def successor_command(argv: list[str]) -> list[str]:
    """The program a restart runs: the installed launcher (it picks the current version and
    watches one on trial), or this interpreter's module when running from source."""
    from tray_agent.update.boot import stable_executable

    if getattr(sys, "frozen", False):
        return [stable_executable(), *argv]
    return [sys.executable, "-m", "tray_agent", *argv]


def start_successor(
    listener: socket.socket | None, lock_fd: int, argv: list[str], log_file: Path
) -> int:
    """Start the successor with ``listener`` inherited; its pid. It outlives this process:
    own session, so a signal to our terminal's group does not end it."""
    if not SUPPORTED:
        raise TakeoverError("a restart without downtime needs POSIX socket inheritance")
    from tray_agent.update.boot import BASE_ENV, CHILD_ENV

    fd, port = (-1, 0) if listener is None else (listener.fileno(), listener.getsockname()[1])
    # The launcher's own markers would make it skip choosing the version: drop them.
    env = {k: v for k, v in os.environ.items() if k not in (BASE_ENV, CHILD_ENV, TAKEOVER_ENV)}
    takeover = Takeover(fd, port, os.getpid(), lock_fd)
    env[TAKEOVER_ENV] = takeover.to_env()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(
            successor_command(argv),
            env=env,
            pass_fds=takeover.fds(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    # Reaped when it exits (a successor that gave up), so it does not look alive meanwhile.
    threading.Thread(target=proc.wait, name="successor-reaper", daemon=True).start()
    return proc.pid


@dataclass(frozen=True)
class Switched:
    """How a restart of the agent ended: who serves now, in which version."""

    old_pid: int
    new_pid: int | None  # None: nothing took over, the old agent still serves
    version: str | None

    @property
    def ok(self) -> bool:
        return self.new_pid is not None


def switch(paths: object, timeout: float) -> Switched:
    """Ask the running agent to restart into the current version and wait for its
    successor to answer the control channel (or for ``timeout``)."""
    from tray_agent.control.client import ControlClient
    from tray_agent.control.protocol import AgentNotRunning, ControlError
    from tray_agent.paths import Paths
    from tray_agent.supervisor import proctree

    assert isinstance(paths, Paths)
    with ControlClient.require(paths) as client:
        old = int(client.call("ping", timeout=10)["pid"])
        successor = int(client.call("agent_restart", timeout=30)["successor"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if not proctree.is_alive(successor) and proctree.is_alive(old):
            return Switched(old, None, None)  # it gave up (a launcher watching it too)
        try:
            now = ControlClient.connect(paths, wait=1)
            if now is None:
                continue
            with now:
                snap = now.call("status", timeout=5)
        except (ControlError, AgentNotRunning, OSError):
            continue  # between the two agents: the lock is being handed over
        agent = snap.get("agent", {}) if isinstance(snap, dict) else {}
        pid = agent.get("pid")
        # Done once the successor answers: the old agent may still drain a long stream.
        if isinstance(pid, int) and pid != old:
            return Switched(old, pid, agent.get("version"))
    return Switched(old, None, None)
