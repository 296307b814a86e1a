"""``account create | login | passwd``: the local password that guards secrets in the tray."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from tray_agent.account import Account, AccountError, LockedOut, WrongPassword
from tray_agent.commands.context import CliContext, UserError

EXIT_WRONG = 1
EXIT_LOCKED = 4


def register(sub: Any) -> None:
    p = sub.add_parser("account", help="the local account guarding secrets and config edits")
    asub = p.add_subparsers(dest="account_command", metavar="ACTION", required=True)

    c = asub.add_parser("create", help="create the local account (first run)")
    c.add_argument("--password-stdin", action="store_true", help="read the new password from stdin")
    c.set_defaults(func=cmd_create)

    c = asub.add_parser("login", help="check the local password (exit 0 when right)")
    c.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    c.set_defaults(func=cmd_login)

    c = asub.add_parser("passwd", help="change the local password")
    c.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the current and the new password from two lines of stdin",
    )
    c.set_defaults(func=cmd_passwd)


def _line() -> str:
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


def _ask(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        return _line()
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for the password", hint="use --password-stdin")
    return getpass.getpass(prompt)


def _ask_new(from_stdin: bool) -> str:
    first = _ask("New local password: ", from_stdin)
    if from_stdin:
        return first
    if getpass.getpass("Repeat it: ") != first:
        raise UserError("the two passwords differ; nothing was changed")
    return first


def cmd_create(args: argparse.Namespace, ctx: CliContext) -> int:
    account = Account(ctx.paths.account_file)
    if account.exists():
        raise UserError(
            f"a local account already exists ({ctx.paths.account_file})",
            hint="change its password with `litellm-bridge account passwd`",
        )
    ctx.paths.ensure()
    try:
        account.create(_ask_new(args.password_stdin))
    except AccountError as exc:
        raise UserError(str(exc)) from exc
    ctx.print(f"created the local account ({ctx.paths.account_file})")
    return 0


def cmd_login(args: argparse.Namespace, ctx: CliContext) -> int:
    account = Account(ctx.paths.account_file)
    try:
        account.verify(_ask("Local password: ", args.password_stdin))
    except LockedOut as exc:
        raise UserError(str(exc), code=EXIT_LOCKED) from exc
    except WrongPassword as exc:
        raise UserError(str(exc), code=EXIT_WRONG) from exc
    except AccountError as exc:
        raise UserError(str(exc)) from exc
    ctx.print("password accepted")
    return 0


def cmd_passwd(args: argparse.Namespace, ctx: CliContext) -> int:
    account = Account(ctx.paths.account_file)
    old = _ask("Current local password: ", args.password_stdin)
    new = _ask_new(args.password_stdin)
    try:
        account.change(old, new)
    except LockedOut as exc:
        raise UserError(str(exc), code=EXIT_LOCKED) from exc
    except AccountError as exc:
        raise UserError(str(exc)) from exc
    ctx.print("password changed")
    return 0
