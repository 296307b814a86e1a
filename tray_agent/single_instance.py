"""One agent per home: an OS file lock held for the agent's lifetime, naming its pid."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO

from tray_agent.platform import locks


class AlreadyRunning(Exception):
    def __init__(self, pid: int | None, home: str) -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(
            f"another agent{who} is already running for {home}; use `litellm-bridge status` "
            "or `litellm-bridge stop --agent` to stop it"
        )
        self.pid = pid


_try_lock = locks.try_lock  # OSError when another process holds it (flock or msvcrt)
_unlock = locks.unlock


def _recorded_pid(fh: IO[str]) -> int | None:
    fh.seek(0)
    text = fh.read().strip()
    return int(text) if text.isdigit() else None


class InstanceLock:
    def __init__(self, path: Path, home: str) -> None:
        self.path = path
        self.home = home
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the lifetime
        try:
            _try_lock(fh)
        except OSError:
            pid = _recorded_pid(fh)
            fh.close()
            raise AlreadyRunning(pid, self.home) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    @staticmethod
    def holder(path: Path) -> int | None:
        """The pid of another process holding the lock at ``path`` (0 if unknown), or None."""
        try:
            fh = open(path, "r+", encoding="utf-8")  # noqa: SIM115
        except OSError:
            return None
        with fh:
            try:
                _try_lock(fh)
            except OSError:
                pid = _recorded_pid(fh) or 0
                return None if pid == os.getpid() else pid
            _unlock(fh)
            return None

    def adopt(self, fd: int) -> None:
        """Hold the lock through ``fd``, inherited from the agent this one takes over from.

        A flock belongs to the open file, not the process: the inherited descriptor holds
        the very lock the predecessor took, so the hand-over leaves no moment in which
        another agent could take it. Refused unless ``fd`` is this lock file and holds it.
        """
        fh = open(fd, "r+", encoding="utf-8", closefd=True)  # noqa: SIM115 - held for life
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            _try_lock(fh)  # succeeds at once on the description that holds the lock
        except OSError as exc:
            fh.close()
            raise AlreadyRunning(None, self.home) from exc
        if not same:
            fh.close()
            raise AlreadyRunning(None, self.home)
        self._fh = fh  # the file still names the predecessor until we relieved it

    def record_pid(self) -> None:
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.write(str(os.getpid()))
            self._fh.flush()

    def fileno(self) -> int | None:
        return None if self._fh is None else self._fh.fileno()

    def release(self, handed_over: bool = False) -> None:
        """Let go; ``handed_over``: the successor holds the same lock and its pid is in the
        file, so only close our descriptor (never unlock: that would free it for both)."""
        if self._fh is not None:
            if not handed_over:
                with contextlib.suppress(OSError):
                    self._fh.seek(0)
                    self._fh.truncate()
            self._fh.close()
            self._fh = None
