"""Follow a log file (rotation-aware) and filter its lines by level and text."""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LEVEL_RE = re.compile(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|Traceback)\b")


def line_level(line: str) -> str:
    m = _LEVEL_RE.search(line[:80])
    if not m:
        return "INFO"
    word = m.group(1)
    return {"WARN": "WARNING", "Traceback": "ERROR"}.get(word, word)


def matches(line: str, min_level: str, text: str) -> bool:
    if min_level != "ALL" and LEVELS.index(line_level(line)) < LEVELS.index(min_level):
        return False
    return not text or text.lower() in line.lower()


class LogTail:
    def __init__(self, path: Path, keep: int = 3000, start_bytes: int = 256 * 1024) -> None:
        self.path = path
        self.lines: deque[str] = deque(maxlen=keep)
        self._offset: int | None = None
        self._start = start_bytes
        self._partial = ""

    def poll(self) -> int:
        """Read what was appended since the last call; the number of new lines."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return 0
        if self._offset is None or size < self._offset:  # first read, or rotated
            self._offset = max(0, size - self._start)
            self._partial = ""
        if size == self._offset:
            return 0
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read(size - self._offset)
        self._offset = size
        text = self._partial + data.decode("utf-8", errors="replace")
        parts = text.split("\n")
        self._partial = parts.pop()
        self.lines.extend(parts)
        return len(parts)

    def filtered(self, min_level: str, text: str) -> list[str]:
        return [ln for ln in self.lines if matches(ln, min_level, text)]
