"""The audit log on disk: append under a cross-process lock, rotate, seal, retain.

Every writer -- the agent's batched writer and a CLI command recording its own action --
appends through ``AuditLog.append``: it takes the log's file lock, reads the head (the last
complete line of the newest file: its ``seq`` and hash), writes the new lines in one go and
fsyncs. So the agent and any number of commands keep one unbroken chain, whoever wrote last.

Files are ``audit-<UTC day>-<first seq, 12 digits>.jsonl``. A new file is started (only by a
writer that can sign) when the day changed or the file reached ``max_file_bytes``; it starts
with a checkpoint, so it still verifies once older files are gone. A line cut off by a crash
or a full disk (never a whole one: lines are written whole) is removed before the next
append, which then rewrites what failed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tray_agent import formats
from tray_agent.audit.chain import CHECKPOINT, GENESIS, MAX_LINE_BYTES, decode, encode, line_hash
from tray_agent.audit.chain import stamp as make_stamp
from tray_agent.audit.keys import Signer
from tray_agent.fsutil import MAX_LOCK_WAIT, file_lock

FILE_RE = re.compile(r"audit-(\d{8})-(\d{12})\.jsonl")
LOCK_NAME = "audit.jsonl"  # file_lock takes ``.audit.jsonl.lock`` beside the files
MAX_FILE_BYTES = 16 * 1024 * 1024
Event = tuple[str, dict[str, Any]]


def log_files(audit_dir: Path) -> list[Path]:
    """The log's files, oldest first (ordered by the first ``seq`` in their name)."""
    try:
        names = os.listdir(audit_dir)
    except FileNotFoundError:
        return []
    found = [(int(m.group(2)), n) for n in names if (m := FILE_RE.fullmatch(n))]
    return [audit_dir / n for _, n in sorted(found)]


@dataclass(frozen=True)
class Head:
    seq: int  # of the last line (0: empty log)
    hash: str  # of the last line (GENESIS: empty log)
    file: Path | None  # the newest file
    size: int  # its size in bytes
    event: str | None = None  # of the last line


class AuditTampered(Exception):
    """The log no longer holds the chain this installation sealed: nothing is signed over it."""


@dataclass(frozen=True)
class Appended:
    first_seq: int
    last_seq: int
    head: str
    file: Path
    checkpoints: int


def _last_line(path: Path) -> tuple[bytes | None, int]:
    """(last complete line, size after dropping a cut-off line) of ``path``."""
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return None, 0
        start = max(0, size - MAX_LINE_BYTES - 2)
        fh.seek(start)
        tail = fh.read()
        if not tail.endswith(b"\n"):
            cut = tail.rfind(b"\n")
            keep = start + cut + 1 if cut >= 0 else (0 if start == 0 else size)
            if keep != size:
                fh.truncate(keep)
                os.fsync(fh.fileno())
                tail = tail[: keep - start]
                size = keep
        lines = tail.rstrip(b"\n").rsplit(b"\n", 1)
        return (lines[-1] if lines[-1] else None), size


