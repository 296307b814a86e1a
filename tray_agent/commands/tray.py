"""``tray``: the agent with a tray icon (the default command when a display is available)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from typing import Any

from tray_agent.commands.context import CliContext, UserError
from tray_agent.platform import IS_WINDOWS


def register(sub: Any) -> None:
    p = sub.add_parser("tray", help="run the agent with a tray icon (default with a display)")
    p.add_argument("--no-start", action="store_true", help="do not start the proxy at once")
    p.add_argument("--no-wizard", action="store_true", help="do not open the first-run wizard")
    p.set_defaults(func=cmd_tray)


def _quit_on_signals(quit_fn: Any) -> None:
    """SIGTERM/SIGINT quit the tray (and so stop the sidecar). The GTK loop wakes up for
    Python signal handlers on its own; quitting runs in a thread so the handler returns."""

    def handler(_signum: int, _frame: Any) -> None:
        threading.Thread(target=quit_fn, name="tray-signal-quit", daemon=True).start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def _managed_config_in_place(ctx: CliContext) -> None:
    """With ``lock.config``, config.yaml is the admin's managed copy before anything reads it:
    the first-run wizard then keeps it, and the proxy starts on it."""
    from tray_agent.config.issues import ConfigInvalid
    from tray_agent.policy.managed import enforce

    with contextlib.suppress(ConfigInvalid, OSError):  # the agent reports it in status
        enforce(ctx.paths)


def cmd_tray(args: argparse.Namespace, ctx: CliContext) -> int:
    from tray_agent.commands.agent import handed_over, start_or_take_over
    from tray_agent.extensions import install_extensions
    from tray_agent.runtime import Runtime
    from tray_agent.single_instance import AlreadyRunning
    from tray_agent.testhooks import tray_click_allowed
    from tray_agent.tray.app import TrayApp
    from tray_agent.tray.port import RuntimePort
    from tray_agent.update.takeover import TakeoverError

    try:
        rt = Runtime(ctx.paths, console_log=False, takeover=handed_over())
    except (AlreadyRunning, TakeoverError) as exc:
        raise UserError(
            str(exc), hint="quit the running agent first: `litellm-bridge stop --agent`"
        ) from exc
    install_extensions(rt)
    _managed_config_in_place(ctx)
    app = TrayApp(RuntimePort(rt), ctx.paths)
    rt.handlers["tray.describe"] = lambda params: app.describe()
    if tray_click_allowed():  # a test hook: any same-user client could press Quit with it
        rt.handlers["tray.click"] = lambda params: app.click(str(params["id"]))
    first_run = not args.no_wizard and app.needs_first_run()
    start_or_take_over(rt, autostart=not args.no_start and ctx.paths.config_file.exists())

    # The control channel's "shutdown" (and `stop --agent`) quits the tray too.
    def quit_when_stopped() -> None:
        rt.stopped.wait()
        app.quit()

    threading.Thread(target=quit_when_stopped, name="tray-stop", daemon=True).start()
    if not IS_WINDOWS:
        _quit_on_signals(app.quit)

    def setup() -> None:
        if first_run:
            app.activate_first_run()

    try:
        app.run(setup=setup)
    finally:
        rt.close()
    return 0
