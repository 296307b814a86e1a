"""Start at login, opt-in: an XDG autostart entry on Linux, the per-user Run key on Windows,
a LaunchAgent on macOS. One facade, one private module per platform."""

from __future__ import annotations

import os
import sys
from functools import cache
from types import ModuleType

from tray_agent.paths import HOME_ENV

ENTRY_NAME = "litellm-bridge"
TITLE = "LiteLLM Bridge"


@cache
def backend() -> ModuleType:
    name = os.environ.get("LITELLM_BRIDGE_AUTOSTART")
    if name is None:
        name = {"win32": "win32", "darwin": "darwin"}.get(sys.platform, "xdg")
    mod: ModuleType
    if name == "win32":
        from tray_agent.tray import _autostart_win32

        mod = _autostart_win32
    elif name == "darwin":
        from tray_agent.tray import _autostart_darwin

        mod = _autostart_darwin
    elif name == "xdg":
        from tray_agent.tray import _autostart_xdg

        mod = _autostart_xdg
    else:
        raise ImportError(f"unknown autostart backend {name!r} (use xdg, win32 or darwin)")
    return mod


def tray_command() -> list[str]:
    """How to start the tray again at login (this installation, this home)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "tray"]
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