class AuditLog:
    """One audit directory; ``signer`` (None: cannot seal or rotate, e.g. no keyring)."""

    def __init__(
        self,
        audit_dir: Path,
        signer: Signer | None,
        *,
        wall: Any = time.time,
        max_file_bytes: int = MAX_FILE_BYTES,
        lock_wait: float = MAX_LOCK_WAIT,
    ) -> None:
        self.dir = audit_dir
        self.signer = signer
        self.wall = wall
        self.max_file_bytes = max_file_bytes
        self.lock_wait = lock_wait  # how long a write waits for the log's lock, at most
        self._formats: dict[Path, object] = {}  # a file's format (its first line never changes)

    def _locked(self) -> Any:
        return file_lock(
            self.dir / LOCK_NAME, timeout=min(15.0, self.lock_wait), max_wait=self.lock_wait
        )

    def _head(self) -> Head:
        files = log_files(self.dir)
        newest = files[-1] if files else None
        newest_size = 0
        for path in reversed(files):
            line, size = _last_line(path)
            if path == newest:
                newest_size = size
            if line is None:
                continue  # an empty file: the head is in the one before
            seq, event = _seq_of(line)
            return Head(seq, line_hash(line), newest, newest_size, event)
        return Head(0, GENESIS, newest, newest_size, None)

    def head(self) -> Head:
        with self._locked():
            return self._head()

    def _checkpoint(self, seq: int, prev: str, now: float) -> bytes:
        assert self.signer is not None
        when = make_stamp(now)
        fields = {
            "count": seq - 1,
            "key": self.signer.key_id,
            "sig": self.signer.sign(seq - 1, prev, when),
            # The format of the lines from here on (tray_agent.formats). Lines are never
            # rewritten (that would break the chain): a new format starts at a checkpoint.
            "format": _format(),
        }
        return encode(seq, when, CHECKPOINT, fields, prev)

    def _format_of(self, path: Path) -> object:
        if path not in self._formats:
            self._formats[path] = _file_format(path)
        return self._formats[path]

    def _needs_new_file(self, head: Head, day: str) -> bool:
        if head.file is None:
            return True
        if self._format_of(head.file) != _format():
            # Lines go only into a file of this version's format (after an update or a
            # rollback): a new file starts with a checkpoint that states it.
            return True
        match = FILE_RE.fullmatch(head.file.name)
        return match is None or match.group(1) != day or head.size >= self.max_file_bytes

    def append(
        self,
        events: Sequence[Event],
        *,
        seal: bool = False,
        sealed_from: tuple[int, str] | None = None,
    ) -> Appended | None:
        """Write ``events`` (and a checkpoint after them when ``seal``); None when there was
        nothing to write. Raises ``OSError`` when the log cannot be written (nothing of this
        call then stays in the file).

        ``sealed_from``: (seq, hash) of the last checkpoint this installation signed. Before
        signing anything the chain must still run from it to the head (a log cut back or
        rewritten since is never signed over): else ``AuditTampered``, nothing written."""
        if not events and not (seal and self.signer is not None):
            return None
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._locked():
            now = float(self.wall())
            head = self._head()
            seq, prev = head.seq, head.hash
            lines: list[bytes] = []
            checkpoints = 0
            day = time.strftime("%Y%m%d", time.gmtime(now))
            target = head.file
            rotating = self.signer is not None and self._needs_new_file(head, day)
            if not rotating and head.file is not None:
                found = self._format_of(head.file)
                if found != _format():  # and no key to start a new file with
                    raise OSError(errno.EPROTO, str(formats.FormatError(head.file, "audit", found)))
            if (seal or rotating) and self.signer is not None and sealed_from is not None:
                problem = chain_problem(self.dir, *sealed_from)  # only before signing
                if problem is not None:
                    raise AuditTampered(problem)
            if rotating:
                target = self.dir / f"audit-{day}-{seq + 1:012d}.jsonl"
                line = self._checkpoint(seq + 1, prev, now)
                lines.append(line)
                seq, prev, checkpoints = seq + 1, line_hash(line), 1
            elif target is None:
                target = self.dir / f"audit-{day}-{seq + 1:012d}.jsonl"
            when = make_stamp(now)
            for name, fields in events:
                line = encode(seq + 1, when, name, fields, prev)
                lines.append(line)
                seq, prev = seq + 1, line_hash(line)
            sealed = (checkpoints and not events) or (not lines and head.event == CHECKPOINT)
            if seal and self.signer is not None and not sealed:
                line = self._checkpoint(seq + 1, prev, now)
                lines.append(line)
                seq, prev, checkpoints = seq + 1, line_hash(line), checkpoints + 1
            if not lines:
                return None
            _write_whole(target, b"".join(line + b"\n" for line in lines))
            return Appended(seq - len(lines) + 1, seq, prev, target, checkpoints)

    def prune(self, retention_days: int, max_total_bytes: int) -> list[Path]:
        """Remove whole old files (never the newest) past the age or the size cap, as long
        as the oldest file left starts with a checkpoint that anchors it."""
        removed: list[Path] = []
        with self._locked():
            files = log_files(self.dir)
            cutoff = float(self.wall()) - retention_days * 86400
            sizes = {p: _size(p) for p in files}
            total = sum(sizes.values())
            for i, path in enumerate(files[:-1]):
                old = _mtime(path) < cutoff
                if not (old or total > max_total_bytes):
                    break
                if not _starts_with_checkpoint(files[i + 1]):
                    break
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                removed.append(path)
                total -= sizes[path]
        return removed


