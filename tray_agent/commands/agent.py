"""Agent lifecycle commands: run, start, stop, restart, status, key, paths."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from typing import Any

from tray_agent.commands.context import CliContext, UserError
from tray_agent.control.client import ControlClient
from tray_agent.control.protocol import ControlError
from tray_agent.seams import ExtensionHost
from tray_agent.single_instance import AlreadyRunning, InstanceLock
from tray_agent.supervisor import proctree
from tray_agent.supervisor.ports import Listener, foreign_listeners

EXIT_NO_AGENT = 3
# `stop --agent`: how long the agent may take to exit after it was asked to (its sidecars
# get 15 s each to drain before they are killed).
AGENT_EXIT_WAIT = 60.0


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run the agent in the foreground (headless)")
    p.add_argument("--no-start", action="store_true", help="do not start the sidecar")
    p.add_argument("--quiet", action="store_true", help="no console banner")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("start", help="start the sidecar (and a background agent if none runs)")
    p.add_argument("--no-wait", action="store_true", help="return before the proxy is ready")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_start)

    p = sub.add_parser("stop", help="stop the sidecar")
    p.add_argument("--agent", action="store_true", help="also quit the agent")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_stop)

    p = sub.add_parser("restart", help="restart the sidecar (no downtime on Linux)")
    p.add_argument(
        "--agent",
        action="store_true",
        help="restart the whole agent (tray included) into the installed version, no downtime",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_restart)

    p = sub.add_parser("status", help="show agent, sidecar, config and token state")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("key", help="print the proxy's API key for clients (stdout)")
    p.set_defaults(func=cmd_key)

    p = sub.add_parser("paths", help="print where the product keeps its files")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_paths)


def cmd_run(args: argparse.Namespace, ctx: CliContext) -> int:
    from tray_agent.runtime import Runtime
    from tray_agent.update.takeover import TakeoverError

    try:
        rt = Runtime(ctx.paths, console_log=not args.quiet, takeover=handed_over())
    except (AlreadyRunning, TakeoverError) as exc:
        raise UserError(str(exc)) from exc
    from tray_agent.extensions import install_extensions

    install_extensions(rt)
    start_or_take_over(rt, autostart=not args.no_start)
    if not args.quiet:
        ctx.print(f"litellm-bridge agent running (pid {os.getpid()})")
        ctx.print(f"config: {ctx.paths.config_dir}")
        ctx.print(f"logs: {ctx.paths.log_dir}")
        if not args.no_start:
            _print_when_ready(rt, ctx)
        ctx.print("press Ctrl+C to stop")
    rt.serve()
    return 0


def handed_over() -> Any:
    """The running agent this process was started to take over from (None: a plain start)."""
    from tray_agent.update.takeover import TAKEOVER_ENV, Takeover, TakeoverError

    try:
        return Takeover.from_env()
    except TakeoverError as exc:
        raise UserError(str(exc)) from exc
    finally:  # not for our children (sidecars, tools): the descriptors are ours alone
        os.environ.pop(TAKEOVER_ENV, None)


def start_or_take_over(rt: Any, autostart: bool) -> None:
    """``rt.start``; a take-over that fails leaves the running agent serving and ends here."""
    from tray_agent.update.takeover import TakeoverError

    try:
        rt.start(autostart=autostart)
    except TakeoverError as exc:
        rt.close()
        raise UserError(
            f"this agent could not take over: {exc}; the running agent keeps serving",
            hint="see `litellm-bridge logs` (agent.log)",
        ) from exc


def _print_when_ready(rt: ExtensionHost, ctx: CliContext) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        sc = rt.agent.snapshot()["sidecar"]
        if sc["state"] == "running":
            ctx.print(f"proxy ready at {sc['url']}  (api key: `litellm-bridge key`)")
            ctx.print(
                f'try: curl -s {sc["url"]}/v1/chat/completions -H "Authorization: Bearer '
                "$(litellm-bridge key)\" -H 'Content-Type: application/json' "
                '-d \'{"model": "demo", "messages": [{"role": "user", '
                '"content": "hi"}]}\''
            )
            return
        if sc["state"] == "error":
            ctx.warn(f"error: {sc['error']}")
            return
        time.sleep(0.2)


def _spawn_background_agent(ctx: CliContext) -> ControlClient:
    ctx.paths.ensure()
    from tray_agent.logs.setup import open_log

    # What the agent prints before its own log is set up; kept for the last start only.
    out = open_log(ctx.paths.log_dir / "agent-console.log")
    out.truncate(0)
    cmd = [sys.executable, "-m", "tray_agent", "run", "--quiet", "--no-start"]
    if getattr(sys, "frozen", False):
        cmd = [sys.executable, "run", "--quiet", "--no-start"]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, **proctree.popen_kwargs()
    )
    out.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        client = ctx.agent()
        if client is not None:
            return client
        if proc.poll() is not None:
            tail = (ctx.paths.log_dir / "agent-console.log").read_text(errors="replace")[-600:]
            raise UserError(f"the agent exited at start (code {proc.returncode}):\n{tail}")
        time.sleep(0.1)
    raise UserError("the agent did not come up within 30 s; see `litellm-bridge logs`")


def cmd_start(args: argparse.Namespace, ctx: CliContext) -> int:
    client = ctx.agent() or _spawn_background_agent(ctx)
    as_json = getattr(args, "json", False)
    with client:
        if args.no_wait:
            client.call("ping")
            threading_start(client)
            if as_json:
                ctx.print_json({"state": "starting"}, indent=None)
            else:
                ctx.print("starting")
            return 0
        began = time.monotonic()
        sc = _start_showing_progress(client, ctx, quiet=as_json)
    took = round(time.monotonic() - began, 1)
    if as_json:
        ctx.print_json({**sc, "took_seconds": took}, indent=None)
    else:
        ctx.print(f"running at {sc['url']} (pid {sc['pid']}), ready in {took:.0f} s")
    return 0


def _start_showing_progress(client: ControlClient, ctx: CliContext, quiet: bool) -> Any:
    """``start`` (blocking); meanwhile a terminal sees "starting… 6 s of ~15 s" on one line.

    Progress is only drawn on a terminal: piped output gets the result line alone.
    """
    if quiet or not ctx.out.isatty():
        return client.call("start", timeout=310)
    import threading

    from tray_agent.core.startclock import progress_text

    done = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["sc"] = client.call("start", timeout=310)
        except BaseException as exc:  # re-raised on the command's thread below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="cli-start", daemon=True).start()
    watcher = ctx.agent()  # a second connection: the first one waits for the start's reply
    shown = False
    try:
        while not done.wait(0.5):
            text = None
            if watcher is not None:
                with contextlib.suppress(ControlError):
                    text = progress_text(watcher.call("status", timeout=5).get("start"))
            if text:
                ctx.out.write(f"\rstarting… {text}   ")
                ctx.out.flush()
                shown = True
    finally:
        if watcher is not None:
            watcher.close()
        if shown:
            ctx.out.write("\r\033[K")
            ctx.out.flush()
    if "error" in box:
        raise box["error"]
    return box["sc"]


def threading_start(client: ControlClient) -> None:
    """Fire a start without waiting for readiness (the reply is dropped)."""
    with contextlib.suppress(ControlError):
        client.call("start", timeout=0.5)


def cmd_stop(args: argparse.Namespace, ctx: CliContext) -> int:
    client = ctx.agent()
    as_json = getattr(args, "json", False)
    if client is None:
        if as_json:
            ctx.print_json({"sidecar": "stopped", "agent": None}, indent=None)
        else:
            ctx.print("no agent is running; nothing to stop")
        return 0
    with client:
        client.call("stop", timeout=130)
        if args.agent:
            pid = client.call("ping")["pid"]
            client.call("shutdown")
    if args.agent:
        _wait_agent_gone(ctx, int(pid))
    if as_json:
        ctx.print_json(
            {"sidecar": "stopped", "agent": "stopped" if args.agent else "running"}, indent=None
        )
    else:
        ctx.print("stopped the sidecar and the agent" if args.agent else "stopped")
    return 0


def _wait_agent_gone(ctx: CliContext, pid: int, wait: float = AGENT_EXIT_WAIT) -> None:
    """Return once the agent process has exited and its instance lock is free."""
    deadline = time.monotonic() + wait
    while proctree.is_alive(pid) or InstanceLock.holder(ctx.paths.lock_file) is not None:
        if time.monotonic() >= deadline:
            raise UserError(
                f"the agent (pid {pid}) was asked to quit but is still running after {wait:.0f} s",
                hint=f"see `litellm-bridge logs`; to end it now: kill {pid}",
            )
        time.sleep(0.1)


def cmd_restart(args: argparse.Namespace, ctx: CliContext) -> int:
    as_json = getattr(args, "json", False)
    if getattr(args, "agent", False):
        return _restart_agent(ctx, as_json)
    client = ctx.agent()
    if client is None:
        return cmd_start(argparse.Namespace(no_wait=False, json=as_json), ctx)
    with client:
        sc = client.call("restart", timeout=310)
    if as_json:
        ctx.print_json(sc, indent=None)
    else:
        ctx.print(f"running at {sc['url']} (pid {sc['pid']})")
    return 0


def _restart_agent(ctx: CliContext, as_json: bool) -> int:
    from tray_agent.update.boot import MAX_FAILURES, health_timeout
    from tray_agent.update.takeover import switch

    client = ctx.agent()
    if client is None:
        raise UserError("no agent is running", hint="start one: `litellm-bridge start`")
    client.close()
    try:
        done = switch(ctx.paths, timeout=health_timeout() * MAX_FAILURES + 30)
    except ControlError as exc:
        raise UserError(str(exc), hint="see `litellm-bridge logs`") from exc
    if as_json:
        doc = {"ok": done.ok, "old_pid": done.old_pid, "pid": done.new_pid}
        ctx.print_json({**doc, "version": done.version}, indent=None)
    elif done.ok:
        ctx.print(f"agent restarted: {done.version} now serves (pid {done.new_pid}), no downtime")
    else:
        ctx.print(f"the new agent did not take over; the agent (pid {done.old_pid}) still serves")
    if not done.ok:
        ctx.err.write(f"see {ctx.paths.log_dir / 'successor.log'} and `litellm-bridge logs`\n")
    return 0 if done.ok else 1


def cmd_status(args: argparse.Namespace, ctx: CliContext) -> int:
    client = ctx.agent()
    if client is None:
        port = configured_port(ctx)
        others = foreign_listeners(port)
        if args.json:
            ctx.print_json(
                {
                    "agent": None,
                    "error": "no agent is running",
                    "port": {"port": port, "foreign_listeners": [_listener(li) for li in others]},
                },
                indent=None,
            )
        else:
            ctx.print("no agent is running (start one with `litellm-bridge start`)")
            if others:
                ctx.print(squatter_warning(port, others))
        return EXIT_NO_AGENT
    with client:
        snap = client.call("status")
    if args.json:
        ctx.print_json(snap)
        return 0
    ctx.print(format_status(snap))
    return 0 if snap["sidecar"]["state"] != "error" else 1


def _ts(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def format_status(snap: dict[str, Any]) -> str:
    from tray_agent.core.startclock import progress_text

    sc, cfg, tok = snap["sidecar"], snap["config"], snap["token"]
    state = sc["state"]
    progress = progress_text(snap.get("start")) if state in ("starting", "restarting") else None
    if progress:
        state += f" ({progress})"
    lines = [
        f"agent    running (pid {snap['agent']['pid']})",
        f"sidecar  {state}  {sc['url']}  pid {sc['pid'] or '-'}  restarts {sc['restarts']}",
    ]
    if sc.get("error"):
        lines.append(f"         error: {sc['error']}")
    valid = {True: "valid", False: "INVALID", None: "not loaded"}[cfg["valid"]]
    if cfg["valid"] and cfg.get("apply_error"):
        # Valid, but its sidecar did not start: the previous config is still the one serving.
        valid = "valid, not applied"
    lines.append(f"config   {valid}  {cfg['path']}")
    for e in cfg.get("errors", [])[:5]:
        loc = ":".join(str(x) for x in (e["file"], e.get("line"), e.get("column")) if x)
        lines.append(f"         {loc}: {e['message']}")
    if cfg.get("apply_error"):
        lines.append(f"         {cfg['apply_error']}")
    for w in cfg.get("warnings", [])[:5]:
        loc = ":".join(str(x) for x in (w["file"], w.get("line"), w.get("column")) if x)
        hint = f" ({w['hint']})" if w.get("hint") else ""
        lines.append(f"         warning: {loc}: {w['message']}{hint}")
    exp = tok.get("expires_at")
    lines.append(f"token    {tok.get('state')}" + (f"  expires {_ts(exp)}" if exp else ""))
    if tok.get("last_error"):
        lines.append(f"         {tok['last_error']}")
    req = snap.get("requests") or {}
    if sc["state"] == "running" and req.get("last_minute") is not None:
        fl = req.get("in_flight") or {}
        flight = f", {fl['requests']} in flight" if fl.get("requests") is not None else ""
        lines.append(f"requests {req['last_minute']} in the last minute{flight}")
    from tray_agent.tray.view import quota_left

    quota = quota_left(snap.get("policy"))
    if quota:
        lines.append(f"quota    {quota}")
    kr = snap.get("keyring", {})
    if kr and not kr.get("persistent"):
        lines.append("keyring  none: secrets are kept in memory for this run only")
    for e in snap.get("errors", [])[:3]:
        lines.append(f"recent   {e.get('kind')} x{e.get('count')}: {e.get('hint')}")
    return "\n".join(lines)


def configured_port(ctx: CliContext) -> int:
    """bridge.port of config.yaml (the default when it cannot be read)."""
    from tray_agent.config.schema import DEFAULT_PORT

    try:
        from tray_agent.config.render import render_effective

        return int(render_effective(ctx.paths.config_file).port)
    except Exception:  # an unreadable config has no port of its own: the default applies
        return DEFAULT_PORT


def _listener(li: Listener) -> dict[str, Any]:
    return {"pid": li.pid, "user": li.user, "command": li.command, "foreign_user": li.foreign}


def squatter_warning(port: int, others: list[Listener]) -> str:
    who = "; ".join(str(li) for li in others)
    return (
        f"warning: 127.0.0.1:{port}, the bridge's port, is held by {who}, not by the bridge: "
        "clients that send the proxy key there hand it to that program. Stop it, or choose "
        "another port (bridge.port in config.yaml) and set the clients up again"
    )


def _refuse_if_port_taken(ctx: CliContext, port: int, agent_pid: int | None) -> None:
    others = foreign_listeners(port, agent_pid)
    if others:
        who = "; ".join(str(li) for li in others)
        raise UserError(
            f"not printing the proxy key: 127.0.0.1:{port} is held by {who}, not by the "
            "bridge, so a client would hand the key to that program",
            hint="stop that program (or choose another port: bridge.port in config.yaml), "
            "then run `litellm-bridge start`",
        )


def cmd_key(args: argparse.Namespace, ctx: CliContext) -> int:
    client = ctx.agent()
    if client is not None:
        with client:
            snap = client.call("status")
            # The key goes where this port leads: refuse while another program holds it.
            _refuse_if_port_taken(ctx, int(snap["sidecar"]["port"]), int(snap["agent"]["pid"]))
            ctx.print(client.call("key")["key"])
        return 0
    _refuse_if_port_taken(ctx, configured_port(ctx), None)
    key = ctx.secrets.get("master-key")
    if not key:
        raise UserError(
            "no proxy key yet: it is created on the first start",
            hint="run `litellm-bridge start`",
        )
    ctx.print(key)
    return 0


def cmd_paths(args: argparse.Namespace, ctx: CliContext) -> int:
    d = ctx.paths.as_dict()
    if args.json:
        ctx.print_json(d)
    else:
        width = max(len(k) for k in d)
        for k, v in d.items():
            ctx.print(f"{k:<{width}}  {v}")
    return 0
