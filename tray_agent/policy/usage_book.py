"""Quota counters per employee, what a request adds to them, and their file (``usage.json``).

Pure bookkeeping: no threads, no clock of its own (every call gets ``now``), so the period
math and the file format are tested without an agent. ``tray_agent.policy.usage`` runs it.

What counts (``charge``):
- A request counts when it was answered with success (status below 400). Requests the bridge
  refused itself (wrong key 401, a denied model 403, a rate limit or quota 429: the event
  then carries ``refused``) never reached the internal API; an upstream failure (4xx/5xx,
  a broken connection) produced nothing, and an outage should not use up anyone's day.
- Tokens count whenever the sidecar reports them (also on a failed call): the upstream said
  they were used.
- Listing models and counting tokens (``/v1/models``, ``count_tokens``, ``countTokens``) are
  not generation requests and count for nothing.

Periods: counters carry the day and month they belong to (in the policy's time zone) and
start again at zero when the current day or month is later. A day or month that reads
*earlier* than the stored one (the wall clock was set back, or the policy moved to a zone
further west) keeps the counts: a clock change never hands out a fresh quota.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tray_agent import formats, strictjson
from tray_agent.fsutil import atomic_write, read_bytes_capped
from tray_agent.policy.periods import DEFAULT_ZONE, Period, period_at
from tray_agent.policy.recent import NOT_GENERATING, RecentWindow

log = logging.getLogger("tray_agent.policy.usage")

USAGE_FILE = "usage.json"
FILE_VERSION = formats.USAGE.current
MAX_FILE_BYTES = 1 << 20
MAX_EMPLOYEES = 64  # employees remembered on one machine (the least recent are dropped)
MAX_COUNT = 10**15  # far above any quota (the schema caps them at 10**12)
UNKNOWN = "unknown"  # the counters' key while nobody is signed in
QUOTA_KEYS = ("requests_per_day", "tokens_per_day", "tokens_per_month")


def _count(value: Any) -> int:
    """A non-negative int from untrusted JSON (anything else is 0), capped."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return min(value, MAX_COUNT)


def _limit(value: Any) -> int | None:
    """A quota from untrusted JSON: a non-negative int, else no quota."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return min(value, MAX_COUNT)


def charge(payload: dict[str, Any]) -> tuple[int, int]:
    """(requests, tokens) one sidecar ``request`` event adds to the counters."""
    if payload.get("refused"):
        return 0, 0
    route = str(payload.get("route") or "")
    if route.endswith(NOT_GENERATING):
        return 0, 0
    status = payload.get("status")
    succeeded = isinstance(status, int) and not isinstance(status, bool) and 0 < status < 400
    tokens = _count(payload.get("tokens_in")) + _count(payload.get("tokens_out"))
    return (1 if succeeded else 0), tokens


@dataclass
class Counts:
    """One employee's counters and the day/month they belong to."""

    day: str
    month: str
    requests_today: int = 0
    tokens_today: int = 0
    tokens_month: int = 0
    seen: float = 0.0  # epoch of the last change (the most recent employee is shown offline)

    def roll(self, period: Period) -> bool:
        """Start a later day or month from zero; True when anything changed."""
        changed = False
        if period.month > self.month:
            self.month, self.tokens_month = period.month, 0
            changed = True
        elif period.month < self.month:
            self.month = period.month
        if period.day > self.day:
            self.day, self.requests_today, self.tokens_today = period.day, 0, 0
            changed = True
        elif period.day < self.day:
            self.day = period.day
        return changed

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "month": self.month,
            "requests_today": self.requests_today,
            "tokens_today": self.tokens_today,
            "tokens_month": self.tokens_month,
            "seen": self.seen,
        }

    @classmethod
    def from_json(cls, data: Any) -> Counts | None:
        if not isinstance(data, dict):
            return None
        day, month = data.get("day"), data.get("month")
        if not (isinstance(day, str) and isinstance(month, str)):
            return None
        seen = data.get("seen")
        return cls(
            day=day[:10],
            month=month[:7],
            requests_today=_count(data.get("requests_today")),
            tokens_today=_count(data.get("tokens_today")),
            tokens_month=_count(data.get("tokens_month")),
            seen=float(seen) if isinstance(seen, int | float) and seen == seen else 0.0,
        )


