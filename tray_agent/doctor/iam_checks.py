"""Doctor checks against the IAM: reachable step by step (DNS, TCP, TLS, HTTP), and this
computer's clock against the IAM's ``Date`` header (token expiry depends on it).

The IAM's URL and CA bundle come from the same profile reading the IAM client is built from
(:func:`tray_agent.token.iam.iam_endpoint`).
"""

from __future__ import annotations

from typing import Any

from tray_agent.doctor.context import CheckResult, DoctorContext
from tray_agent.doctor.probe import probe_url
from tray_agent.token.iam import iam_endpoint

CLOCK_WARN = 10.0
CLOCK_FAIL = 120.0


def _iam_probe(ctx: DoctorContext) -> Any:
    if "iam" not in ctx.cache:
        r = ctx.rendered()
        iam = r.iam if r is not None else None
        if iam is None:
            ctx.cache["iam"] = None
        else:
            url, bundle = iam_endpoint(iam, ctx.paths.config_file.parent)
            ctx.cache["iam"] = (
                url,
                bundle,
                probe_url(
                    url, ca_bundle=bundle, timeout=ctx.timeout, environ=ctx.environ, what="the IAM"
                ),
            )
    return ctx.cache["iam"]


def check_iam(ctx: DoctorContext) -> CheckResult:
    title = "IAM reachable (DNS, TCP, TLS, HTTP)"
    if ctx.rendered() is None:
        return CheckResult("iam", title, "skip", "config not readable (see the config check)")
    found = _iam_probe(ctx)
    if found is None:
        return CheckResult("iam", title, "skip", "no bridge.iam in config.yaml")
    url, _bundle, p = found
    data = {"url": url, "step": p.step, "untrusted_ca": p.untrusted_ca, "status": p.status}
    if not p.ok:
        return CheckResult("iam", title, "fail", p.message, p.fix, data)
    return CheckResult("iam", title, "pass", p.message, data=data)


def check_clock(ctx: DoctorContext) -> CheckResult:
    title = "clock agrees with the IAM's Date header"
    found = _iam_probe(ctx) if ctx.rendered() is not None else None
    if found is None:
        return CheckResult("clock", title, "skip", "no IAM to compare with")
    p = found[2]
    if p.server_date is None or p.local_mid is None:
        return CheckResult("clock", title, "skip", "the IAM sent no Date header")
    skew = p.local_mid - p.server_date
    data = {"skew_seconds": round(skew, 1)}
    direction = "ahead of" if skew > 0 else "behind"
    detail = f"this computer's clock is {abs(skew):.0f} s {direction} the IAM's"
    fix = (
        "turn on automatic time synchronisation (Linux: timedatectl set-ntp true; Windows: "
        "Settings > Time > Set time automatically); token expiry depends on it"
    )
    if abs(skew) >= CLOCK_FAIL:
        return CheckResult("clock", title, "fail", detail, fix, data)
    if abs(skew) >= CLOCK_WARN:
        return CheckResult("clock", title, "warn", detail, fix, data)
    return CheckResult("clock", title, "pass", detail, data=data)
