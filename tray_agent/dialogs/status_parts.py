"""What the Status window shows beyond the plain rows: live figures, chart series, the
organization's management and quotas, and the last audit verification.

Pure functions of the status snapshot and the metrics summary (tested without Tk).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tray_agent.dialogs.charts import Palette, Series

LOCK_NAMES = {
    "config": "config.yaml",
    "env": "environment",
    "clients": "client setup",
    "iam": "sign-in server",
    "fast_path": "fast path",
    "autostart": "start at login",
}
QUOTAS = (
    ("Requests today", "requests_today", "requests_per_day", "day"),
    ("Tokens today", "tokens_today", "tokens_per_day", "day"),
    ("Tokens this month", "tokens_month", "tokens_per_month", "month"),
)


def live_figures(summary: dict[str, Any] | None) -> str:
    """``"2 requests in flight · 3 open connections · 14 requests in the last minute"``."""
    if summary is None:
        return "no live figures: the agent is not running"
    fl = summary.get("in_flight") or {}

    def count(v: Any, one: str, many: str) -> str:
        return f"- {many}" if v is None else f"{v} {one if v == 1 else many}"

    minute = ((summary.get("windows") or {}).get("1m") or {}).get("requests", 0)
    return " · ".join(
        (
            count(fl.get("requests"), "request in flight", "requests in flight"),
            count(fl.get("connections"), "open connection", "open connections"),
            count(minute, "request in the last minute", "requests in the last minute"),
        )
    )


@dataclass(frozen=True)
class ChartData:
    requests: list[Series]
    latency: list[Series]
    errors: list[Series]
    captions: tuple[str, str, str]


def chart_data(summary: dict[str, Any] | None, p: Palette) -> ChartData:
    """The three charts' series from ``summary["series"]`` (empty charts without it)."""
    points = (summary or {}).get("series") or []
    req = [float(pt.get("requests") or 0) for pt in points]
    err = [float(pt.get("errors") or 0) for pt in points]
    p50 = [pt.get("p50") for pt in points]
    p95 = [pt.get("p95") for pt in points]
    # Legends and captions use the sliding windows, as the live figures and the table do;
    # the bars are whole clock minutes (the last one still filling).
    windows = (summary or {}).get("windows") or {}
    minute, hour = windows.get("1m") or {}, windows.get("1h") or {}
    lat = minute.get("latency_ms") or {}
    hour_req = int(hour.get("requests", sum(req)))
    hour_err = int(hour.get("errors", sum(err)))
    return ChartData(
        requests=[Series("last min", req, "bar", p.requests, latest=minute.get("requests"))],
        latency=[
            Series("p50", p50, "line", p.p50, marker="circle", latest=lat.get("p50")),
            Series("p95", p95, "line", p.p95, marker="square", dash=(6, 3), latest=lat.get("p95")),
        ],
        errors=[Series("last min", err, "bar", p.errors, latest=minute.get("errors"))],
        captions=(
            f"{hour_req} in 1 h",
            "ms",
            f"{hour_err} in 1 h" + (f" ({hour_err / hour_req:.1%})" if hour_req else ""),
        ),
    )


def managed_text(policy: dict[str, Any] | None) -> str | None:
    """ "Managed by your organization: …", or None when no organization policy applies."""
    if not policy or policy.get("state") in (None, "none"):
        return None
    if policy.get("state") == "locked_down":
        return "Managed by your organization: the policy is invalid, so everything is locked"
    locked = policy.get("locked") or {}
    names = []
    for key, value in locked.items():
        if value is True:
            names.append(LOCK_NAMES.get(key, key))
        elif isinstance(value, list) and value:
            n = len(value)
            names.append(f"{LOCK_NAMES.get(key, key)} ({n} {'entry' if n == 1 else 'entries'})")
    text = "Managed by your organization"
    text += ": " + ", ".join(names) + " locked" if names else " (nothing is locked)"
    if policy.get("state") == "last_good":
        text += "; the last good policy applies (the current one was refused)"
    return text


@dataclass(frozen=True)
class Quota:
    label: str
    used: int
    limit: int
    resets: float | None

    @property
    def nearly_used(self) -> bool:
        return self.fraction >= 0.9

    @property
    def fraction(self) -> float:
        return min(1.0, self.used / self.limit) if self.limit else 1.0

    def text(self) -> str:
        left = max(0, self.limit - self.used)
        when = f", resets {_when(self.resets)}" if self.resets else ""
        return f"{self.used:,} of {self.limit:,} used, {left:,} left{when}"


def _when(epoch: float) -> str:
    fmt = "%H:%M" if epoch - time.time() < 86400 else "%d %b %H:%M"
    return time.strftime(fmt, time.localtime(epoch))


def quotas(policy: dict[str, Any] | None) -> list[Quota]:
    """The quota meters that apply (a quota the policy sets), from ``policy.usage``."""
    usage = (policy or {}).get("usage") or {}
    limits = usage.get("quota") or {}
    resets = usage.get("resets") or {}
    out = []
    for label, used_key, limit_key, period in QUOTAS:
        limit = limits.get(limit_key)
        if isinstance(limit, int) and not isinstance(limit, bool):
            reset = resets.get(period)
            out.append(
                Quota(
                    label,
                    int(usage.get(used_key) or 0),
                    limit,
                    float(reset) if isinstance(reset, int | float) else None,
                )
            )
    return out


def audit_text(snap: dict[str, Any] | None) -> tuple[str, bool] | None:
    """The last audit verification (text, ok), or None when status has no ``audit`` key.

    ``snap["audit"]["last_verify"]``: ``{"ok", "time" (ISO 8601), "events", "problem"}``.
    """
    audit = (snap or {}).get("audit")
    if not isinstance(audit, dict):
        return None
    last = audit.get("last_verify")
    if not isinstance(last, dict):
        return ("not verified yet", True)
    when = str(last.get("time") or "?")
    events = last.get("events")
    count = f"{events} events, " if isinstance(events, int) else ""
    if last.get("ok"):
        return (f"intact ({count}checked {when})", True)
    problem = last.get("problem") or "the log does not verify"
    return (f"FAILED: {problem} ({count}checked {when})", False)
