"""What every per-OS backend provides: one ``typing.Protocol`` per facade.

The backends (``_posix``, ``_win32`` for processes, locks, files and the sidecar hand-off;
``_xdg``, ``_darwin``, ``_win32`` for the desktop and start at login) are modules checked
against these protocols by mypy, on Linux and with ``--platform win32``.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol


class OpenerMissing(Exception):
    """Nothing on this system can open the file; the message names it to open by hand."""


class DesktopBackend(Protocol):
    """Show things to the user in the desktop's own programs; every call returns at once."""

    def open_folder(self, path: Path) -> None: ...

    def edit_file(self, path: Path, environ: Mapping[str, str]) -> str:
        """Open ``path`` in the default editor, detached; say how (raises OpenerMissing)."""
        ...

    def notify(self, title: str, message: str, icon: Path | None) -> bool: ...


class AutostartBackend(Protocol):
    """The per-user entry that starts the tray at login."""

    def is_enabled(self) -> bool: ...

    def enable(self, command: list[str], env: dict[str, str]) -> None: ...

    def disable(self) -> None: ...


class ProcessBackend(Protocol):
    """Process groups and whole-tree signals."""

    def popen_kwargs(self) -> dict[str, Any]:
        """Arguments that make a child lead its own group (so its tree can be signalled)."""
        ...

    def signal_tree(self, pid: int, children: list[int], hard: bool) -> None:
        """TERM (KILL when ``hard``) ``pid``, its group and ``children`` (found beforehand)."""
        ...

    def kill_pids(self, pids: list[int]) -> None:
        """KILL each of ``pids`` (descendants found before their leader was killed)."""
        ...

    def set_address_limit(self, pid: int, soft: int | None) -> bool:
        """Cap ``pid``'s address space at ``soft`` bytes (None: back to the hard limit);
        False where the OS cannot."""
        ...


class LockBackend(Protocol):
    """A non-blocking exclusive lock on an open file, released when the process ends."""

    def try_lock(self, fh: IO[str]) -> None:
        """Take the lock without waiting; OSError when another process holds it."""
        ...

    def unlock(self, fh: IO[str]) -> None: ...


@dataclass
class SpawnOptions:
    """What the spawn of one sidecar needs to hand it the events pipe and the socket."""

    env: dict[str, str] = field(default_factory=dict)
    popen: dict[str, Any] = field(default_factory=dict)


class SidecarHandoff(Protocol):
    """Passing the events pipe's write end and the listening socket to a sidecar."""

    def spawn_options(self, events_fd: int, listener: socket.socket | None) -> SpawnOptions:
        """Environment variables and ``Popen`` arguments for the child."""
        ...

    def after_spawn(
        self, proc: subprocess.Popen[bytes], listener: socket.socket | None
    ) -> list[dict[str, Any]]:
        """Messages to write to the child's stdin first (what needs the child's pid)."""
        ...


class FileSecurity(Protocol):
    """Owner and permission bits, where the OS has them."""

    posix_permissions: bool

    def user_id(self) -> int:
        """This process's (effective) user id; -1 where the OS has none."""
        ...

    def set_mode(self, fd: int, mode: int) -> None: ...

    def fsync_dir(self, path: Path) -> None: ...

    def peer_uid(self, conn: Any) -> int | None:
        """The user id at the other end of a control connection; None when unknown."""
        ...

    def reuse_address(self, sock: socket.socket) -> None:
        """Let the agent rebind its port at once, never sharing it with another program."""
        ...
