"""The per-OS layer: the one place in ``tray_agent`` that looks at ``sys.platform``.

Like pystray's ``_base``/``_xorg``/``_win32``: ``_base`` holds a ``typing.Protocol`` per
facade, one private module per platform implements them, and this module picks the backend
once. Processes, locks, files and the sidecar hand-off come from ``_posix`` or ``_win32``;
the desktop (``desktop``) and start at login (``autostart``) from ``_xdg``, ``_darwin`` or
``_win32``, which ``LITELLM_BRIDGE_DESKTOP`` / ``LITELLM_BRIDGE_AUTOSTART`` can force.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import Final, Literal

from tray_agent.platform._base import (
    AutostartBackend,
    DesktopBackend,
    FileSecurity,
    LockBackend,
    OpenerMissing,
    ProcessBackend,
    SidecarHandoff,
    SpawnOptions,
)

System = Literal["xdg", "win32", "darwin"]

SYSTEM: Final[System] = (
    "win32" if sys.platform == "win32" else "darwin" if sys.platform == "darwin" else "xdg"
)
IS_WINDOWS: Final = SYSTEM == "win32"
IS_MACOS: Final = SYSTEM == "darwin"
IS_LINUX: Final = sys.platform.startswith("linux")

if sys.platform == "win32":
    from tray_agent.platform import _win32 as _system
else:
    from tray_agent.platform import _posix as _system

processes: Final[ProcessBackend] = _system.PROCESSES
locks: Final[LockBackend] = _system.LOCKS
handoff: Final[SidecarHandoff] = _system.HANDOFF
files: Final[FileSecurity] = _system.FILES
# Owner and mode bits mean something (False on Windows, where ACLs keep the profile private).
POSIX_PERMISSIONS: Final = files.posix_permissions


def desktop_module(env_name: str) -> ModuleType:
    """The desktop-level backend module (``_xdg``, ``_darwin``, ``_win32``): this system's,
    or the one ``env_name`` (a test hook) names."""
    name = os.environ.get(env_name) or SYSTEM
    if name not in ("xdg", "win32", "darwin"):
        raise ImportError(f"unknown {env_name} backend {name!r} (use xdg, win32 or darwin)")
    if name == "win32" and sys.platform != "win32":
        raise ImportError(f"the win32 backend ({env_name}) exists only on Windows")
    return importlib.import_module(f"tray_agent.platform._{name}")


__all__ = [
    "IS_LINUX",
    "IS_MACOS",
    "IS_WINDOWS",
    "POSIX_PERMISSIONS",
    "SYSTEM",
    "AutostartBackend",
    "DesktopBackend",
    "FileSecurity",
    "LockBackend",
    "OpenerMissing",
    "ProcessBackend",
    "SidecarHandoff",
    "SpawnOptions",
    "desktop_module",
    "files",
    "handoff",
    "locks",
    "processes",
]
