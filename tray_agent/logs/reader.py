"""Read the log files directly (no agent needed): parse, filter, merge, follow.

Lines look like ``TIME LEVEL COMPONENT EVENT ...`` in both files (the sidecar's are
``TIME LEVEL sidecar out|err pid=N TEXT``); a line without that header continues the entry
above it (tracebacks). Rotated files (``agent.log.1`` ...) are read oldest first.
"""

from __future__ import annotations

import calendar
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tray_agent.logs.setup import BACKUPS, SIDECAR_COMPONENT

_HEADER = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) "
    r"(DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+(\S+)(?: (.*))?$"
)
# Sidecar lines written before levels were added: ``TIME pid=N out|err TEXT``.
_OLD_SIDECAR = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (pid=\d+ (?:out|err).*)$")
LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass
class LogEntry:
    when: float
    level: str
    component: str
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def parse_time(stamp: str) -> float:
    """Epoch seconds of ``2024-01-02T03:04:05.678Z``."""
    base, _, frac = stamp.rstrip("Z").partition(".")
    whole = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return whole + (float("0." + frac) if frac else 0.0)


def parse_header(line: str) -> LogEntry | None:
    m = _HEADER.match(line)
    if m:
        return LogEntry(parse_time(m.group(1)), m.group(2), m.group(3), [line])
    m = _OLD_SIDECAR.match(line)
    if m:
        return LogEntry(parse_time(m.group(1)), "INFO", SIDECAR_COMPONENT, [line])
    return None


def parse_lines(lines: Iterable[str]) -> Iterator[LogEntry]:
    current: LogEntry | None = None
    for raw in lines:
        line = raw.rstrip("\r\n")
        entry = parse_header(line)
        if entry is not None:
            if current is not None:
                yield current
            current = entry
        elif current is not None:
            current.lines.append(line)
        elif line:
            # A continuation whose header was rotated away: keep it, undated.
            current = LogEntry(0.0, "INFO", "?", [line])
    if current is not None:
        yield current


def parse_since(text: str, now: float | None = None) -> float:
    """``10m``, ``2h``, ``1d``, ``90`` (seconds) or an ISO 8601 time -> epoch seconds."""
    now = time.time() if now is None else now
    m = _DURATION.match(text)
    if m:
        return now - float(m.group(1)) * _UNIT[m.group(2).lower()]
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"cannot read --since {text!r}: use a duration such as 30s, 10m, 2h, 1d or a time "
            "such as 2024-05-01T09:30"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # local time, as the user typed it
    return parsed.astimezone(UTC).timestamp()


def level_value(name: str) -> int:
    key = name.strip().upper()
    key = {"WARN": "WARNING", "ERR": "ERROR", "FATAL": "CRITICAL"}.get(key, key)
    if key not in LEVELS:
        raise ValueError(f"unknown level {name!r}: use one of {', '.join(LEVELS)}")
    return LEVELS[key]


@dataclass
class LogFilter:
    min_level: int = 0
    pattern: re.Pattern[str] | None = None
    since: float | None = None
    components: tuple[str, ...] = ()

    def header_matches(self, entry: LogEntry) -> bool:
        if LEVELS.get(entry.level, 20) < self.min_level:
            return False
        if self.since is not None and entry.when < self.since:
            return False
        if self.components:
            comp = entry.component
            if not any(comp == c or comp.startswith(c + ".") for c in self.components):
                return False
        return True

    def matches(self, entry: LogEntry) -> bool:
        if not self.header_matches(entry):
            return False
        return self.pattern is None or self.pattern.search(entry.text) is not None


def make_filter(
    level: str | None = None,
    grep: str | None = None,
    since: str | None = None,
    components: Iterable[str] = (),
    now: float | None = None,
) -> LogFilter:
    """Build a filter from command-line values; raises ValueError with a usable message."""
    pattern = None
    if grep:
        try:
            pattern = re.compile(grep)
        except re.error:
            pattern = re.compile(re.escape(grep))
    comps = tuple(
        c.strip().removeprefix("tray_agent.")
        for value in components
        for c in value.split(",")
        if c.strip()
    )
    return LogFilter(
        min_level=level_value(level) if level else 0,
        pattern=pattern,
        since=parse_since(since, now) if since else None,
        components=comps,
    )


def log_files(base: Path) -> list[Path]:
    """``base`` and its rotated copies, oldest first."""
    rotated = [base.with_name(f"{base.name}.{i}") for i in range(BACKUPS + 5, 0, -1)]
    return [p for p in (*rotated, base) if p.exists()]


def _read(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            return fh.readlines()
    except OSError:
        return []


def read_entries(bases: Iterable[Path], flt: LogFilter | None = None) -> list[LogEntry]:
    """Every matching entry of the given logs, merged in time order."""
    entries: list[LogEntry] = []
    for base in bases:
        for path in log_files(base):
            entries.extend(parse_lines(_read(path)))
    entries.sort(key=lambda e: e.when)  # stable: same-time lines keep their file order
    return [e for e in entries if flt is None or flt.matches(e)]


class Follower:
    """Tail files like ``tail -F``: survives rotation and truncation."""

    def __init__(self, bases: Iterable[Path], flt: LogFilter) -> None:
        self.flt = flt
        self._files: dict[Path, tuple[int, int]] = {}  # path -> (inode, offset)
        self._partial: dict[Path, str] = {}
        self._show: dict[Path, bool] = {}
        for base in bases:
            try:
                st = base.stat()
                self._files[base] = (st.st_ino, st.st_size)
            except OSError:
                self._files[base] = (0, 0)

    def poll(self) -> list[str]:
        """Lines appended since the last poll that pass the filter."""
        out: list[str] = []
        for path, (inode, offset) in list(self._files.items()):
            try:
                st = path.stat()
            except OSError:
                continue
            if st.st_ino != inode or st.st_size < offset:
                offset = 0  # rotated or truncated: the new file starts over
                self._partial[path] = ""
            if st.st_size == offset:
                self._files[path] = (st.st_ino, offset)
                continue
            try:
                with path.open("rb") as fh:
                    fh.seek(offset)
                    data = fh.read()
            except OSError:
                continue
            self._files[path] = (st.st_ino, offset + len(data))
            text = self._partial.get(path, "") + data.decode("utf-8", errors="replace")
            *complete, rest = text.split("\n")
            self._partial[path] = rest
            for line in complete:
                out.extend(self._accept(path, line.rstrip("\r")))
        return out

    def _accept(self, path: Path, line: str) -> list[str]:
        entry = parse_header(line)
        if entry is not None:
            show = self.flt.matches(entry)
            self._show[path] = self.flt.header_matches(entry)  # its continuation lines
            return [line] if show else []
        return [line] if self._show.get(path) and self.flt.pattern is None else []

    def run(
        self,
        emit: Callable[[str], None],
        interval: float = 0.5,
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        while not stop():
            for line in self.poll():
                emit(line)
            time.sleep(interval)


def tail_text(path: Path, max_bytes: int) -> str:
    """The last ``max_bytes`` of a file, starting at a line boundary."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            start = max(0, size - max_bytes)
            fh.seek(start)
            data = fh.read()
    except OSError as exc:
        return f"(cannot read {path.name}: {exc.strerror or exc})\n"
    if start > 0 and b"\n" in data:
        data = data[data.index(b"\n") + 1 :]
    return data.decode("utf-8", errors="replace")
