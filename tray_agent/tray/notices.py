"""Which notifications a status snapshot calls for, each condition reported once until it changes.

``Notices.update(snapshot)`` compares the conditions seen in the snapshot with the ones
already announced and returns only the new ones. A condition that clears (token renewed,
sidecar running again, config fixed) is forgotten, so it is announced again if it returns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Notice:
    kind: str  # token-expiring | token-expired | refresh-failed | crashed | crash-loop |
    #            start-failed | config-invalid
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
    return out


class Notices:
    def __init__(self) -> None:
        self._announced: dict[str, object] = {}

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
        return new


_MISSING = object()
