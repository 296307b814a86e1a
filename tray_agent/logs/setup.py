"""Structured, rotating, redacted log files for the agent and the captured sidecar output."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from pathlib import Path
from typing import Any

from tray_agent.logs.redact import REDACTOR

MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 3


class StructuredFormatter(logging.Formatter):
    """``TIME LEVEL COMPONENT EVENT key=value ...``; message text is the event."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        ts += f".{int(record.msecs):03d}Z"
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


def rotating_handler(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    return handler


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
    """Captured sidecar output: rotating file + the last lines in memory, redacted."""

    def __init__(self, path: Path, keep: int = 200) -> None:
        self._logger = logging.getLogger(f"sidecar-output.{id(self)}")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        h = rotating_handler(path)
        h.setFormatter(logging.Formatter("%(message)s"))
        self._handler = h
        self._logger.addHandler(h)
        self._keep = keep
        self.tail: list[str] = []

    def write(self, pid: int, stream: str, line: str) -> None:
        clean = REDACTOR.redact(line.rstrip("\n"))
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._logger.info("%s pid=%d %s %s", ts, pid, stream, clean)
        self.tail.append(clean)
        if len(self.tail) > self._keep:
            del self.tail[: len(self.tail) - self._keep]

    def close(self) -> None:
        self._logger.removeHandler(self._handler)
        self._handler.close()
