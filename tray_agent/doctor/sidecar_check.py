"""Doctor check of the running sidecar: the agent says it runs, and it answers its liveness
probe."""

from __future__ import annotations

import httpx

from tray_agent.doctor.context import CheckResult, DoctorContext


def check_sidecar(ctx: DoctorContext) -> CheckResult:
    title = "sidecar ready (GET /health/liveliness)"
    if ctx.status is None:
        return CheckResult(
            "sidecar", title, "warn", "no agent is running", "start it: litellm-bridge start"
        )
    sc = ctx.status["sidecar"]
    if sc.get("state") != "running":
        detail = f"the sidecar is {sc.get('state')}" + (
            f": {sc['error']}" if sc.get("error") else ""
        )
        return CheckResult(
            "sidecar",
            title,
            "fail",
            detail,
            "litellm-bridge start; if it keeps failing: litellm-bridge logs --component sidecar",
        )
    url = f"{sc['url']}/health/liveliness"
    try:
        with httpx.Client(timeout=ctx.timeout, trust_env=False) as client:
            resp = client.get(url)
    except httpx.HTTPError as exc:
        return CheckResult(
            "sidecar",
            title,
            "fail",
            f"{url}: {type(exc).__name__}: {exc}",
            "litellm-bridge restart",
        )
    if resp.status_code != 200:
        return CheckResult(
            "sidecar", title, "fail", f"{url} answered HTTP {resp.status_code}", "restart it"
        )
    return CheckResult("sidecar", title, "pass", f"{url} answered 200 (pid {sc.get('pid')})")
