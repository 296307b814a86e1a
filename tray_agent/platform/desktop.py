"""Desktop actions for the tray and ``litellm-bridge config edit``: open a folder, open a
file in the default editor (detached, reaped), notify without the tray's help."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from tray_agent.platform import OpenerMissing, desktop_module
from tray_agent.platform._base import DesktopBackend

__all__ = ["OpenerMissing", "backend", "edit_file", "notify", "open_folder"]


@cache
def desktop_backend() -> DesktopBackend:
    """Open folders and files, notify; ``LITELLM_BRIDGE_DESKTOP`` forces one (test hook)."""
    chosen: DesktopBackend = desktop_module("LITELLM_BRIDGE_DESKTOP").DESKTOP
    return chosen


backend = desktop_backend


def open_folder(path: Path) -> None:
    """Show ``path`` in the file manager (returns at once)."""
    backend().open_folder(Path(path))


def edit_file(path: Path, environ: Mapping[str, str] | None = None) -> str:
    """Open ``path`` in the user's default editor, detached (returns at once); say how.

    Raises OpenerMissing when nothing can open it, OSError when the opener failed to start.
    """
    return backend().edit_file(Path(path), dict(os.environ if environ is None else environ))


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
