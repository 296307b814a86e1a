"""``litellm-bridge`` command line: discovers command groups in ``tray_agent.commands``."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
import warnings
from pathlib import Path

from tray_agent import __version__, commands
from tray_agent.commands.context import CliContext, UserError
from tray_agent.control.protocol import AgentNotRunning, ControlError
from tray_agent.formats import FormatError
from tray_agent.paths import UnsafeDirectory, get_paths
from tray_agent.platform import IS_WINDOWS
from tray_agent.policy.lock import EXIT_LOCKED, LockedError

# Top-level commands registered by ``commands/agent.py``; every other module registers the
# command of its own name. Importing only the module a command needs keeps the CLI fast
# (some modules pull in pydantic schemas or httpx); help lists them all.
AGENT_COMMANDS = {"run", "start", "stop", "restart", "status", "key", "paths"}
# Set to 1 for library warnings and the traceback of an unexpected error on stderr.
DEBUG_ENV = "LITELLM_BRIDGE_DEBUG"


def _module_names() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.iter_modules(commands.__path__)
        if info.name != "context" and not info.name.startswith("_")
    )


def _modules_for(argv: list[str]) -> list[str]:
    names = _module_names()
    first = next((a for a in argv if not a.startswith("-")), None)
    if first in AGENT_COMMANDS:
        return ["agent"]
    if first in names and first != "agent":
        return [first]
    return names


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="litellm-bridge",
        description="Run a local LiteLLM proxy for your company's internal LLM API.",
    )
    parser.add_argument("--version", action="version", version=f"litellm-bridge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = _module_names() if argv is None else _modules_for(argv)
    for name in wanted:
        module = importlib.import_module(f"{commands.__name__}.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def os_problem(exc: OSError) -> str:
    """An OS error no command handled: where (the file, else the data folder the command
    works in) and what to do, in the words a write failure gets everywhere else."""
    from tray_agent.fsutil import write_problem
    from tray_agent.paths import get_paths

    if exc.filename:
        target = Path(os.fsdecode(exc.filename))
    else:  # e.g. a write through a file object (an unpacked archive): no name attached
        try:
            target = get_paths().data_dir / "file"
        except Exception:
            target = Path.home() / "file"
    advice = write_problem(exc, target)
    if advice != (exc.strerror or str(exc)):
        return f"cannot write in {target.parent}: {advice}"
    return (
        f"cannot use {target if exc.filename else target.parent}: {exc.strerror or exc}. "
        "Check that the directory exists and is writable by you, or set LITELLM_BRIDGE_HOME "
        "to a writable one"
    )


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not _debug():
        # Libraries' deprecation and version notes mean nothing to someone running a
        # command; they stay visible with LITELLM_BRIDGE_DEBUG=1.
        warnings.simplefilter("ignore")
    # A frozen base package runs the current per-user version instead (docs/UPDATES.md).
    from tray_agent.update.boot import handoff

    handed = handoff(argv)
    if handed is not None:
        return handed
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        if args.command is None and _default_is_tray():
            args = build_parser(["tray"]).parse_args(["tray"])
        else:
            parser.print_help()
            return 2
    try:
        ctx = CliContext(paths=get_paths())
        return int(args.func(args, ctx) or 0)
    except UnsafeDirectory as exc:
        print(f"error: {exc.strerror}", file=sys.stderr)
        return 1
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.code
    except LockedError as exc:  # the organization's admin lock
        from tray_agent.audit.action import note

        note("lock.refused", what=exc.what, command=args.command)
        print(f"error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return EXIT_LOCKED
    except FormatError as exc:  # a file a newer version wrote (after a rollback)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except AgentNotRunning as exc:
        print(f"error: {exc}; start it with `litellm-bridge start`", file=sys.stderr)
        return 3
    except ControlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(
            "hint: the agent's log says more: `litellm-bridge logs`; to start it afresh: "
            "`litellm-bridge stop --agent && litellm-bridge start`",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:
        return 141  # stdout closed early (e.g. piped into head)
    except OSError as exc:
        print(f"error: {os_problem(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line and what to do, not a traceback
        if _debug():
            traceback.print_exc()
        else:
            print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
            print(
                f"hint: run it again with {DEBUG_ENV}=1 for the details, and attach "
                "`litellm-bridge diagnostics` when you report it",
                file=sys.stderr,
            )
        return 70  # EX_SOFTWARE


def _default_is_tray() -> bool:
    """With no command, open the tray when a display is available."""
    if IS_WINDOWS:
        return True
    if "tray" not in {i.name for i in pkgutil.iter_modules(commands.__path__)}:
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
