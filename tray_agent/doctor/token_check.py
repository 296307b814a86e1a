"""Doctor check of the internal token: present and unexpired (the agent's view, else the state
file; the keyring is not unlocked for it).
"""

from __future__ import annotations

import time
from typing import Any

from tray_agent.doctor.context import CheckResult, DoctorContext

SIGN_IN = "sign in: litellm-bridge token login"


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _token_status(ctx: DoctorContext) -> dict[str, Any]:
    if ctx.status is not None:
        return dict(ctx.status.get("token") or {})
    from tray_agent.token.store import read_state, status_from_state

    r = ctx.rendered()
    notify = float(r.notify_before) if r is not None else 300.0
    return status_from_state(read_state(ctx.paths.state_file), ctx.clock(), notify).to_dict()


def check_token(ctx: DoctorContext) -> CheckResult:
    title = "token present and unexpired"
    r = ctx.rendered()
    if r is not None and not r.needs_token and r.iam is None:
        return CheckResult("token", title, "skip", "no model needs an internal token")
    tok = _token_status(ctx)
    state, exp = tok.get("state"), tok.get("expires_at")
    data = {"state": state, "expires_at": exp}
    last = tok.get("last_error")
    if state in ("absent", None):
        return CheckResult("token", title, "fail", "no internal token", SIGN_IN, data)
    if state == "expired" or (exp is not None and exp <= ctx.clock()):
        when = f" at {_when(exp)}" if exp else ""
        return CheckResult("token", title, "fail", f"the token expired{when}", SIGN_IN, data)
    if state == "error":
        return CheckResult("token", title, "fail", f"token error: {last}", SIGN_IN, data)
    detail = f"token {state}, expires {_when(exp)}" if exp else f"token {state}"
    if state == "expiring":
        fix = SIGN_IN if not tok.get("can_refresh_silently") else None
        return CheckResult("token", title, "warn", detail + (f"; {last}" if last else ""), fix)
    return CheckResult("token", title, "pass", detail, data=data)
