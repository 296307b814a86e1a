"""``init``: write config.yaml from a template; never replaces a config without ``--force``."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

import yaml

from tray_agent.commands.context import CliContext, UserError
from tray_agent.config import backup
from tray_agent.config.refs import env_names
from tray_agent.config.schema import PORT_MAX, PORT_MIN
from tray_agent.config.templates import TemplateError, instantiate, list_templates, resolve_template
from tray_agent.config.validate import EXEMPT_ENV, validate_text
from tray_agent.envstore import EnvStore, EnvStoreError, looks_secret
from tray_agent.paths import Paths
from tray_agent.policy.lock import require_unlocked


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="create config.yaml from a template")
    p.add_argument("--template", metavar="NAME|PATH", help="template name (see: templates) or file")
    p.add_argument("--port", type=int, help=f"local proxy port ({PORT_MIN}..{PORT_MAX})")
    p.add_argument("--non-interactive", action="store_true", help="never prompt")
    p.add_argument("--force", action="store_true", help="replace an existing config (backed up)")
    p.set_defaults(func=cmd_init)


def _interactive(args: argparse.Namespace) -> bool:
    return not args.non_interactive and sys.stdin.isatty()


def _choose_template(args: argparse.Namespace, ctx: CliContext) -> str:
    if args.template:
        return str(args.template)
    names = [t.name for t in list_templates()]
    if not _interactive(args):
        raise UserError(
            "choose a template with --template NAME|PATH; known templates: " + ", ".join(names),
            code=2,
        )
    ctx.print("templates: " + ", ".join(names))
    answer = input("template [demo]: ").strip()
    return answer or "demo"


def _prepare_home(paths: Paths) -> None:
    try:
        paths.ensure()
    except OSError as exc:
        where = exc.filename or paths.config_dir
        raise UserError(
            f"cannot use the directory {where}: {exc.strerror or exc}",
            hint="make it writable, or set LITELLM_BRIDGE_HOME to a directory you own",
        ) from exc


def replace_config(config: Path, text: str, force: bool) -> Path | None:
    """``config.backup.replace_config`` for the command: its refusals are ``UserError``."""
    try:
        return backup.replace_config(config, text, force)
    except backup.ConfigWriteError as exc:
        raise UserError(str(exc), hint=exc.hint) from exc


def _ask_env(ctx: CliContext, store: EnvStore, missing: list[str], interactive: bool) -> list[str]:
    """Prompt for the missing env entries when allowed; return those still missing."""
    if not interactive:
        return missing
    left = []
    ctx.print("values for the env entries the config references (empty to skip):")
    for name in missing:
        secret = looks_secret(name)
        value = getpass.getpass(f"  {name} (secret): ") if secret else input(f"  {name}: ")
        if not value:
            left.append(name)
            continue
        try:
            store.set(name, value, secret=secret)
        except EnvStoreError as exc:
            ctx.warn(f"  {name}: {exc}")
            left.append(name)
    return left


def cmd_init(args: argparse.Namespace, ctx: CliContext) -> int:
    require_unlocked("config", ctx.paths)  # a managed config.yaml is the admin's
    if args.port is not None and not PORT_MIN <= args.port <= PORT_MAX:
        raise UserError(f"port {args.port} is out of range: use {PORT_MIN}..{PORT_MAX}", code=2)
    try:
        template = resolve_template(_choose_template(args, ctx))
        text = instantiate(template.text(), args.port)
    except TemplateError as exc:
        raise UserError(str(exc), code=2) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the template {args.template}: {exc}", code=2) from exc
    except Exception as exc:  # ruamel parse errors of a user-supplied template file
        raise UserError(f"the template is not valid YAML: {exc}", code=2) from exc
    errors = [i for i in validate_text(text, str(template.path)) if i.is_error]
    if errors:
        raise UserError(
            "the template has errors:\n" + "\n".join(i.format() for i in errors), code=2
        )

    paths = ctx.paths
    _prepare_home(paths)
    config = paths.config_file
    saved = replace_config(config, text, args.force)
    if saved:
        ctx.print(f"backed up the previous config to {saved}")
    ctx.print(f"wrote {config} from template '{template.name}'")

    store = EnvStore(paths.env_file, None)
    try:
        have = store.enabled_names()
    except EnvStoreError as exc:
        ctx.warn(f"warning: {exc}")
        have = set()
    data = yaml.safe_load(text)
    missing = sorted(env_names(data) - EXEMPT_ENV - have)
    if missing and _interactive(args):
        missing = _ask_env(ctx, EnvStore(paths.env_file, ctx.secrets), missing, True)
    if missing:
        ctx.print("add the env entries it references before starting:")
        for name in missing:
            how = "--secret   # then type or pipe the value" if looks_secret(name) else "VALUE"
            ctx.print(f"  litellm-bridge env set {name} {how}")
    return 0
