"""Linux, macOS and other POSIX systems: sessions, ``killpg``, ``flock``, inherited fds.

The sidecar gets the events pipe's write end and the agent's listening socket as plain
inherited file descriptors (``pass_fds``), named by ``LITELLM_BRIDGE_EVENTS_FD`` and
``LITELLM_BRIDGE_LISTEN_FD``.
"""

from __future__ import annotations

import sys

# Never imported on Windows; the assert tells mypy (``--platform win32``) to skip the rest.
assert sys.platform != "win32"

import contextlib  # noqa: E402
import fcntl  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import IO, Any  # noqa: E402

from tray_agent.platform._base import SpawnOptions  # noqa: E402
from tray_agent.wire import EVENTS_FD_ENV, LISTEN_FD_ENV  # noqa: E402


class Processes:
    def popen_kwargs(self) -> dict[str, Any]:
        return {"start_new_session": True}

    def signal_tree(self, pid: int, children: list[int], hard: bool) -> None:
        sig = signal.SIGKILL if hard else signal.SIGTERM
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        for c in children:  # descendants that left the group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(c, sig)

    def kill_pids(self, pids: list[int]) -> None:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def set_address_limit(self, pid: int, soft: int | None) -> bool:
        import resource

        prlimit = getattr(resource, "prlimit", None)  # Linux only
        if prlimit is None:
            return False
        try:
            _, hard = prlimit(pid, resource.RLIMIT_AS)
            if soft is None:
                soft = hard
            elif hard != resource.RLIM_INFINITY:
                soft = min(soft, hard)
            prlimit(pid, resource.RLIMIT_AS, (soft, hard))
        except (OSError, ValueError):
            return False
        return True


class Locks:
    def try_lock(self, fh: IO[str]) -> None:
        fh.seek(0)
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def unlock(self, fh: IO[str]) -> None:
        fh.seek(0)
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class Handoff:
    def spawn_options(self, events_fd: int, listener: socket.socket | None) -> SpawnOptions:
        options = SpawnOptions(env={EVENTS_FD_ENV: str(events_fd)}, popen={})
        fds = [events_fd]
        if listener is not None:
            fds.append(listener.fileno())
            options.env[LISTEN_FD_ENV] = str(listener.fileno())
        options.popen["pass_fds"] = fds
        return options

    def after_spawn(
        self, proc: subprocess.Popen[bytes], listener: socket.socket | None
    ) -> list[dict[str, Any]]:
        return []


class Files:
    posix_permissions = True

    def user_id(self) -> int:
        return os.geteuid()

    def set_mode(self, fd: int, mode: int) -> None:
        os.fchmod(fd, mode)

    def fsync_dir(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            dfd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def peer_uid(self, conn: Any) -> int | None:
        peercred = getattr(socket, "SO_PEERCRED", None)  # Linux; macOS has no such option
        if peercred is None:
            return None
        s = socket.socket(fileno=os.dup(conn.fileno()))
        try:
            raw = s.getsockopt(socket.SOL_SOCKET, peercred, struct.calcsize("3i"))
            _pid, uid, _gid = struct.unpack("3i", raw)
            return int(uid)
        finally:
            s.close()

    def reuse_address(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)


PROCESSES = Processes()
LOCKS = Locks()
HANDOFF = Handoff()
FILES = Files()