_SEQ_RE = re.compile(rb'"seq":(\d{1,15})[,}]')


def _seq_of(line: bytes) -> tuple[int, str | None]:
    """(seq, event) of the last line; a damaged line (verify names it) still yields its
    ``seq`` when one can be read, so the chain goes on from it."""
    try:
        record = decode(line)
        return int(record["seq"]), str(record["event"])
    except ValueError:
        match = _SEQ_RE.search(line)
        return (int(match.group(1)) if match else 0), None


def chain_problem(audit_dir: Path, seq: int, digest: str) -> str | None:
    """Why the log does not run unbroken from line ``seq`` hashing to ``digest`` to its end
    (None when it does). Reads from the file holding ``seq`` on."""
    files = log_files(audit_dir)
    start = 0
    for i, path in enumerate(files):
        match = FILE_RE.fullmatch(path.name)
        if match is not None and int(match.group(2)) <= seq:
            start = i
    prev: str | None = None
    expected = seq
    for path in files[start:]:
        for number, raw, complete in lines_of(path):
            if not complete:
                break  # a line being written, or cut off: not part of the chain
            try:
                line_seq, line_prev = _seq_and_prev(raw)
            except ValueError:
                if prev is None:
                    continue
                return f"{path}:{number}: not an audit line"
            if prev is None:
                if line_seq < seq:
                    continue
                if line_seq != seq or line_hash(raw) != digest:
                    return (
                        f"seq {seq}, the last checkpoint this installation signed, is not in "
                        f"the log as it was signed: the log was cut back or rewritten since"
                    )
            elif line_seq != expected or line_prev != prev:
                return f"{path}:{number} (seq {line_seq}): the chain breaks after seq {seq}"
            prev, expected = line_hash(raw), line_seq + 1
    if prev is None:
        return (
            f"seq {seq}, the last checkpoint this installation signed, is missing: the log "
            "was cut back or removed since"
        )
    return None


def _seq_and_prev(raw: bytes) -> tuple[int, str]:
    record = decode(raw)
    return int(record["seq"]), str(record["prev"])


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _starts_with_checkpoint(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            first = fh.readline(MAX_LINE_BYTES + 1).rstrip(b"\n")
        return decode(first).get("event") == CHECKPOINT
    except (OSError, ValueError):
        return False


def _format() -> int:
    """The format this version writes (looked up on each use: tests raise it)."""
    return formats.current(formats.AUDIT.name)


def _file_format(path: Path) -> object:
    """The format a file's first line states (a checkpoint's ``format``; none: 1)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(MAX_LINE_BYTES + 1).rstrip(b"\n")
        record = decode(first)
    except (OSError, ValueError):
        return _format()  # empty or damaged: verify names it, writing goes on
    return formats.format_of(record, "audit") if record.get("event") == CHECKPOINT else 1


def _write_whole(path: Path, data: bytes) -> None:
    """Append ``data`` and fsync; on failure cut the file back so no part of it stays."""
    new = not path.exists()
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        start = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)
    if new:
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def lines_of(path: Path) -> Iterable[tuple[int, bytes, bool]]:
    """(line number, bytes without newline, complete) of each line of ``path``."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            yield number, raw.rstrip(b"\n"), raw.endswith(b"\n")
