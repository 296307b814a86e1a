"""``config``: validate, show the effective config, print the path, open the editor."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tray_agent import strictjson
from tray_agent.commands.context import CliContext, UserError
from tray_agent.config.edit import EditorError, open_in_editor
from tray_agent.config.issues import ConfigInvalid, ConfigIssue
from tray_agent.config.render import render_effective
from tray_agent.config.validate import validate_file
from tray_agent.envstore import EnvStore, EnvStoreError
from tray_agent.policy.lock import require_unlocked

INIT_HINT = "create it with: litellm-bridge init --template demo"


def register(sub: Any) -> None:
    p = sub.add_parser("config", help="validate, show or edit config.yaml")
    cmds = p.add_subparsers(dest="config_command", metavar="COMMAND", required=True)

    c = cmds.add_parser("validate", help="check config.yaml (FILE:LINE:COL: message)")
    c.add_argument("file", nargs="?", type=Path, help="file to check (default: config.yaml)")
    c.add_argument("--no-env", action="store_true", help="do not check env entries")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=cmd_validate)

    c = cmds.add_parser("path", help="print the path of config.yaml")
    c.set_defaults(func=cmd_path)

    c = cmds.add_parser("show", help="print the effective config the proxy loads")
    c.add_argument("file", nargs="?", type=Path, help="config file (default: config.yaml)")
    c.set_defaults(func=cmd_show)

    c = cmds.add_parser("edit", help="open config.yaml in the default editor")
    c.set_defaults(func=cmd_edit)


def print_issues(ctx: CliContext, issues: list[ConfigIssue]) -> None:
    for issue in issues:
        ctx.print(issue.format())


def cmd_validate(args: argparse.Namespace, ctx: CliContext) -> int:
    path: Path = args.file or ctx.paths.config_file
    enabled: set[str] | None = None
    disabled: set[str] = set()
    if not args.no_env:
        store = EnvStore(ctx.paths.env_file, None)
        try:
            enabled, disabled = store.enabled_names(), store.disabled_names()
        except EnvStoreError as exc:
            ctx.warn(f"warning: env entries not checked: {exc}")
    issues = validate_file(path, enabled, disabled)
    errors = sum(1 for i in issues if i.is_error)
    warnings = len(issues) - errors
    if getattr(args, "json", False):
        ctx.print_json(
            {
                "file": str(path),
                "valid": not errors,
                "errors": errors,
                "warnings": warnings,
                "issues": [i.as_dict() for i in issues],
            }
        )
        return 1 if errors else 0
    print_issues(ctx, issues)
    if errors:
        ctx.warn(f"{path}: {errors} error(s), {warnings} warning(s)")
        return 1
    # A passing check is a result, not a warning: stdout.
    ctx.print(f"{path}: OK" + (f" ({warnings} warning(s))" if warnings else ""))
    return 0


def cmd_path(args: argparse.Namespace, ctx: CliContext) -> int:
    ctx.print(str(ctx.paths.config_file))
    return 0


def cmd_show(args: argparse.Namespace, ctx: CliContext) -> int:
    path: Path = args.file or ctx.paths.config_file
    try:
        rendered = render_effective(path)
    except ConfigInvalid as exc:
        print_issues(ctx, exc.issues)
        raise UserError(f"{path} has errors; fix them first") from None
    ctx.out.write(rendered.text)
    ctx.print(f"# injection spec (LITELLM_BRIDGE_INJECT): {strictjson.dumps(rendered.inject)}")
    ctx.print(f"# port: {rendered.port}")
    return 0


def cmd_edit(args: argparse.Namespace, ctx: CliContext) -> int:
    require_unlocked("config", ctx.paths)  # an edit would only be restored
    path = ctx.paths.config_file
    if not path.exists():
        raise UserError(f"{path} does not exist", hint=INIT_HINT)
    try:
        how = open_in_editor(path)
    except EditorError as exc:
        raise UserError(str(exc)) from exc
    ctx.print(f"{path}: {how}; a running agent applies your changes on save")
    return 0
