"""Quota periods: the day and the month of the policy's time zone, and when each one ends.

A day is a calendar day on the wall clocks of ``timezone``, so it is 23 or 25 hours long on
the days daylight saving time starts or ends; a month starts on the 1st at local midnight.
Where a zone skips midnight itself (a few zones change their clocks at 00:00), the day
starts at the first moment that exists: the instant of the change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "UTC"


@dataclass(frozen=True)
class Period:
    """The day and month containing one instant, in one zone."""

    day: str  # YYYY-MM-DD
    month: str  # YYYY-MM
    timezone: str
    day_reset: float  # epoch of the next local midnight
    month_reset: float  # epoch of local midnight on the 1st of the next month

    def as_dict(self) -> dict[str, str]:
        return {"day": self.day, "month": self.month, "timezone": self.timezone}


def zone(name: str | None) -> ZoneInfo:
    """The named zone; an unknown or missing name is UTC (the policy schema refuses those)."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def start_of(day: dt.date, tz: ZoneInfo) -> float:
    """The epoch at which ``day`` begins in ``tz``.

    ``datetime(..., tzinfo=tz)`` of a wall time that does not exist (skipped by a clock
    change) reads it with the offset before the change, which is exactly the instant of the
    change: the day's first real moment.
    """
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).timestamp()


def period_at(now: float, timezone: str | None) -> Period:
    """The quota period containing the epoch ``now`` in ``timezone``."""
    tz = zone(timezone)
    name = tz.key if timezone else DEFAULT_ZONE
    today = dt.datetime.fromtimestamp(now, tz).date()
    tomorrow = today + dt.timedelta(days=1)
    first_next = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return Period(
        day=today.isoformat(),
        month=today.strftime("%Y-%m"),
        timezone=name,
        day_reset=start_of(tomorrow, tz),
        month_reset=start_of(first_next, tz),
    )
