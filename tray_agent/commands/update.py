"""``litellm-bridge update check|apply|rollback|status``: signed per-user updates."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import Any

from tray_agent import __version__
from tray_agent.commands.context import CliContext, UserError
from tray_agent.control.protocol import ControlError

EXIT_REFUSED = 4
Handler = Callable[[argparse.Namespace, CliContext], int]


def _state_errors(func: Handler) -> Handler:
    """An unreadable ``versions/state.json`` is a user error naming the file, not a trace."""

    @functools.wraps(func)
    def run(args: argparse.Namespace, ctx: CliContext) -> int:
        from tray_agent.update.layout import UpdateStateError

        try:
            return func(args, ctx)
        except UpdateStateError as exc:
            raise UserError(str(exc)) from None

    return run


def register(sub: Any) -> None:
    p = sub.add_parser("update", help="check for, install and roll back signed updates")
    actions = p.add_subparsers(dest="update_command", metavar="ACTION", required=True)
    for name, help_text, func in (
        ("check", "is a newer release available (and if not, why)", cmd_check),
        ("apply", "download, verify and install the newest release", cmd_apply),
        ("rollback", "go back to the previous version (marks this one bad)", cmd_rollback),
        ("status", "versions installed, current, bad, update source", cmd_status),
    ):
        a = actions.add_parser(name, help=help_text)
        a.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "apply":
            a.add_argument(
                "--no-switch",
                action="store_true",
                help="install only; a running agent switches at its next start",
            )
        a.set_defaults(func=func)


def _source(ctx: CliContext) -> Any:
    from tray_agent.update.source import UpdateSourceError, resolve

    try:
        return resolve(ctx.paths)
    except UpdateSourceError as exc:
        raise UserError(str(exc), hint="fix bridge.update in config.yaml") from None


def _refused(ctx: CliContext, args: argparse.Namespace, exc: Any, **extra: Any) -> int:
    if args.json:
        ctx.print_json({"ok": False, "refused": exc.kind, "error": str(exc), **extra})
    else:
        ctx.warn(f"error: update refused: {exc}")
    return EXIT_REFUSED


@_state_errors
def cmd_check(args: argparse.Namespace, ctx: CliContext) -> int:
    from tray_agent.update.fetch import Client, Refused
    from tray_agent.update.install import installed_version, metadata_dir
    from tray_agent.update.layout import Layout

    source = _source(ctx)
    layout = Layout(ctx.paths.data_dir)
    installed = installed_version(layout)
    if source.mode == "off":
        why = f"updates are turned off (update.mode from {source.origin['mode']})"
        doc = {"ok": True, "current": installed, "available": None, "why_not": why}
    else:
        try:
            found = Client(source, metadata_dir(ctx.paths.data_dir)).find(installed)
        except Refused as exc:
            return _refused(ctx, args, exc, current=installed, available=None)
        bad = found.available in layout.load().bad
        why = found.reason or ("marked bad here: not offered" if bad else "")
        doc = {
            "ok": True,
            "current": installed,
            "available": None if bad else found.available,
            "why_not": why or None,
        }
    if args.json:
        ctx.print_json(doc)
    elif doc["available"]:
        ctx.print(f"update available: {doc['available']} (installed {installed})")
        ctx.print("install it with `litellm-bridge update apply`")
    else:
        ctx.print(f"no update: {doc['why_not']}")
    return 0


def _progress_bar(done: int, total: int) -> None:
    if not total or not sys.stderr.isatty():
        return
    width = 30
    filled = width * min(done, total) // total
    print(
        f"\rdownloading [{'#' * filled}{'.' * (width - filled)}] "
        f"{done / 1e6:.0f}/{total / 1e6:.0f} MB",
        end="" if done < total else "\n",
        file=sys.stderr,
        flush=True,
    )


@_state_errors
def cmd_apply(args: argparse.Namespace, ctx: CliContext) -> int:
    from tray_agent.update.fetch import Refused
    from tray_agent.update.install import apply

    source = _source(ctx)
    try:
        applied = apply(source, ctx.paths.data_dir, progress=_progress_bar)
    except Refused as exc:
        return _refused(ctx, args, exc, installed=None)
    switched = None
    if applied is not None and not args.no_switch:
        switched = _switch_running_agent(ctx, args.json)
    doc = {
        "ok": True,
        "installed": None if applied is None else applied.version,
        "previous": None if applied is None else applied.previous,
        "removed": [] if applied is None else applied.removed,
        "restart_needed": applied is not None and not (switched and switched.ok),
        "switched": None if switched is None else switched.ok,
        "running": None if switched is None else switched.version,
    }
    if args.json:
        ctx.print_json(doc)
    elif applied is None:
        ctx.print("no update to install")
    else:
        ctx.print(f"installed {applied.version} (was {applied.previous or __version__})")
        if switched is not None and switched.ok and switched.version != applied.version:
            ctx.print(f"{applied.version} failed to start and was left: {switched.version} serves")
        elif switched is not None and switched.ok:
            ctx.print(f"the agent restarted into it without downtime: {switched.version} serves")
        elif switched is not None:
            ctx.print("the new version did not take over: the running agent keeps serving")
            ctx.print("see `litellm-bridge update status` and `litellm-bridge logs`")
        else:
            ctx.print("it starts with the next agent start: `litellm-bridge stop` then start it")
        ctx.print("if it fails to start twice, the previous version comes back by itself")
    return 0


def _switch_running_agent(ctx: CliContext, quiet: bool) -> Any:
    """Restart a running agent into the version just installed (None: no agent runs, or
    the platform restarts at the next start)."""
    from tray_agent.update.boot import MAX_FAILURES, health_timeout
    from tray_agent.update.takeover import SUPPORTED, switch

    if not SUPPORTED or not getattr(sys, "frozen", False):
        return None  # from source, an installed version is never what runs
    client = ctx.agent()
    if client is None:
        return None
    client.close()
    if not quiet:
        ctx.warn("restarting the agent into the new version (requests keep being answered)…")
    try:
        return switch(ctx.paths, timeout=health_timeout() * MAX_FAILURES + 30)
    except ControlError as exc:
        ctx.warn(f"cannot restart the running agent: {exc}")
        return None


@_state_errors
def cmd_rollback(args: argparse.Namespace, ctx: CliContext) -> int:
    from tray_agent.update.boot import rollback
    from tray_agent.update.layout import Layout

    layout = Layout(ctx.paths.data_dir)
    with layout.editing() as state:
        leaving = state.current
        if leaving is None:
            raise UserError(
                "nothing to roll back: the installed package is the current version",
                hint="`litellm-bridge update status` lists the versions",
            )
        back = rollback(state, leaving, "rolled back by the user")
        state.notice = None
    shown = back or "the installed package"
    if args.json:
        ctx.print_json({"ok": True, "left": leaving, "current": back})
    else:
        ctx.print(f"rolled back from {leaving} to {shown} ({leaving} will not be offered again)")
        ctx.print("it starts with the next agent start")
    return 0


@_state_errors
def cmd_status(args: argparse.Namespace, ctx: CliContext) -> int:
    from tray_agent.update.layout import Layout
    from tray_agent.update.source import UpdateSourceError, resolve
    from tray_agent.update.status import build, format_status

    source, problem = None, None
    try:
        source = resolve(ctx.paths)
    except UpdateSourceError as exc:
        problem = str(exc)
    doc = build(Layout(ctx.paths.data_dir), source, problem)
    if args.json:
        ctx.print_json(doc)
    else:
        ctx.print(format_status(doc))
    return 0
