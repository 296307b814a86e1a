"""``litellm-bridge diagnostics``: write a redacted zip for support and say where it went."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tray_agent.commands.context import CliContext
from tray_agent.diagnostics import export_diagnostics


def register(sub: Any) -> None:
    p = sub.add_parser("diagnostics", help="write a zip with redacted diagnostics for support")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="zip file or directory to write (default: a timestamped file here)",
    )
    p.set_defaults(func=cmd_diagnostics)


def cmd_diagnostics(args: argparse.Namespace, ctx: CliContext) -> int:
    target = export_diagnostics(ctx.paths, args.output or Path.cwd())
    ctx.print(f"diagnostics written to {target}")
    return 0
