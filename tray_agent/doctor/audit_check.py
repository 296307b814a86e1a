"""Doctor check of the audit log: it verifies, it can be written, and it is sealed."""

from __future__ import annotations

import os
import shutil

from tray_agent.doctor.context import CheckResult, DoctorContext

TITLE = "audit log intact and writable"


def check_audit(ctx: DoctorContext) -> CheckResult:
    from tray_agent.audit.keys import trusted_keys
    from tray_agent.audit.verify import verify_path
    from tray_agent.audit.writer import MIN_FREE_BYTES

    audit = ctx.paths.audit_dir
    if not audit.is_dir():
        return CheckResult(
            "audit", TITLE, "pass", "no audit log yet (the agent starts it)", None, {}
        )
    try:
        report = verify_path(audit, trusted_keys(audit))
    except OSError as exc:
        return CheckResult(
            "audit", TITLE, "fail", f"cannot read {audit}: {exc}", "check its permissions", {}
        )
    data = report.as_dict()
    if not report.ok:
        return CheckResult(
            "audit",
            TITLE,
            "fail",
            f"does not verify: {report.problem}",
            "keep the files as they are for your security team and send them diagnostics "
            "(litellm-bridge diagnostics); the log goes on from here",
            data,
        )
    free = shutil.disk_usage(audit).free
    if free < MIN_FREE_BYTES or not os.access(audit, os.W_OK | os.X_OK):
        why = "the disk is full" if free < MIN_FREE_BYTES else f"{audit} is not writable"
        return CheckResult(
            "audit", TITLE, "fail", f"cannot be written: {why}", "free disk space", data
        )
    detail = f"{report.events} events, {report.checkpoints} checkpoints, verified"
    if report.unsealed:
        detail += f"; {report.unsealed} line(s) after the last checkpoint (sealed at stop)"
    return CheckResult("audit", TITLE, "pass", detail, None, data)
