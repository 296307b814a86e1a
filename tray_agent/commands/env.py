"""``env``: the variables given to the proxy (secret values kept in the OS keyring)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from tray_agent.commands.context import CliContext, UserError
from tray_agent.envstore import (
    EnvStore,
    EnvStoreError,
    NewValue,
    format_line,
    looks_secret,
    name_problem,
    parse_dotenv,
)
from tray_agent.fsutil import atomic_write
from tray_agent.policy.lock import require_env_unlocked

MASK = "********"


def register(sub: Any) -> None:
    p = sub.add_parser("env", help="manage the env entries given to the proxy")
    cmds = p.add_subparsers(dest="env_command", metavar="COMMAND", required=True)

    c = cmds.add_parser("list", help="list entries (secret values masked)")
    c.add_argument("--reveal", action="store_true", help="show secret values")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=cmd_list)

    c = cmds.add_parser("set", help="add or change an entry")
    c.add_argument("name")
    c.add_argument("value", nargs="?", help="the value (omit to type it or pipe it on stdin)")
    kind = c.add_mutually_exclusive_group()
    kind.add_argument("--secret", action="store_true", help="keep the value in the OS keyring")
    kind.add_argument("--plain", action="store_true", help="keep the value in the env file")
    c.set_defaults(func=cmd_set)

    c = cmds.add_parser("unset", help="remove an entry (and its secret value)")
    c.add_argument("name")
    c.set_defaults(func=cmd_unset)

    c = cmds.add_parser("enable", help="apply an entry again")
    c.add_argument("name")
    c.set_defaults(func=cmd_enable)

    c = cmds.add_parser("disable", help="keep an entry but do not apply it")
    c.add_argument("name")
    c.set_defaults(func=cmd_disable)

    c = cmds.add_parser("import", help="add the entries of a .env file")
    c.add_argument("file", type=Path)
    kind = c.add_mutually_exclusive_group()
    kind.add_argument("--secret", action="store_true", help="store every value as a secret")
    kind.add_argument(
        "--plain", action="store_true", help="store no value as a secret (no name heuristics)"
    )
    c.set_defaults(func=cmd_import)

    c = cmds.add_parser("export", help="write the entries as a .env file ('-' for stdout)")
    c.add_argument("file")
    c.add_argument("--include-secrets", action="store_true", help="write secret values too")
    c.set_defaults(func=cmd_export)


ARGV_SECRET_WARNING = (
    "warning: the value of {name} came on the command line: it is visible in ps and your "
    "shell history; use `litellm-bridge env set {name} --secret` and type it, or pipe it"
)


def _store(ctx: CliContext) -> EnvStore:
    return EnvStore(ctx.paths.env_file, ctx.secrets)


def _lazy_store(ctx: CliContext) -> EnvStore:
    """The store, opening the keyring only when a change touches a secret value."""
    return EnvStore(ctx.paths.env_file, open_secrets=lambda: ctx.secrets)


def _names_only(ctx: CliContext) -> EnvStore:
    return EnvStore(ctx.paths.env_file, None)


def _fail(exc: EnvStoreError) -> UserError:
    return UserError(str(exc))


def cmd_list(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        entries = _names_only(ctx).entries()
        store = _store(ctx) if args.reveal and any(e.secret for e in entries) else None
        rows = []
        for e in entries:
            if e.secret:
                value = MASK
                if store is not None:
                    got = store.value(e)
                    value = got if got is not None else "<missing from the keyring>"
            else:
                value = e.value or ""
            state = "enabled" if e.enabled else "disabled"
            rows.append((e.name, state, "secret" if e.secret else "plain", value))
    except EnvStoreError as exc:
        raise _fail(exc) from exc
    if getattr(args, "json", False):
        ctx.print_json(
            [
                {"name": n, "enabled": st == "enabled", "secret": k == "secret", "value": v}
                for n, st, k, v in rows
            ]
        )
        return 0
    if not rows:
        ctx.print(
            "no env entries; add one with: litellm-bridge env set NAME VALUE "
            "(a secret: litellm-bridge env set NAME --secret, then type or pipe it)"
        )
        return 0
    width = max(len(r[0]) for r in rows)
    for name, state, kind, value in rows:
        ctx.print(f"{name:<{width}}  {state:<8}  {kind:<6}  {value}")
    return 0


def _read_value(name: str, secret: bool) -> str:
    """Ask on a terminal (without echo for a secret), else read stdin up to its end."""
    try:
        if sys.stdin.isatty():
            prompt = f"{name} (hidden): " if secret else f"{name}: "
            return getpass.getpass(prompt) if secret else input(prompt)
        # Up to EOF, not one line: a multi-line value (a PEM key) must not be cut silently.
        return sys.stdin.read().rstrip("\r\n")
    except EOFError as exc:
        raise UserError(f"no value for {name}: stdin is closed", hint="pipe it in") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"the value of {name} on stdin is not UTF-8 text") from exc


def cmd_set(args: argparse.Namespace, ctx: CliContext) -> int:
    name: str = args.name
    problem = name_problem(name)
    if problem:
        raise UserError(problem)
    require_env_unlocked([name], ctx.paths)
    try:
        existing = _names_only(ctx).get(name)
    except EnvStoreError as exc:
        raise _fail(exc) from exc
    if args.secret:
        secret = True
    elif args.plain:
        secret = False
    else:
        # Changing the value of a secret entry keeps it secret.
        secret = existing.secret if existing is not None else False
    if args.value is not None:
        value = args.value
        if secret:
            ctx.warn(ARGV_SECRET_WARNING.format(name=name))
    else:
        value = _read_value(name, secret)
    try:
        _lazy_store(ctx).set(name, value, secret=secret)
    except EnvStoreError as exc:
        raise _fail(exc) from exc
    where = "secret, value in the OS keyring" if secret else "value in the env file"
    ctx.print(f"set {name} ({where})")
    if not secret and looks_secret(name):
        ctx.warn(
            f"note: {name} looks like a secret; store it with --secret to keep it in the keyring"
        )
    return 0


def cmd_unset(args: argparse.Namespace, ctx: CliContext) -> int:
    require_env_unlocked([args.name], ctx.paths)
    try:
        removed = _lazy_store(ctx).unset(args.name)
    except EnvStoreError as exc:
        raise _fail(exc) from exc
    if not removed:
        raise UserError(
            f"no env entry {args.name}", hint="see the entries: litellm-bridge env list"
        )
    ctx.print(f"removed {args.name}")
    return 0


def _set_enabled(args: argparse.Namespace, ctx: CliContext, enabled: bool) -> int:
    require_env_unlocked([args.name], ctx.paths)
    try:
        _names_only(ctx).set_enabled(args.name, enabled)
    except EnvStoreError as exc:
        raise _fail(exc) from exc
    ctx.print(f"{'enabled' if enabled else 'disabled'} {args.name}")
    return 0


def cmd_enable(args: argparse.Namespace, ctx: CliContext) -> int:
    return _set_enabled(args, ctx, True)


def cmd_disable(args: argparse.Namespace, ctx: CliContext) -> int:
    return _set_enabled(args, ctx, False)


def cmd_import(args: argparse.Namespace, ctx: CliContext) -> int:
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    result = parse_dotenv(text)
    values = [
        NewValue(e.name, e.value, args.secret or (not args.plain and looks_secret(e.name)))
        for e in result.entries
    ]
    require_env_unlocked([v.name for v in values], ctx.paths)  # all or nothing
    try:
        if values:  # one lock, one load, one write, one keyring write per secret
            _lazy_store(ctx).set_many(values)
    except EnvStoreError as exc:
        raise _fail(exc) from exc
    ctx.out.writelines(f"imported {v.name}" + (" (secret)\n" if v.secret else "\n") for v in values)
    for skipped in result.skipped:
        ctx.warn(f"{skipped.format(str(path))} (line skipped)")
    ctx.print(f"{len(values)} imported, {len(result.skipped)} skipped")
    return 0 if values or not result.skipped else 1


def cmd_export(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        entries = _names_only(ctx).entries()
        store = _store(ctx) if args.include_secrets and any(e.secret for e in entries) else None
        lines = ["# env entries exported by litellm-bridge"]
        for e in entries:
            prefix = "" if e.enabled else "# (disabled) "
            if e.secret and store is None:
                lines.append(f"# {e.name}: secret, not exported (use --include-secrets)")
                continue
            value = store.value(e) if (e.secret and store is not None) else e.value
            if value is None:
                lines.append(f"# {e.name}: secret value missing from the keyring")
                continue
            lines.append(prefix + format_line(e.name, value))
    except EnvStoreError as exc:
        raise _fail(exc) from exc
    text = "\n".join(lines) + "\n"
    if args.file == "-":
        ctx.out.write(text)
        return 0
    target = Path(args.file)
    try:
        atomic_write(target, text, mode=0o600)
    except OSError as exc:
        raise UserError(str(exc)) from exc
    ctx.warn(f"wrote {len(entries)} entries to {target}")
    return 0
