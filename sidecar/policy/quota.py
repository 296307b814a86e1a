"""The sidecar's half of the quotas: refuse once the day's or month's allowance is spent.

The agent counts usage persistently over every sidecar and sends it (``STATE.usage``); this
sidecar adds what it counted itself since that message reached it (the agent's next message
includes those), so a burst between two messages cannot overrun the quota. Periods end at
local midnight and on the first of the month in the policy's time zone; the agent's
``resets`` say when, and past them the agent's counts belong to the period that ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sidecar.policy import refusal
from sidecar.policy.refusal import Refusal


@dataclass(frozen=True)
class QuotaRules:
    requests_per_day: int | None = None
    tokens_per_day: int | None = None
    tokens_per_month: int | None = None
    timezone: str = "UTC"

    @property
    def active(self) -> bool:
        return (
            self.requests_per_day is not None
            or self.tokens_per_day is not None
            or self.tokens_per_month is not None
        )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _start(day: date, zone: ZoneInfo) -> float:
    return datetime.combine(day, time(0), tzinfo=zone).timestamp()


def next_day_start(now: float, zone: ZoneInfo) -> float:
    today = datetime.fromtimestamp(now, zone).date()
    return _start(today + timedelta(days=1), zone)


def next_month_start(now: float, zone: ZoneInfo) -> float:
    today = datetime.fromtimestamp(now, zone).date()
    first = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return _start(first, zone)


def _number(source: Any, key: str) -> float | None:
    value = source.get(key) if isinstance(source, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class QuotaCounter:
    """Local counts since the last usage message, per period (keyed by when it ends)."""

    def __init__(self) -> None:
        self._usage: Mapping[str, Any] | None = None
        self._requests_day: dict[float, int] = {}
        self._tokens_day: dict[float, int] = {}
        self._tokens_month: dict[float, int] = {}
        self._zone_name = ""
        self._zone = ZoneInfo("UTC")
        self._computed: dict[str, float] = {}

    def _sync(self, usage: Mapping[str, Any] | None) -> None:
        if usage is not self._usage:
            # The agent's new count includes everything counted here so far.
            self._usage = usage
            self._requests_day.clear()
            self._tokens_day.clear()
            self._tokens_month.clear()

    def _period_end(self, period: str, rules: QuotaRules, now: float) -> tuple[float, bool]:
        """When the current period ends, and whether the agent's counts are of this period."""
        if rules.timezone != self._zone_name:
            self._zone_name, self._zone = rules.timezone, _zone(rules.timezone)
            self._computed.clear()
        reported = _number(self._usage.get("resets") if self._usage else None, period)
        if reported is not None and now < reported:
            return reported, True
        end = self._computed.get(period)
        if end is None or now >= end:
            compute = next_day_start if period == "day" else next_month_start
            end = self._computed[period] = compute(now, self._zone)
        return end, False

    def _used(
        self, period: str, field: str, local: dict[float, int], rules: QuotaRules, now: float
    ) -> tuple[int, float]:
        end, current = self._period_end(period, rules, now)
        base = _number(self._usage, field) if current else None
        return int(base or 0) + local.get(end, 0), end

    def check(
        self, rules: QuotaRules, usage: Mapping[str, Any] | None, now: float
    ) -> Refusal | None:
        self._sync(usage)
        checks = (
            (
                rules.requests_per_day,
                "day",
                "requests_today",
                self._requests_day,
                refusal.REQUESTS_PER_DAY,
                "daily request quota",
                "requests",
            ),
            (
                rules.tokens_per_day,
                "day",
                "tokens_today",
                self._tokens_day,
                refusal.TOKENS_PER_DAY,
                "daily token quota",
                "tokens",
            ),
            (
                rules.tokens_per_month,
                "month",
                "tokens_month",
                self._tokens_month,
                refusal.TOKENS_PER_MONTH,
                "monthly token quota",
                "tokens",
            ),
        )
        for limit, period, field, local, reason, what, unit in checks:
            if limit is None:
                continue
            used, end = self._used(period, field, local, rules, now)
            if used >= limit:
                return self._refusal(reason, what, unit, limit, end, now)
        return None

    def count_request(self, rules: QuotaRules, usage: Mapping[str, Any] | None, now: float) -> None:
        self._sync(usage)
        if rules.requests_per_day is not None:
            self._add(self._requests_day, self._period_end("day", rules, now)[0], 1, now)

    def count_tokens(
        self, rules: QuotaRules, usage: Mapping[str, Any] | None, tokens: int, now: float
    ) -> None:
        self._sync(usage)
        if tokens <= 0:
            return
        if rules.tokens_per_day is not None:
            self._add(self._tokens_day, self._period_end("day", rules, now)[0], tokens, now)
        if rules.tokens_per_month is not None:
            self._add(self._tokens_month, self._period_end("month", rules, now)[0], tokens, now)

    @staticmethod
    def _add(counts: dict[float, int], end: float, amount: int, now: float) -> None:
        for old in [key for key in counts if key <= now]:
            del counts[old]
        counts[end] = counts.get(end, 0) + amount

    def _refusal(
        self, reason: str, what: str, unit: str, limit: int, end: float, now: float
    ) -> Refusal:
        when = datetime.fromtimestamp(end, self._zone)
        message = (
            f"{what} of {limit} {unit} reached ({reason} in {refusal.POLICY_NAME}); it resets "
            f"at {when.isoformat(timespec='minutes')}"
        )
        reset = (b"x-ratelimit-reset-quota", str(int(end)).encode())
        return Refusal(429, reason, message, max(1.0, end - now), (reset,))
