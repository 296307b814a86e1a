"""Start at login, opt-in: an XDG autostart entry on Linux, the per-user Run key on Windows,
a LaunchAgent on macOS (the backends are in ``_xdg``, ``_win32``, ``_darwin``)."""

from __future__ import annotations

import os
import sys
from functools import cache

from tray_agent.paths import HOME_ENV
from tray_agent.platform import desktop_module
from tray_agent.platform._base import AutostartBackend


@cache
def autostart_backend() -> AutostartBackend:
    """Start at login; ``LITELLM_BRIDGE_AUTOSTART`` forces one (test hook)."""
    chosen: AutostartBackend = desktop_module("LITELLM_BRIDGE_AUTOSTART").AUTOSTART
    return chosen


backend = autostart_backend


def tray_command() -> list[str]:
    """How to start the tray again at login (this installation, this home)."""
    if getattr(sys, "frozen", False):
        from tray_agent.update.boot import stable_executable

        return [stable_executable(), "tray"]
    return [sys.executable, "-m", "tray_agent", "tray"]


def tray_environment() -> dict[str, str]:
    """Variables the login entry must set: a relocated home stays relocated."""
    home = os.environ.get(HOME_ENV)
    return {HOME_ENV: home} if home else {}


def is_enabled() -> bool:
    return bool(backend().is_enabled())


def enable() -> None:
    backend().enable(tray_command(), tray_environment())


def disable() -> None:
    backend().disable()


def set_enabled(on: bool) -> None:
    enable() if on else disable()
