"""Atomic file writes (temp file in the same directory, fsync, rename) and file locks.

Killing the process mid-write leaves either the old file or the new one, never a
truncated one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tray_agent.platform import files

# A temp file older than this belongs to a writer that died: a live one renames it in
# milliseconds, and its mtime moves while it writes.
STALE_TEMP_AGE = 60.0


class WriteError(OSError):
    """A file could not be written; ``str()`` names the file and what to do."""

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


def write_problem(exc: OSError, target: Path) -> str:
    """What went wrong writing ``target`` and what the user can do about it."""
    where = target.parent
    advice = {
        errno.ENOSPC: f"no space left on the device; free some space on the disk holding {where}",
        errno.EDQUOT: f"disk quota exceeded; free some space in your quota on {where}",
        errno.EROFS: f"{where} is on a read-only file system; make it writable",
        errno.EACCES: f"permission denied; make {where} writable by you",
        errno.EPERM: f"operation not permitted; make {where} writable by you",
    }.get(exc.errno or 0)
    return f"{advice}, then try again" if advice else (exc.strerror or str(exc))


def remove_stale_temps(target: Path, max_age: float = STALE_TEMP_AGE) -> None:
    """Delete ``.<name>.XXXXXXXX.tmp`` files left next to ``target`` by interrupted writes."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp")
    cutoff = time.time() - max_age
    with contextlib.suppress(OSError), os.scandir(target.parent) as it:
        for item in it:
            if not pattern.fullmatch(item.name):
                continue
            with contextlib.suppress(OSError):
                if item.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(item.path)


def atomic_write(path: Path | str, data: str | bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically, creating it with ``mode`` permissions.

    Raises WriteError (an OSError naming the file and what to do) when it cannot.
    """
    target = Path(path)
    try:
        _atomic_write(target, data, mode)
    except WriteError:
        raise
    except OSError as exc:
        raise WriteError(exc.errno, write_problem(exc, target), str(target)) from exc


def _atomic_write(target: Path, data: str | bytes, mode: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    # Before writing: on a full disk, the space the dead writers' temps hold is given back.
    remove_stale_temps(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        files.set_mode(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    files.fsync_dir(target.parent)


def content_hash(path: Path | str) -> str | None:
    """SHA-256 of a file's bytes, or None when it does not exist."""
    import hashlib
    import stat

    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            # A device or FIFO (config.yaml -> /dev/zero) is never read: its identity stands in.
            return f"not-a-file:{info.st_mode}:{info.st_dev}:{info.st_ino}"
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except FileNotFoundError:
        return None


MAX_LOCK_WAIT = 120.0


class LockTimeout(OSError):
    """Another process kept a product file locked for longer than we wait."""


@contextlib.contextmanager
def file_lock(
    path: Path | str, timeout: float = 15.0, max_wait: float = MAX_LOCK_WAIT
) -> Iterator[None]:
    """Hold an exclusive cross-process lock for a read-modify-write of ``path``.

    The lock is an OS lock on a sibling file ``.<name>.lock`` (0600, never removed: removing
    it would let two processes lock two different inodes). Every writer of a product file
    takes it around its read and its write, so concurrent commands never lose an update.

    ``timeout`` bounds how long one holder may keep the lock, not the wait in a queue: each
    holder writes its pid and a nonce into the lock file, and a waiter's deadline restarts
    whenever the holder changes. Twenty commands started at once all get their turn; one
    hung command is named after ``timeout`` s. ``max_wait`` bounds the whole wait however
    the queue moves: a process that holds the lock and keeps rewriting the file (which looks
    like a moving queue) cannot keep a waiter forever.
    """
    from tray_agent.platform import locks

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_path = target.parent / f".{target.name}.lock"
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(lock_path, flags, 0o600)
    fh = os.fdopen(fd, "r+", encoding="utf-8")
    deadline = time.monotonic() + timeout
    give_up = time.monotonic() + max_wait
    delay = 0.005
    holder = _lock_holder(fd)
    try:
        while True:
            try:
                locks.try_lock(fh)
                break
            except OSError:
                now_holding = _lock_holder(fd)
                if now_holding != holder:  # the queue moved: a new holder gets a full timeout
                    holder = now_holding
                    deadline = min(time.monotonic() + timeout, give_up)
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        11,
                        f"{target} is locked by another litellm-bridge process for more than "
                        f"{timeout:.0f} s; try again, or look for a hung command",
                        str(target),
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        _claim(fd)
        try:
            yield
        finally:
            locks.unlock(fh)
    finally:
        fh.close()


def _lock_holder(fd: int) -> bytes:
    """What the current holder of a lock file wrote into it (b"" when unreadable)."""
    try:
        return os.pread(fd, 64, 0) if hasattr(os, "pread") else b""
    except OSError:  # Windows: the locked byte range cannot be read by others
        return b""


def _claim(fd: int) -> None:
    """Mark the lock file as held by this process, this time (read by waiters)."""
    with contextlib.suppress(OSError):
        mark = f"{os.getpid()} {os.urandom(6).hex()}".encode().ljust(40)
        if hasattr(os, "pwrite"):
            os.pwrite(fd, mark, 0)


@contextlib.contextmanager
def locked(path: Path | str, error: Callable[[str], Exception]) -> Iterator[None]:
    """``file_lock(path)`` for a caller with its own error type: failing to take the lock
    raises ``error("cannot lock <path>: <why>")``."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(file_lock(path))
        except OSError as exc:
            raise error(f"cannot lock {path}: {exc.strerror or exc}") from exc
        yield


class FileRefused(OSError):
    """A product file that is not a regular file, or is larger than its reader allows."""


def read_bytes_capped(path: Path | str, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path`` (symlinks followed), at most ``limit`` of them.

    Raises ``FileRefused`` (an OSError whose message names the file and the limit) for a
    directory, device, FIFO or socket and for a file over ``limit`` bytes, so that a
    ``config.yaml`` pointing at ``/dev/zero`` or a huge file fails at once with a clear
    message instead of running out of memory. Other OSErrors (missing, no permission) pass.
    """
    import errno
    import stat

    target = Path(path)
    # O_NONBLOCK: opening a FIFO nobody writes to must not hang; regular files ignore it.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(target, flags)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileRefused(errno.EISDIR, f"{what} is a directory, not a file", str(target))
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(
                errno.EINVAL,
                f"{what} is not a regular file (a device, FIFO or socket); "
                "point it at an ordinary file",
                str(target),
            )
        too_big = FileRefused(
            errno.EFBIG,
            f"{what} is larger than the {limit:,}-byte limit; is it the right file?",
            str(target),
        )
        if info.st_size > limit:
            raise too_big
        chunks: list[bytes] = []
        left = limit + 1  # one byte more tells a file that grew past the limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise too_big
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text_capped(path: Path | str, limit: int, what: str = "file") -> str:
    """``read_bytes_capped`` decoded as UTF-8 (a BOM is dropped); UnicodeDecodeError passes."""
    return read_bytes_capped(path, limit, what).decode("utf-8-sig")
