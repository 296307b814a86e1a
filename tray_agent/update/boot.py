"""Start the current version: hand the command to ``versions/V`` and watch a version on trial.

The installed package (``/opt/litellm-bridge``, the base) is what the launcher and the menu
entry start. Before anything else it looks at ``versions/state.json``: when a per-user version
is current, newer than the base, not marked bad and updates are not turned off, the command
runs there instead (``exec`` on POSIX). A version just switched to is on trial: the base
starts it as a child and waits until its control channel answers and its sidecar is ready
(60 s). A start that exits or stays unready counts as failed; after two the base marks the
version bad, points ``current`` back at the previous version and starts that one at once
(nothing to download), leaving a notice for the user. The base does this, not the new
version, so even a version that cannot start at all is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from tray_agent import __version__
from tray_agent.update.layout import Layout, State, UpdateStateError
from tray_agent.update.names import newer

CHILD_ENV = "LITELLM_BRIDGE_UPDATE_CHILD"
BASE_ENV = "LITELLM_BRIDGE_BASE_APP"
HEALTH_TIMEOUT = 60.0
HEALTH_TIMEOUT_ENV = "LITELLM_BRIDGE_UPDATE_HEALTH_TIMEOUT"
"""Seconds a version on trial has to get healthy (a slow machine's LiteLLM start may need more)."""
MAX_FAILURES = 2
# Commands that start an agent: only these run a version on trial (under watch).
AGENT_STARTS = {"run", "tray"}


def _command(argv: list[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def _policy_off() -> bool:
    """The organization turned per-user updates off: the base runs, whatever is installed.
    (A user's own ``mode: off`` only stops checks; ``update rollback`` leaves a version.)"""
    from tray_agent.paths import get_paths
    from tray_agent.policy.current import evaluate_for

    try:
        return evaluate_for(get_paths()).policy.update.mode == "off"
    except Exception:  # unreadable policy must not keep the app from starting
        return False


def selected(layout: Layout, state: State) -> str | None:
    """The per-user version to run, or None for this (the base) program."""
    version = state.current
    if version is None or version in state.bad:
        return None
    if not newer(version, __version__):
        return None  # an apt upgrade of the base past it wins (docs/UPDATES.md)
    if not layout.executable(version, _exe_name()).is_file():
        return None
    return version


def stable_executable() -> str:
    """The program to write where it outlives this version (the login entry, client key
    helpers): the installed package, which picks the current version at each start. A
    per-user version's own path would be pruned, or keep starting it after a rollback."""
    base = os.environ.get(BASE_ENV)
    if base and getattr(sys, "frozen", False):
        candidate = Path(base) / _exe_name()
        if candidate.is_file():
            return str(candidate)
    return sys.executable


def _exe_name() -> str:
    return Path(sys.executable).name


def _child_env() -> dict[str, str]:
    return {
        **os.environ,
        CHILD_ENV: "1",
        BASE_ENV: str(Path(sys.executable).resolve().parent),
    }


def handoff(argv: list[str]) -> int | None:
    """Run ``argv`` in the selected version; None to go on in this program."""
    if not getattr(sys, "frozen", False) or os.environ.get(CHILD_ENV):
        return None
    from tray_agent.paths import get_paths

    try:
        layout = Layout(get_paths().data_dir)
        state = layout.load()
    except (OSError, UpdateStateError) as exc:
        print(f"litellm-bridge: {exc}; starting the installed version", file=sys.stderr)
        return None
    version = selected(layout, state)
    if version is None or _policy_off():
        return None
    on_trial = state.trial is not None and state.trial.version == version
    if on_trial and _command(argv) not in AGENT_STARTS and _command(argv) is not None:
        return None  # plain commands stay on the base until the new version proved itself
    if on_trial:
        return _supervise(layout, version, argv)
    return _run(layout.executable(version, _exe_name()), argv)


def _run(exe: Path, argv: list[str]) -> int:
    if os.name == "posix":
        os.execve(exe, [str(exe), *argv], _child_env())  # noqa: S606 -- our own app
    return subprocess.call([str(exe), *argv], env=_child_env(), pass_fds=_handed_fds())


def _healthy(no_start: bool, pid: int) -> bool:
    from tray_agent.control.client import ControlClient
    from tray_agent.control.protocol import ControlError
    from tray_agent.paths import get_paths

    try:
        client = ControlClient.connect(get_paths(), wait=0)
        if client is None:
            return False
        with client:
            snap = client.call("status", timeout=5)
    except (ControlError, OSError, ValueError):
        return False
    if not isinstance(snap, dict) or snap.get("agent", {}).get("pid") != pid:
        return False  # still the agent this one takes over from (``update.takeover``)
    state = snap.get("sidecar", {}).get("state")
    return state == "running" or (no_start and state == "stopped")


def _forward(proc: subprocess.Popen[bytes]) -> None:
    def send(signum: int, _frame: FrameType | None) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, send)


def _handed_fds() -> tuple[int, ...]:
    """The listening socket a running agent hands the version it restarts into: it must
    reach the version through this launcher."""
    from tray_agent.update.takeover import Takeover, TakeoverError

    try:
        takeover = Takeover.from_env()
    except TakeoverError:
        return ()
    return () if takeover is None else takeover.fds()


def _starts_stopped(argv: list[str]) -> bool:
    """The version is healthy without a sidecar: asked not to start one, or restarted from
    an agent that served nothing (``update.takeover``)."""
    from tray_agent.update.takeover import Takeover, TakeoverError

    try:
        takeover = Takeover.from_env()
    except TakeoverError:
        takeover = None
    return "--no-start" in argv or (takeover is not None and takeover.fd < 0)


def _start_watched(exe: Path, argv: list[str]) -> tuple[subprocess.Popen[bytes], bool]:
    proc = subprocess.Popen([str(exe), *argv], env=_child_env(), pass_fds=_handed_fds())
    _forward(proc)
    deadline = time.monotonic() + health_timeout()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return proc, False
        if _healthy(_starts_stopped(argv), proc.pid):
            return proc, True
        time.sleep(0.3)
    return proc, False


def health_timeout() -> float:
    try:
        return max(5.0, float(os.environ.get(HEALTH_TIMEOUT_ENV, HEALTH_TIMEOUT)))
    except ValueError:
        return HEALTH_TIMEOUT


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _supervise(layout: Layout, version: str, argv: list[str]) -> int | None:
    exe = layout.executable(version, _exe_name())
    while True:
        proc, ok = _start_watched(exe, argv)
        if ok:
            for fd in _handed_fds():  # the version holds them now; we must not keep the port
                with contextlib.suppress(OSError):
                    os.close(fd)
            with layout.editing() as state:
                if state.trial and state.trial.version == version:
                    state.trial = None
            return proc.wait()
        code = proc.poll()
        _stop(proc)
        with layout.editing() as state:
            if state.trial is None or state.trial.version != version:
                return code if code is not None else 1
            state.trial.failures += 1
            if state.trial.failures < MAX_FAILURES:
                continue
            back = rollback(state, version, f"it failed to start {MAX_FAILURES} times")
        print(f"litellm-bridge: {state.notice}", file=sys.stderr)
        if back is None or not newer(back, __version__):
            return None  # the base itself runs the command
        return _run(layout.executable(back, _exe_name()), argv)


def rollback(state: State, version: str, why: str) -> str | None:
    """Mark ``version`` bad and make the previous one current (None: the base package)."""
    state.bad[version] = why
    state.trial = None
    back = next((v for v in state.previous if v not in state.bad), None)
    state.previous = [v for v in state.previous if v != back]
    state.current = back
    shown = back or f"{__version__} (the installed package)"
    state.notice = (
        f"update {version} was rolled back to {shown}: {why}; it will not be offered again"
    )
    from tray_agent.audit.action import note

    note("update.rolled_back", version=version, to=back or __version__, reason=why)
    return back
