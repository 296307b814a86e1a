"""Run the checks and render the result; every text passes the secret redactor."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

from tray_agent.doctor.checks import CHECKS, Check
from tray_agent.doctor.context import CheckResult, DoctorContext
from tray_agent.doctor.next_step import next_step
from tray_agent.logs.redact import REDACTOR
from tray_agent.logs.secrets import register_known_secrets
from tray_agent.paths import Paths

log = logging.getLogger("tray_agent.doctor")
MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP"}


@dataclass
class Report:
    checks: list[CheckResult]
    agent_running: bool

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    @property
    def next_step(self) -> str:
        return next_step(self.checks, self.agent_running)

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in MARK}
        for c in self.checks:
            out[c.status] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        data = {
            "ok": self.ok,
            "agent_running": self.agent_running,
            "counts": self.counts(),
            "checks": [c.as_dict() for c in self.checks],
            "next_step": self.next_step,
        }
        result: dict[str, Any] = json.loads(REDACTOR.redact(json.dumps(data)))
        return result


def _agent_view(paths: Paths) -> tuple[dict[str, Any] | None, str | None]:
    from tray_agent.control.client import ControlClient
    from tray_agent.control.protocol import ControlError

    client = ControlClient.connect(paths)
    if client is None:
        return None, None
    try:
        with client:
            status = client.call("status", timeout=15)
            key = client.call("key", timeout=15)["key"]
    except (ControlError, OSError, EOFError, KeyError):
        return None, None
    REDACTOR.add(key)
    return status, key


def run_doctor(
    paths: Paths,
    *,
    ask_agent: bool = True,
    environ: dict[str, str] | None = None,
    checks: list[Check] | None = None,
    context: DoctorContext | None = None,
) -> Report:
    """Run every check (or ``checks``); a check that crashes is reported as failed."""
    ctx = context or DoctorContext(paths, environ=dict(os.environ if environ is None else environ))
    if context is None and ask_agent:
        ctx.status, ctx.proxy_key = _agent_view(paths)
    register_known_secrets(paths, ctx.secrets())
    results: list[CheckResult] = []
    for check in checks or CHECKS:
        try:
            results.append(check(ctx))
        except Exception as exc:  # one broken check must not hide the others
            name = check.__name__.removeprefix("check_")
            log.exception("doctor.check_failed", extra={"fields": {"check": name}})
            results.append(
                CheckResult(name, name, "fail", f"the check itself failed: {exc!r}", None)
            )
    return Report(results, ctx.status is not None)


def format_report(report: Report) -> str:
    lines = []
    for c in report.checks:
        lines.append(f"{MARK[c.status]}  {c.title}")
        lines.append(f"      {c.detail}")
        if c.fix and c.status in ("fail", "warn"):
            lines.append(f"      fix: {c.fix}")
    n = report.counts()
    where = "with the running agent" if report.agent_running else "no agent running"
    lines.append("")
    lines.append(
        f"{n['fail']} failed, {n['warn']} warning(s), {n['pass']} passed, "
        f"{n['skip']} skipped ({where})"
    )
    lines.append(f"next: {report.next_step}")
    return REDACTOR.redact("\n".join(lines))
