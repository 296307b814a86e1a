"""Doctor check of the organization policy: ownership, syntax, schema and signature.

Reads the files as the agent would (``tray_agent.policy.current``) and reports the first
refusal or error with what to fix; compares with what a running agent enforces.
"""

from __future__ import annotations

from tray_agent.doctor.context import CheckResult, DoctorContext

TITLE = "organization policy trusted and valid"
FIXES = {
    "not_admin_owned": "make it owned by root / an administrator (sudo chown root:root FILE)",
    "writable": "remove group and world write access (sudo chmod 644 FILE)",
    "parent_writable": "make every directory above it root-owned and not group/world-writable",
    "symlink": "replace the link by the file itself, inside the policy directory",
    "not_regular": "make it a regular file",
    "too_large": "keep the policy under 1 MiB",
    "unreadable": "check the file's permissions",
    "signature_missing": "sign it with the company's policy key (README: Signed policy)",
    "signature_invalid": "sign the current file again with the company's policy key",
}


def check_policy(ctx: DoctorContext) -> CheckResult:
    from tray_agent.policy.current import evaluate_for

    eff = evaluate_for(ctx.paths, ctx.secrets(), ctx.environ)
    data = {"state": eff.state, "sources": eff.sources, "directory": str(eff.location.directory)}
    if eff.state == "none":
        return CheckResult(
            "policy", TITLE, "pass", "no organization policy on this machine", None, data
        )
    problem = eff.refused or eff.error
    if problem is None:
        signed = " (signatures verified)" if eff.signed else ""
        detail = f"in force from {', '.join(eff.sources)}{signed}"
        running = (ctx.status or {}).get("policy") or {}
        if running and running.get("source") not in (None, eff.sources):
            return CheckResult(
                "policy",
                TITLE,
                "warn",
                detail + "; the agent has not picked it up yet",
                "wait a few seconds, or restart the agent",
                data,
            )
        return CheckResult("policy", TITLE, "pass", detail, None, data)
    data["reason"] = problem.reason
    kept = (
        "the last good policy stays in force"
        if eff.state == "last_good"
        else "no good policy was ever seen: everything is locked and no model is served"
    )
    fix = FIXES.get(problem.reason, "fix the file (line:column above) and save it again")
    return CheckResult(
        "policy", TITLE, "fail", f"{problem}; {kept}", f"{problem.source}: {fix}", data
    )
