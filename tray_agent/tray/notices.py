"""Which notifications a status snapshot calls for, each condition reported once until it changes.

``Notices.update(snapshot)`` compares the conditions seen in the snapshot with the ones
already announced and returns only the new ones. A condition that clears (token renewed,
sidecar running again, config fixed) is forgotten, so it is announced again if it returns.

Quota notices (80 % and 100 % of each quota in ``policy.usage``) are different: each level
is announced once per employee and period (day or month), and stays announced even when
the usage briefly leaves the snapshot, so a restarted sidecar or a policy reload does not
repeat it; a new day, month or employee starts over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tray_agent.policy.view import notice_text


@dataclass(frozen=True)
class Notice:
    kind: str  # token-expiring | token-expired | refresh-failed | crashed | crash-loop |
    #            start-failed | config-invalid | quota-warning | quota-reached |
    #            policy-refused | audit-failing | audit-broken
    title: str
    message: str


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M", time.localtime(epoch))


def issue_location(issue: dict[str, Any]) -> str:
    parts = [str(issue.get("file") or "config.yaml")]
    for k in ("line", "column"):
        if issue.get(k):
            parts.append(str(issue[k]))
    return ":".join(parts)


def _conditions(snap: dict[str, Any]) -> dict[str, tuple[object, Notice]]:
    """kind -> (identity of this occurrence, notice)."""
    out: dict[str, tuple[object, Notice]] = {}
    tok = snap.get("token", {}) or {}
    tstate = tok.get("state")
    exp = tok.get("expires_at")
    err = tok.get("last_error")
    if tstate == "expiring" and exp:
        out["token-expiring"] = (
            exp,
            Notice(
                "token-expiring",
                "Token expires soon",
                f"The internal token expires at {_clock(exp)}. Choose Sign in… to renew it.",
            ),
        )
    if tstate == "expired":
        out["token-expired"] = (
            exp,
            Notice(
                "token-expired",
                "Token expired",
                "Requests to the internal API will fail until you sign in again (Sign in…).",
            ),
        )
    if err and tstate in ("expiring", "error", "expired", "valid"):
        out["refresh-failed"] = (
            err,
            Notice("refresh-failed", "Token refresh failed", str(err)[:200]),
        )
    sc = snap.get("sidecar", {}) or {}
    sstate = sc.get("state")
    serr = str(sc.get("error") or "")
    if sstate == "crashed":
        out["crashed"] = (
            sc.get("restarts"),
            Notice("crashed", "Proxy crashed", serr or "The proxy exited; restarting it."),
        )
    elif sstate == "error" and serr.startswith("crash loop"):
        out["crash-loop"] = (
            serr,
            Notice(
                "crash-loop",
                "Proxy keeps crashing",
                serr.split(". Last output")[0] + ". See Status… for its output; Start to retry.",
            ),
        )
    elif sstate == "error" and not serr.startswith("config invalid"):
        out["start-failed"] = (serr, Notice("start-failed", "Proxy could not start", serr[:200]))
    cfg = snap.get("config", {}) or {}
    issues = [i for i in cfg.get("errors") or [] if i.get("severity", "error") == "error"]
    if cfg.get("valid") is False and issues:
        ident = tuple((issue_location(i), i.get("message")) for i in issues)
        first = issues[0]
        msg = f"{issue_location(first)}: {first.get('message', 'invalid')}"
        if len(issues) > 1:
            msg += f" (+{len(issues) - 1} more)"
        out["config-invalid"] = (ident, Notice("config-invalid", "config.yaml has errors", msg))
    audit = snap.get("audit") or {}
    if audit.get("error"):
        refusing = (
            " Requests are refused until it can (audit.required)."
            if audit.get("blocking")
            else " Requests still run; the gap is recorded once writing works again."
        )
        out["audit-failing"] = (
            audit["error"],
            Notice(
                "audit-failing",
                "Audit log cannot be written",
                (str(audit["error"])[:160] + refusing),
            ),
        )
    last_verify = audit.get("last_verify") or {}
    if last_verify.get("ok") is False:
        out["audit-broken"] = (
            last_verify.get("problem"),
            Notice(
                "audit-broken",
                "Audit log does not verify",
                str(last_verify.get("problem") or "litellm-bridge audit verify")[:200],
            ),
        )
    policy_problem = notice_text(snap.get("policy") or {})
    if policy_problem:
        out["policy-refused"] = (
            policy_problem,
            Notice("policy-refused", "Organization policy not applied", policy_problem[:200]),
        )
    return out


# quota key in policy.usage.quota -> (counter, period key, what it is, what is counted)
_QUOTAS = (
    ("requests_per_day", "requests_today", "day", "Daily request quota", "requests today"),
    ("tokens_per_day", "tokens_today", "day", "Daily token quota", "tokens today"),
    ("tokens_per_month", "tokens_month", "month", "Monthly token quota", "tokens this month"),
)
QUOTA_LEVELS = (80, 100)
_QUOTA_MEMORY = 32  # periods remembered (three quotas, a few employees, some days)


def _reset_text(epoch: Any, period: str) -> str:
    if not isinstance(epoch, int | float) or isinstance(epoch, bool):
        return "at the next " + period
    fmt = "%H:%M" if period == "day" else "%d %b %H:%M"
    return "at " + time.strftime(fmt, time.localtime(epoch))


def _quota_levels(snap: dict[str, Any]) -> dict[str, tuple[object, int, Notice]]:
    """quota key -> (employee and period, highest level reached, its notice)."""
    policy = snap.get("policy") or {}
    usage = policy.get("usage") if isinstance(policy, dict) else None
    if not isinstance(usage, dict):
        return {}
    limits = usage.get("quota") or {}
    period = usage.get("period") or {}
    resets = usage.get("resets") or {}
    out: dict[str, tuple[object, int, Notice]] = {}
    for key, counter, span, label, unit in _QUOTAS:
        limit, used = limits.get(key), usage.get(counter)
        if not (isinstance(limit, int) and isinstance(used, int)) or limit <= 0:
            continue  # no such quota (a zero quota refuses everything and says so itself)
        level = next((lv for lv in reversed(QUOTA_LEVELS) if used * 100 >= limit * lv), 0)
        if not level:
            continue
        when = _reset_text(resets.get(span), span)
        if level >= 100:
            notice = Notice(
                "quota-reached",
                f"{label} used up",
                f"{used:,} of {limit:,} {unit}: requests are refused until the quota resets "
                f"{when}.",
            )
        else:
            notice = Notice(
                "quota-warning",
                f"{label} {level} % used",
                f"{used:,} of {limit:,} {unit}. The quota resets {when}.",
            )
        out[key] = ((usage.get("employee_id"), period.get(span)), level, notice)
    return out


class Notices:
    def __init__(self) -> None:
        self._announced: dict[str, object] = {}
        # (quota key, employee and period) -> highest level announced in it; the oldest go
        self._quota: dict[tuple[str, object], int] = {}

    def update(self, snap: dict[str, Any]) -> list[Notice]:
        current = _conditions(snap)
        new: list[Notice] = []
        for kind, (ident, notice) in current.items():
            if self._announced.get(kind, _MISSING) != ident:
                self._announced[kind] = ident
                new.append(notice)
        for kind in list(self._announced):
            if kind not in current:
                del self._announced[kind]
        for key, (period, level, notice) in _quota_levels(snap).items():
            if level > self._quota.get((key, period), 0):
                self._quota.pop((key, period), None)
                self._quota[(key, period)] = level
                new.append(notice)
        while len(self._quota) > _QUOTA_MEMORY:
            del self._quota[next(iter(self._quota))]
        return new


_MISSING = object()
