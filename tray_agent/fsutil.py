"""Atomic file writes (temp file in the same directory, fsync, rename) and file locks.

Killing the process mid-write leaves either the old file or the new one, never a
truncated one.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def atomic_write(path: Path | str, data: str | bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically, creating it with ``mode`` permissions."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if sys.platform != "win32":
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name != "nt":
        with contextlib.suppress(OSError):
            dfd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)


def content_hash(path: Path | str) -> str | None:
    """SHA-256 of a file's bytes, or None when it does not exist."""
    import hashlib

    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


class LockTimeout(OSError):
    """Another process kept a product file locked for longer than we wait."""


@contextlib.contextmanager
def file_lock(path: Path | str, timeout: float = 15.0) -> Iterator[None]:
    """Hold an exclusive cross-process lock for a read-modify-write of ``path``.

    The lock is an OS lock on a sibling file ``.<name>.lock`` (0600, never removed: removing
    it would let two processes lock two different inodes). Every writer of a product file
    takes it around its read and its write, so concurrent commands never lose an update.
    """
    from tray_agent.single_instance import _try_lock, _unlock

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_path = target.parent / f".{target.name}.lock"
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(lock_path, flags, 0o600)
    fh = os.fdopen(fd, "r+", encoding="utf-8")
    deadline = time.monotonic() + timeout
    delay = 0.005
    try:
        while True:
            try:
                _try_lock(fh)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        11,
                        f"{target} is locked by another litellm-bridge process for more than "
                        f"{timeout:.0f} s; try again, or look for a hung command",
                        str(target),
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            _unlock(fh)
    finally:
        fh.close()
