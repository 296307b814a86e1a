"""``litellm-bridge logs``: read the agent's and the sidecar's logs (no agent needed)."""

from __future__ import annotations

import argparse
from typing import Any

from tray_agent.commands.context import CliContext, UserError
from tray_agent.logs.reader import Follower, make_filter, read_entries


def register(sub: Any) -> None:
    p = sub.add_parser("logs", help="show the agent's and the sidecar's logs")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument("--level", help="minimum level: DEBUG, INFO, WARNING, ERROR")
    p.add_argument("--grep", metavar="PATTERN", help="only entries matching this regex")
    p.add_argument("--since", help="only entries newer than 30s, 10m, 2h, 1d or a time")
    p.add_argument(
        "--component",
        action="append",
        default=[],
        metavar="C",
        help="only this component (core, token, supervisor, sidecar, ...); repeatable",
    )
    p.add_argument(
        "-n", "--lines", type=int, default=200, help="show at most the last N entries (0: all)"
    )
    p.set_defaults(func=cmd_logs)


def cmd_logs(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        flt = make_filter(args.level, args.grep, args.since, args.component)
    except ValueError as exc:
        raise UserError(str(exc), code=2) from exc
    bases = [ctx.paths.agent_log, ctx.paths.sidecar_log]
    if not args.follow and not any(b.exists() for b in bases):
        ctx.print(f"no logs yet in {ctx.paths.log_dir}")
        return 0
    entries = read_entries(bases, flt)
    if args.lines > 0:
        entries = entries[-args.lines :]
    for e in entries:
        ctx.print(e.text)
    if args.follow:
        ctx.out.flush()

        def emit(line: str) -> None:
            ctx.print(line)
            ctx.out.flush()

        Follower(bases, flt).run(emit)
    return 0
