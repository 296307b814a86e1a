"""What the tray shows for a status snapshot: icon state, tooltip, which actions make sense."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

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
    headline = f"Proxy {STATE_TEXT.get(state, state)}"
    lines = [f"LiteLLM Bridge: {STATE_TEXT.get(state, state)}"]
    if state in ("running", "starting", "restarting") and sc.get("url"):
        lines.append(sc["url"])
        if state == "running":
            headline += f" at {sc['url']}"
    tl = token_line(snap.get("token", {}), now)
    if tl:
        lines.append(tl)
    cfg = snap.get("config", {})
    if cfg.get("valid") is False:
        lines.append("config.yaml has errors")
    elif state == "error" and sc.get("error"):
        lines.append(str(sc["error"]).splitlines()[0][:60])
    tooltip = "\n".join(lines)
    if len(tooltip) > TOOLTIP_MAX:
        tooltip = tooltip[: TOOLTIP_MAX - 1] + "…"
    busy = state in ("starting", "restarting")
    return TrayView(
        icon=icon_state(snap),
        headline=headline,
        tooltip=tooltip,
        can_start=state in ("stopped", "error"),
        can_stop=state in ("running", "starting", "restarting", "crashed"),
        can_restart=state in ("running", "error", "crashed") and not busy,
        lock=LockState.from_view(snap.get("policy")),
    )
