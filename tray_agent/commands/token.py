"""``litellm-bridge token login|status|refresh|logout``: the internal token from the shell.

With an agent running, each command is forwarded to it over the control channel
(``token.login``, ``token.status``, ``token.refresh``, ``token.logout``), so the agent's
refresher and the sidecar see the change at once. Without one, the command talks to the IAM
itself through :class:`~tray_agent.token.lifecycle.TokenManager`, with the IAM client built
by the same function the agent uses (:func:`~tray_agent.token.iam.iam_from_config`). The token
is never printed.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tray_agent.audit.action import note
from tray_agent.commands.context import CliContext, UserError
from tray_agent.control.protocol import ControlError
from tray_agent.token.iam import IamError, iam_from_config
from tray_agent.token.lifecycle import TokenManager
from tray_agent.token.store import TokenStatus, read_state, status_from_state

DEFAULT_NOTIFY_BEFORE = 300.0


def register(sub: Any) -> None:
    parser = sub.add_parser("token", help="sign in to the company IAM; show or renew the token")
    tsub = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)

    p = tsub.add_parser("login", help="sign in with employee ID and password")
    p.add_argument("--employee-id", help="default: the last one used")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from one line of stdin"
    )
    p.add_argument(
        "--remember",
        action="store_true",
        help="keep the password (in the OS keyring; without one, in the agent's memory for "
        "its run) to sign in again silently when needed",
    )
    p.set_defaults(func=cmd_login)

    p = tsub.add_parser(
        "status", help="show the token state (exit 0 when a usable token exists, else 1)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    p = tsub.add_parser("refresh", help="renew the token now, without the password")
    p.set_defaults(func=cmd_refresh)

    p = tsub.add_parser("logout", help="forget the token, refresh token and remembered password")
    p.set_defaults(func=cmd_logout)


# -- commands ---------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace, ctx: CliContext) -> int:
    employee_id = args.employee_id or read_state(ctx.paths.state_file).employee_id
    if not employee_id:
        employee_id = _ask_employee_id()
    password = _read_password(employee_id, args.password_stdin)
    agent = ctx.agent()
    if agent is not None:
        result = _call(
            agent,
            "token.login",
            employee_id=employee_id,
            password=password,
            remember=bool(args.remember),
        )
        status = _status_of(result)
    else:  # no agent to record it: the command does (tray_agent.audit.action)
        manager = _direct_manager(ctx)
        _warn_if_not_kept(ctx)
        try:
            status = manager.login(employee_id, password, remember=bool(args.remember))
        except IamError as exc:
            note("token.login_failed", employee_id=employee_id, error=type(exc).__name__)
            raise UserError(str(exc)) from exc
        note("token.login", employee_id=employee_id, expires_at=status.expires_at)
    ctx.print(f"signed in as {employee_id}; token {_until(status)}")
    if status.expiry_note:
        ctx.warn(f"note: {status.expiry_note}")
    if args.remember:
        ctx.print(_remembered(status, through_agent=agent is not None))
    return 0


def _remembered(status: TokenStatus, through_agent: bool) -> str:
    """Where ``--remember`` really put the password."""
    if not status.kept_in_memory:
        return "the password is kept in the OS keyring to sign in again when needed"
    if through_agent:
        return (
            "no OS keyring is available: the password is kept in the agent's memory for its "
            "run only, and forgotten when the agent stops"
        )
    return (
        "no OS keyring is available: the password was kept only in this command's memory and "
        "is already forgotten; start the agent (litellm-bridge start) and sign in through it "
        "to keep it for the agent's run"
    )


def cmd_status(args: argparse.Namespace, ctx: CliContext) -> int:
    agent = ctx.agent()
    if agent is not None:
        status = _status_of(_call(agent, "token.status"))
        source = "agent"
    else:
        # The state file alone: no keyring unlock, no network.
        status = status_from_state(
            read_state(ctx.paths.state_file), time.time(), _notify_before(ctx)
        )
        source = "state file"
    if args.json:
        ctx.print_json({**status.to_dict(), "source": source}, indent=None, sort_keys=True)
    else:
        for line in describe(status, time.time()):
            ctx.print(line)
    return 0 if status.usable else 1


def cmd_refresh(args: argparse.Namespace, ctx: CliContext) -> int:
    agent = ctx.agent()
    if agent is not None:
        status = _status_of(_call(agent, "token.refresh"))
    else:
        manager = _direct_manager(ctx)
        _warn_if_not_kept(ctx)
        try:
            status = manager.refresh_now()
        except IamError as exc:
            note("token.refresh_failed", error=type(exc).__name__)
            raise UserError(str(exc)) from exc
        note("token.refreshed", employee_id=status.employee_id, expires_at=status.expires_at)
    ctx.print(f"token renewed; {_until(status)}")
    return 0


def cmd_logout(args: argparse.Namespace, ctx: CliContext) -> int:
    agent = ctx.agent()
    if agent is not None:
        _call(agent, "token.logout")
    else:
        TokenManager(None, ctx.secrets, ctx.paths.state_file).logout()
        note("token.logout", employee_id=read_state(ctx.paths.state_file).employee_id)
    ctx.print("signed out: token, refresh token and remembered password forgotten")
    return 0


# -- presentation -----------------------------------------------------------------------------


def describe(status: TokenStatus, now: float) -> list[str]:
    """Human-readable lines for ``token status`` (and the tray's tooltip, if it likes)."""
    lines = [f"token: {status.state}"]
    if status.employee_id:
        lines.append(f"employee ID: {status.employee_id}")
    if status.expires_at is not None:
        lines.append(f"expires: {_when(status.expires_at, now)}")
    if status.state in ("absent", "expired", "error") or not status.usable:
        lines.append('sign in with "litellm-bridge token login"')
    elif status.can_refresh_silently:
        how = "remembered password" if status.password_remembered else "refresh token"
        lines.append(f"renews silently: yes ({how})")
        if status.next_refresh_at is not None:
            lines.append(f"next renewal: {_when(status.next_refresh_at, now)}")
    else:
        lines.append("renews silently: no (sign in again before it expires, or use --remember)")
    if status.expiry_note:
        lines.append(f"note: {status.expiry_note}")
    if status.kept_in_memory:
        lines.append("kept: in the agent's memory for its run only (no OS keyring)")
    if status.last_error:
        lines.append(f"last error: {status.last_error}")
    return lines


def _when(at: float, now: float) -> str:
    try:
        stamp = datetime.fromtimestamp(at).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    except (OverflowError, OSError, ValueError):  # TokenStatus.from_dict bounds it; be safe
        return "unknown (not a valid time)"
    delta = at - now
    span = _span(abs(delta))
    return f"{stamp} ({'in ' + span if delta >= 0 else span + ' ago'})"


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _until(status: TokenStatus) -> str:
    if status.expires_at is None:
        return f"state {status.state}"
    return f"valid until {_when(status.expires_at, time.time())}"


# -- plumbing ---------------------------------------------------------------------------------


def _call(agent: Any, method: str, **params: Any) -> Any:
    try:
        with agent:
            return agent.call(method, **params)
    except ControlError as exc:
        raise UserError(str(exc)) from exc


def _status_of(result: Any) -> TokenStatus:
    if isinstance(result, Mapping):
        return TokenStatus.from_dict(dict(result))
    raise UserError(f"the agent answered an unexpected token status: {type(result).__name__}")


def _ask_employee_id() -> str:
    if not sys.stdin.isatty():
        raise UserError("no employee ID: pass --employee-id ID")
    value = input("Employee ID: ").strip()
    if not value:
        raise UserError("no employee ID given")
    return value


def _read_password(employee_id: str, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"IAM password for {employee_id}: ")
    else:
        raise UserError(
            "no terminal to ask for the password",
            hint="pipe it on one line with --password-stdin",
        )
    if not password:
        raise UserError("empty password: nothing was sent to the IAM")
    return password


def _warn_if_not_kept(ctx: CliContext) -> None:
    if not ctx.secrets.persistent:
        ctx.warn(
            "warning: no OS keyring is available, so the token cannot be kept after this "
            "command; start the agent (litellm-bridge start) and sign in through it"
        )


def _bridge_section(ctx: CliContext) -> dict[str, Any]:
    """The ``bridge:`` section of config.yaml, validated by the config package."""
    from tray_agent.config import ConfigInvalid, load_config

    if not ctx.paths.config_file.exists():
        raise UserError(
            f"no config file at {ctx.paths.config_file}",
            hint="create one with `litellm-bridge init` and fill in bridge.iam",
        )
    try:
        loaded = load_config(ctx.paths.config_file)
    except ConfigInvalid as exc:
        raise UserError(str(exc)) from exc
    bridge = loaded.data.get("bridge") if isinstance(loaded.data, dict) else None
    section = dict(bridge) if isinstance(bridge, dict) else {}
    from tray_agent.policy.managed import locked_iam

    try:
        locked, iam = locked_iam(ctx.paths, ctx.secrets)
    except ConfigInvalid as exc:
        raise UserError(str(exc)) from exc
    if locked:  # lock.iam: the sign-in section comes only from the admin's managed config
        section.pop("iam", None)
        if iam:
            section["iam"] = iam
    return section


def _notify_before(ctx: CliContext) -> float:
    try:
        value = _bridge_section(ctx).get("notify_before", DEFAULT_NOTIFY_BEFORE)
        return float(value)
    except (UserError, TypeError, ValueError):
        return DEFAULT_NOTIFY_BEFORE


def _env_entries(ctx: CliContext) -> dict[str, str]:
    """The enabled env entries with their values (what the agent passes as ``Prepared.env``)."""
    try:
        from tray_agent.envstore import EnvStore

        return EnvStore(ctx.paths.env_file, ctx.secrets).resolved()
    except Exception as exc:  # an unreadable env store must not block signing in
        ctx.warn(f"warning: env entries not read ({exc})")
        return {}


def _direct_manager(ctx: CliContext) -> TokenManager:
    bridge = _bridge_section(ctx)
    profile = bridge.get("iam")
    if not profile:
        raise UserError(
            f"no bridge.iam section in {ctx.paths.config_file}",
            hint="add your company's IAM profile (see the README, token contract)",
        )
    try:
        iam = iam_from_config(profile, _env_entries(ctx), ctx.paths.config_file.parent)
    except IamError as exc:
        raise UserError(str(exc)) from exc
    except ValueError as exc:  # pydantic validation of the profile
        raise UserError(f"bridge.iam in {ctx.paths.config_file} is invalid: {exc}") from exc
    notify = float(bridge.get("notify_before", DEFAULT_NOTIFY_BEFORE))
    return TokenManager(iam, ctx.secrets, ctx.paths.state_file, notify_before=notify)
