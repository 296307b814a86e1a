"""One agent per home: an OS file lock held for the agent's lifetime, naming its pid."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO


class AlreadyRunning(Exception):
    def __init__(self, pid: int | None, home: str) -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(
            f"another agent{who} is already running for {home}; use `litellm-bridge status` "
            "or `litellm-bridge stop --agent` to stop it"
        )
        self.pid = pid


class InstanceLock:
    def __init__(self, path: Path, home: str) -> None:
        self.path = path
        self.home = home
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the lifetime
        try:
            if sys.platform == "win32":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            text = fh.read().strip()
            fh.close()
            raise AlreadyRunning(int(text) if text.isdigit() else None, self.home) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.seek(0)
                self._fh.truncate()
            self._fh.close()
            self._fh = None
