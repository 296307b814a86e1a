"""``litellm-bridge doctor``: pass/warn/fail for each failure point, with a fix."""

from __future__ import annotations

import argparse
from typing import Any

from tray_agent.commands.context import CliContext
from tray_agent.doctor import format_report, run_doctor


def register(sub: Any) -> None:
    p = sub.add_parser("doctor", help="check everything the bridge depends on")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace, ctx: CliContext) -> int:
    report = run_doctor(ctx.paths)
    if args.json:
        ctx.print_json(report.as_dict())
    else:
        ctx.print(format_report(report))
    return 0 if report.ok else 1
