"""What the tray shows for a status snapshot: icon state, tooltip, which actions make sense.

The tooltip and the menu's first line carry the same headline: state (with the start's
progress while starting), requests in the last minute, token expiry and the quota left when
a quota applies. Requests and start progress come from status's ``requests`` and ``start``
parts, which the tray polls (``TrayApp``); a plain core snapshot lacks them and shows less.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tray_agent.core.startclock import progress_text
from tray_agent.policy.lock import UNLOCKED, LockState

TOOLTIP_MAX = 127  # Windows truncates notification-area tooltips at 128 characters

STATE_TEXT = {
    "running": "running",
    "starting": "starting",
    "restarting": "restarting",
    "crashed": "crashed, restarting",
    "stopped": "stopped",
    "error": "error",
}


@dataclass(frozen=True)
class TrayView:
    icon: str
    headline: str
    tooltip: str
    can_start: bool
    can_stop: bool
    can_restart: bool
    # The organization's admin lock (status's policy section): locked entries are greyed.
    lock: LockState = field(default=UNLOCKED)


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M", time.localtime(epoch))


def token_line(token: dict[str, Any], now: float) -> str | None:
    state = token.get("state") or "absent"
    exp = token.get("expires_at")
    if state == "absent":
        return "not signed in" if token.get("employee_id") else None
    if state == "expired":
        return "token expired" + (f" at {_clock(exp)}" if exp else "")
    if state == "error":
        return "token error: sign in again"
    if exp:
        verb = "expires" if state == "expiring" else "valid until"
        return f"token {verb} {_clock(exp)}"
    return f"token {state}"


QUOTA_WORDS = (
    ("requests_today", "requests_per_day", "requests left today"),
    ("tokens_today", "tokens_per_day", "tokens left today"),
    ("tokens_month", "tokens_per_month", "tokens left this month"),
)


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return str(n)


def quota_left(policy: dict[str, Any] | None) -> str | None:
    """The tightest quota as ``"380 of 500 requests left today"``; None when none applies."""
    usage = (policy or {}).get("usage") or {}
    limits = usage.get("quota") or {}
    best: tuple[float, str] | None = None
    for used_key, limit_key, words in QUOTA_WORDS:
        limit = limits.get(limit_key)
        if not isinstance(limit, int) or isinstance(limit, bool):
            continue
        left = max(0, limit - int(usage.get(used_key) or 0))
        share = left / limit if limit else 0.0
        text = f"{_count(left)} of {_count(limit)} {words}"
        if best is None or share < best[0]:
            best = (share, text)
    return best[1] if best else None


def requests_line(snap: dict[str, Any]) -> str | None:
    n = (snap.get("requests") or {}).get("last_minute")
    return None if n is None else f"{n} requests/min"


def icon_state(snap: dict[str, Any]) -> str:
    sc = snap.get("sidecar", {}).get("state", "stopped")
    tok = snap.get("token", {}).get("state", "absent")
    if sc in ("error", "crashed"):
        return "error"
    if sc in ("starting", "restarting"):
        return "starting"
    if sc != "running":
        return "stopped"
    if tok in ("expired", "error"):
        return "token-expired"
    if tok == "expiring":
        return "token-expiring"
    return "running"


def build_view(snap: dict[str, Any], now: float | None = None) -> TrayView:
    now = time.time() if now is None else now
    sc = snap.get("sidecar", {})
    state = sc.get("state", "stopped")
    text = STATE_TEXT.get(state, state)
    busy = state in ("starting", "restarting")
    progress = progress_text(snap.get("start")) if busy else None
    if progress:
        text += f" ({progress})"
    headline = [f"Proxy {text}"]
    lines = [f"LiteLLM Bridge: {text}"]
    if state in ("running", "starting", "restarting") and sc.get("url"):
        lines.append(sc["url"])
        if state == "running":
            headline[0] += f" at {sc['url']}"
    rl = requests_line(snap) if state == "running" else None
    if rl:
        lines.append(rl)
        headline.append(rl)
    tl = token_line(snap.get("token", {}), now)
    if tl:
        lines.append(tl)
        headline.append(tl)
    ql = quota_left(snap.get("policy"))
    if ql:
        lines.append(ql)
        headline.append(ql)
    cfg = snap.get("config", {})
    if cfg.get("valid") is False:
        lines.append("config.yaml has errors")
    elif state == "error" and sc.get("error"):
        lines.append(str(sc["error"]).splitlines()[0][:60])
    tooltip = "\n".join(lines)
    if len(tooltip) > TOOLTIP_MAX and len(lines) > 2:
        tooltip = "\n".join(lines[:1] + lines[2:])  # the URL is in the menu's setup text
    if len(tooltip) > TOOLTIP_MAX:
        tooltip = tooltip[: TOOLTIP_MAX - 1] + "…"
    return TrayView(
        icon=icon_state(snap),
        headline=" · ".join(headline),
        tooltip=tooltip,
        can_start=state in ("stopped", "error"),
        can_stop=state in ("running", "starting", "restarting", "crashed"),
        can_restart=state in ("running", "error", "crashed") and not busy,
        lock=LockState.from_view(snap.get("policy")),
    )
