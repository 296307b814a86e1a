"""Desktop integration that differs per OS: open a folder, edit a file, notify without a tray.

One facade, one private module per platform (``_desktop_xdg``, ``_desktop_win32``,
``_desktop_darwin``), chosen at first use; ``LITELLM_BRIDGE_DESKTOP`` forces one.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path
from types import ModuleType


@cache
def backend() -> ModuleType:
    name = os.environ.get("LITELLM_BRIDGE_DESKTOP")
    if name is None:
        name = {"win32": "win32", "darwin": "darwin"}.get(sys.platform, "xdg")
    mod: ModuleType
    if name == "win32":
        from tray_agent.tray import _desktop_win32

        mod = _desktop_win32
    elif name == "darwin":
        from tray_agent.tray import _desktop_darwin

        mod = _desktop_darwin
    elif name == "xdg":
        from tray_agent.tray import _desktop_xdg

        mod = _desktop_xdg
    else:
        raise ImportError(f"unknown desktop backend {name!r} (use xdg, win32 or darwin)")
    return mod


def open_folder(path: Path) -> None:
    """Show ``path`` in the file manager (returns at once)."""
    backend().open_folder(Path(path))


def edit_file(path: Path) -> None:
    """Open ``path`` in the user's default editor, detached (returns at once)."""
    backend().edit_file(Path(path))


def notify(title: str, message: str, icon: Path | None = None) -> bool:
    """A desktop notification without the tray backend's help; False when none could be shown."""
    try:
        return bool(backend().notify(title, message, icon))
    except Exception:
        return _plyer_notify(title, message, icon)


def _plyer_notify(title: str, message: str, icon: Path | None) -> bool:
    try:
        from plyer import notification  # type: ignore[import-untyped]

        notification.notify(
            title=title, message=message, app_name="LiteLLM Bridge", app_icon=str(icon or "")
        )
    except Exception:
        return False
    return True
