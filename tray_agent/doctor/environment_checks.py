"""Doctor checks of this machine's environment: proxy variables that capture loopback traffic,
and disk space for logs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tray_agent.doctor.context import CheckResult, DoctorContext
from tray_agent.doctor.port_check import LOOPBACK
from tray_agent.logs.secrets import PROXY_VARS

DISK_FAIL = 50 * 1024 * 1024
DISK_WARN = 200 * 1024 * 1024


def _covers_loopback(no_proxy: str) -> bool:
    items = {p.strip().lower() for p in no_proxy.split(",") if p.strip()}
    return bool(items & {"*", "127.0.0.1", "127.0.0.0/8", "127.0.0.1/32", "127.*"})


def check_proxy_env(ctx: DoctorContext) -> CheckResult:
    title = "no proxy variable captures loopback traffic"
    set_vars = [v for v in PROXY_VARS if ctx.environ.get(v)]
    if not set_vars:
        return CheckResult("proxy_env", title, "pass", "no HTTP(S)_PROXY / ALL_PROXY is set")
    no_proxy = ",".join(ctx.environ.get(k, "") for k in ("NO_PROXY", "no_proxy"))
    if _covers_loopback(no_proxy):
        return CheckResult(
            "proxy_env",
            title,
            "pass",
            f"{', '.join(set_vars)} set; NO_PROXY covers {LOOPBACK}",
        )
    return CheckResult(
        "proxy_env",
        title,
        "fail",
        f"{', '.join(set_vars)} set in this shell and NO_PROXY does not cover {LOOPBACK}: "
        "coding tools would send their requests for the local proxy to the corporate proxy",
        "add loopback to NO_PROXY where your tools run, e.g. "
        "`export NO_PROXY=127.0.0.1,localhost,$NO_PROXY` (and no_proxy) in your shell profile; "
        "on Windows: setx NO_PROXY 127.0.0.1,localhost",
        {"variables": set_vars},
    )


def check_disk(ctx: DoctorContext) -> CheckResult:
    title = "disk space for logs"
    where: Path = ctx.paths.log_dir
    while not where.exists() and where.parent != where:
        where = where.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError as exc:
        return CheckResult("disk", title, "warn", f"cannot measure free space at {where}: {exc}")
    mb = free / (1024 * 1024)
    detail = f"{mb:,.0f} MB free at {where}"
    if free < DISK_FAIL:
        return CheckResult(
            "disk", title, "fail", detail, "free some disk space (logs need up to ~40 MB)"
        )
    if free < DISK_WARN:
        return CheckResult("disk", title, "warn", detail, "free some disk space soon")
    return CheckResult("disk", title, "pass", detail)
