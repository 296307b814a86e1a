"""macOS: a LaunchAgent plist in ~/Library/LaunchAgents."""

from __future__ import annotations

import plistlib
from pathlib import Path

from tray_agent.fsutil import atomic_write

LABEL = "com.litellm-bridge.tray"


def plist_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{LABEL}.plist"


def is_enabled() -> bool:
    return plist_path().is_file()


def enable(command: list[str], env: dict[str, str]) -> None:
    data = {"Label": LABEL, "ProgramArguments": command, "RunAtLoad": True}
    if env:
        data["EnvironmentVariables"] = env
    atomic_write(plist_path(), plistlib.dumps(data), mode=0o644)


def disable() -> None:
    plist_path().unlink(missing_ok=True)
