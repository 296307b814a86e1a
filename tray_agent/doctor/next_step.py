"""The one thing to do after a doctor run, pass or fail (its last line, ``next_step`` in JSON).

Failures come first, in the order the checks run (a config error explains a sidecar that
does not start, so fixing the first one often fixes the rest); a clean run points to what
comes next on the way to a working tool.
"""

from __future__ import annotations

from tray_agent.doctor.context import CheckResult

CHECK_AGAIN = "then run `litellm-bridge doctor` again"


def next_step(checks: list[CheckResult], agent_running: bool) -> str:
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        first = failed[0]
        fix = first.fix or "see its detail above"
        more = f" ({len(failed) - 1} more after it)" if len(failed) > 1 else ""
        return f"fix '{first.title}' first{more}: {fix}; {CHECK_AGAIN}"
    sidecar = next((c for c in checks if c.id == "sidecar"), None)
    if not agent_running or (sidecar is not None and sidecar.status != "pass"):
        return f"start the proxy: `litellm-bridge start`; {CHECK_AGAIN} to check it end to end"
    warned = [c for c in checks if c.status == "warn"]
    if warned:
        return (
            f"everything needed works; '{warned[0].title}' is worth a look: "
            f"{warned[0].fix or 'see above'}"
        )
    return (
        "the bridge works: set up a tool with `litellm-bridge clients setup <name>` "
        "(names: `litellm-bridge clients list`) and run the command it prints"
    )
