"""``dialog NAME``: show one Tk dialog; parameters as JSON on stdin, result as JSON on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tray_agent import strictjson
from tray_agent.commands.context import CliContext, UserError


def register(sub: Any) -> None:
    from tray_agent.dialogs import DIALOGS

    p = sub.add_parser("dialog", help="show a dialog (used by the tray; JSON in and out)")
    p.add_argument("name", choices=sorted(DIALOGS))
    p.add_argument("--params", help="parameters as JSON instead of stdin (no secrets here)")
    p.set_defaults(func=cmd_dialog)


def cmd_dialog(args: argparse.Namespace, ctx: CliContext) -> int:
    from tray_agent.dialogs.base import run
    from tray_agent.dialogs.services import Services

    raw = args.params
    if raw is None:
        raw = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    try:
        params = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        raise UserError(f"dialog parameters are not JSON: {exc}", code=2) from exc
    if not isinstance(params, dict):
        raise UserError("dialog parameters must be a JSON object", code=2)
    try:
        result = run(args.name, params, Services(ctx.paths))
    except Exception as exc:  # no display, Tk missing: tell the parent on stderr
        import tkinter

        if isinstance(exc, tkinter.TclError):
            raise UserError(f"cannot show the {args.name} dialog: {exc}") from exc
        raise
    sys.stdout.write(strictjson.dumps(result) + "\n")
    sys.stdout.flush()
    return 0