class UsageBook:
    """Every employee's counters, the quota last seen and its time zone."""

    def __init__(self) -> None:
        self.employees: dict[str, Counts] = {}
        self.current: str = UNKNOWN
        self.quota: dict[str, int | None] = dict.fromkeys(QUOTA_KEYS)
        self.timezone: str = DEFAULT_ZONE
        self.recent = RecentWindow()  # the rate buckets' last minute (not per employee)

    # -- what the tracker calls ---------------------------------------------------------
    def set_quota(self, quota: dict[str, Any] | None) -> bool:
        """The policy's ``quota`` section (None: no policy); True when it changed."""
        quota = quota or {}
        limits = {k: _limit(quota.get(k)) for k in QUOTA_KEYS}
        tz = quota.get("timezone")
        timezone = tz if isinstance(tz, str) and tz else DEFAULT_ZONE
        changed = limits != self.quota or timezone != self.timezone
        self.quota, self.timezone = limits, timezone
        return changed

    def set_employee(self, employee_id: str | None) -> bool:
        employee = employee_id or UNKNOWN
        changed = employee != self.current
        self.current = employee
        return changed

    def period(self, now: float) -> Period:
        return period_at(now, self.timezone)

    def record(self, payload: dict[str, Any], now: float) -> bool:
        """Add one request event to the current employee; True when a counter moved."""
        windowed = self.recent.add(payload, now)
        requests, tokens = charge(payload)
        if not requests and not tokens:
            return windowed
        counts = self._counts(self.current, now)
        counts.requests_today = min(counts.requests_today + requests, MAX_COUNT)
        counts.tokens_today = min(counts.tokens_today + tokens, MAX_COUNT)
        counts.tokens_month = min(counts.tokens_month + tokens, MAX_COUNT)
        counts.seen = now
        return True

    def usage(self, now: float) -> dict[str, Any]:
        """The current employee's usage dict (status's ``policy.usage``, the sidecar's input)."""
        period = self.period(now)
        counts = self.employees.get(self.current)
        if counts is not None:
            counts.roll(period)
        else:
            counts = Counts(period.day, period.month)
        return {
            "employee_id": None if self.current == UNKNOWN else self.current,
            "period": period.as_dict(),
            "requests_today": counts.requests_today,
            "tokens_today": counts.tokens_today,
            "tokens_month": counts.tokens_month,
            "resets": {"day": period.day_reset, "month": period.month_reset},
            "quota": dict(self.quota),
            "recent": self.recent.to_json(now),
        }

    def _counts(self, employee: str, now: float) -> Counts:
        period = self.period(now)
        counts = self.employees.get(employee)
        if counts is None:
            counts = self.employees[employee] = Counts(period.day, period.month, seen=now)
            self._forget_oldest()
        else:
            counts.roll(period)
        return counts

    def _forget_oldest(self) -> None:
        while len(self.employees) > MAX_EMPLOYEES:
            oldest = min(
                (e for e in self.employees if e != self.current),
                key=lambda e: self.employees[e].seen,
            )
            del self.employees[oldest]

    # -- file -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "version": FILE_VERSION,
            "current": self.current,
            "timezone": self.timezone,
            "quota": dict(self.quota),
            "employees": {e: c.to_json() for e, c in self.employees.items()},
            "recent": self.recent.to_json(),
        }

    @classmethod
    def from_json(cls, data: Any) -> UsageBook:
        """Field by field: a wrong entry is dropped, the rest kept."""
        book = cls()
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if data.get("version") != FILE_VERSION:  # load_book migrated or refused it before
            raise ValueError(f"unknown version {data.get('version')!r}")
        book.set_quota({**(data.get("quota") or {}), "timezone": data.get("timezone")})
        current = data.get("current")
        book.current = current if isinstance(current, str) and current else UNKNOWN
        employees = data.get("employees")
        if isinstance(employees, dict):
            for employee, raw in list(employees.items())[: MAX_EMPLOYEES * 2]:
                counts = Counts.from_json(raw)
                if isinstance(employee, str) and employee and counts is not None:
                    book.employees[employee[:200]] = counts
            book._forget_oldest()
        book.recent = RecentWindow.from_json(data.get("recent"))
        return book


def write_book(data: dict[str, Any], path: Path) -> None:
    """Write ``UsageBook.to_json()`` output (taken under the caller's lock) atomically."""
    atomic_write(path, _dump(data), mode=0o600)


def _dump(data: dict[str, Any]) -> str:
    return strictjson.dumps(data, indent=1) + "\n"


def load_book(path: Path) -> tuple[UsageBook, str | None]:
    """The book in ``path`` and None, or an empty book and why the file could not be used.

    A missing file is a fresh start (no problem). Anything else unreadable -- not JSON, a
    wrong shape, too large, not a regular file -- loses the counts rather than stopping the
    agent; the caller logs the reason.
    """
    try:
        raw = read_bytes_capped(path, MAX_FILE_BYTES, "the usage file")
    except FileNotFoundError:
        return UsageBook(), None
    except OSError as exc:
        return UsageBook(), str(exc)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return UsageBook(), f"{path} is not a usage file ({exc})"
    try:
        doc = formats.upgrade(doc, formats.USAGE.name, path, _dump)
    except formats.FormatError as exc:
        return UsageBook(), str(exc)
    except OSError as exc:  # not migrated on disk this time: migrated in memory only
        log.warning("cannot migrate the usage file %s: %s", path, exc)
        doc = formats.migrated(doc, formats.USAGE.name, path)
    try:
        return UsageBook.from_json(doc), None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return UsageBook(), f"{path} is not a usage file ({exc})"
