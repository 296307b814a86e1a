"""``litellm-bridge metrics``: requests, errors, latency and in-flight counts of the proxy."""

from __future__ import annotations

import argparse
from typing import Any

from tray_agent.commands.context import CliContext
from tray_agent.metrics.format import format_metrics

EXIT_NO_AGENT = 3


def register(sub: Any) -> None:
    p = sub.add_parser("metrics", help="request counts, errors and latency of the proxy")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_metrics)


def cmd_metrics(args: argparse.Namespace, ctx: CliContext) -> int:
    client = ctx.agent()
    if client is None:
        if args.json:
            ctx.print_json({"agent": None, "error": "no agent is running"}, indent=None)
        else:
            ctx.print("no agent is running: metrics exist only while it runs")
        return EXIT_NO_AGENT
    with client:
        summary = client.call("metrics", timeout=30)
    if args.json:
        ctx.print_json(summary)
    else:
        ctx.print(format_metrics(summary))
    return 0
