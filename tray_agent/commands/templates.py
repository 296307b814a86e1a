"""``templates``: list the official config templates, or print one."""

from __future__ import annotations

import argparse
from typing import Any

from tray_agent.commands.context import CliContext, UserError
from tray_agent.config.templates import TemplateError, list_templates, resolve_template


def register(sub: Any) -> None:
    p = sub.add_parser("templates", help="list config templates (or print one)")
    p.add_argument("name", nargs="?", help="print this template instead of listing them all")
    p.add_argument("--json", action="store_true", help="list them as JSON")
    p.set_defaults(func=cmd_templates)


def cmd_templates(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.name:
        try:
            template = resolve_template(args.name)
        except TemplateError as exc:
            raise UserError(str(exc), code=2) from exc
        ctx.out.write(template.text())
        return 0
    templates = list_templates()
    if not templates:
        raise UserError("no templates are installed", hint="reinstall litellm-bridge")
    if getattr(args, "json", False):
        ctx.print_json([{"name": t.name, "description": t.description} for t in templates])
        return 0
    width = max(len(t.name) for t in templates)
    for t in templates:
        ctx.print(f"{t.name:<{width}}  {t.description}")
    return 0
