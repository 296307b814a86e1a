"""Structured, rotating, redacted log files for the agent and the captured sidecar output."""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import stat
import sys
import time
from pathlib import Path
from typing import IO, Any

from tray_agent.logs.redact import REDACTOR
from tray_agent.platform import POSIX_PERMISSIONS, files

# Size cap per log: MAX_BYTES * (BACKUPS + 1).
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 3
SIDECAR_COMPONENT = "sidecar"

_LEVEL_WORDS = re.compile(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|EXCEPTION)\b")
_LEVEL_NAMES = {"WARN": "WARNING", "EXCEPTION": "ERROR"}


def timestamp(when: float | None = None) -> str:
    """UTC, millisecond precision: the first field of every log line."""
    t = time.time() if when is None else when
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


class StructuredFormatter(logging.Formatter):
    """``TIME LEVEL COMPONENT EVENT key=value ...``; message text is the event."""

    def format(self, record: logging.LogRecord) -> str:
        ts = timestamp(record.created)
        component = record.name.removeprefix("tray_agent.")
        fields: dict[str, Any] = getattr(record, "fields", {}) or {}
        extra = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        line = f"{ts} {record.levelname:<7} {component} {record.getMessage()}"
        if extra:
            line += " " + extra
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return REDACTOR.redact(line)


def _quote(v: object) -> str:
    s = str(v)
    if not s or any(c.isspace() for c in s) or '"' in s:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return s


def open_log(path: Path | str, encoding: str | None = None) -> IO[Any]:
    """Open a log file for appending: 0600, never through a symlink, regular files only.

    Every log writer uses this, so a symlink planted where a log goes cannot make the agent
    append to another file, and a log created by an older version is made private.
    """
    parent = os.path.dirname(os.path.abspath(path))
    if POSIX_PERMISSIONS:
        pst = os.lstat(parent)
        if stat.S_ISLNK(pst.st_mode) or pst.st_uid != files.user_id():
            raise OSError(13, "the log folder must be a folder of yours, not a symlink", parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)  # FIFO: no hang
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if os.path.islink(path):
            why = "a log file must not be a symlink: remove it"
            raise OSError(exc.errno, why, str(path)) from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(21, "not a regular file: remove it", str(path))
        if st.st_nlink > 1:  # a hard link to another file would get our lines (and mode)
            raise OSError(31, "a log file must not be a hard link to another file", str(path))
        if POSIX_PERMISSIONS and st.st_mode & 0o077:
            files.set_mode(fd, 0o600)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    if encoding is None:
        return os.fdopen(fd, "ab")
    return os.fdopen(fd, "a", encoding=encoding)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """RotatingFileHandler whose files are opened with ``open_log``."""

    def _open(self) -> IO[Any]:  # type: ignore[override]
        return open_log(self.baseFilename, self.encoding or "utf-8")


def rotating_handler(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return PrivateRotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )


def configure_agent_logging(
    log_file: Path, console: bool = True, level: int = logging.INFO
) -> None:
    root = logging.getLogger("tray_agent")
    root.setLevel(level)
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    fh = rotating_handler(log_file)
    fh.setFormatter(StructuredFormatter())
    root.addHandler(fh)
    if console:
        ch = logging.StreamHandler(sys.stderr)
        ch.setFormatter(StructuredFormatter())
        ch.setLevel(logging.WARNING)
        root.addHandler(ch)
    root.propagate = False


def event(logger: logging.Logger, level: int, name: str, **fields: Any) -> None:
    """Log one structured event: ``event(log, logging.INFO, "sidecar.ready", pid=1)``."""
    logger.log(level, name, extra={"fields": fields})


class SidecarLog:
    """Captured sidecar output: rotating file + the last lines in memory, redacted.

    Each line is written as ``TIME LEVEL sidecar out|err pid=N TEXT`` so ``litellm-bridge
    logs`` reads both files the same way; the level is guessed from the text (LiteLLM and
    uvicorn print their own level names), and the lines of a traceback count as errors.
    """

    def __init__(self, path: Path, keep: int = 200) -> None:
        self._logger = logging.getLogger(f"sidecar-output.{id(self)}")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        h = rotating_handler(path)
        h.setFormatter(logging.Formatter("%(message)s"))
        self._handler = h
        self._logger.addHandler(h)
        self._keep = keep
        self._in_traceback: dict[tuple[int, str], bool] = {}
        self.tail: list[str] = []

    def _level(self, pid: int, stream: str, text: str) -> str:
        key = (pid, stream)
        if text.startswith("Traceback (most recent call last)"):
            self._in_traceback[key] = True
            return "ERROR"
        if self._in_traceback.get(key):
            if text.startswith((" ", "\t")) or not text:
                return "ERROR"
            self._in_traceback[key] = False
            return "ERROR"  # the exception line that ends the traceback
        m = _LEVEL_WORDS.search(text[:80])
        if m:
            return _LEVEL_NAMES.get(m.group(1), m.group(1))
        if "cannot start" in text:
            return "ERROR"
        return "INFO"

    def write(self, pid: int, stream: str, line: str) -> None:
        clean = REDACTOR.redact(line.rstrip("\r\n"))
        level = self._level(pid, stream, clean)
        self._logger.info(
            "%s %-7s %s %s pid=%d %s", timestamp(), level, SIDECAR_COMPONENT, stream, pid, clean
        )
        self.tail.append(clean)
        if len(self.tail) > self._keep:
            del self.tail[: len(self.tail) - self._keep]

    def close(self) -> None:
        self._logger.removeHandler(self._handler)
        self._handler.close()
