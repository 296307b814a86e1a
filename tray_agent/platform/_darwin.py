"""macOS: ``open`` for folders, ``open -t`` for the default text editor, osascript notices,
and a LaunchAgent plist in ``~/Library/LaunchAgents`` for start at login."""

from __future__ import annotations

import json
import plistlib
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tray_agent.fsutil import atomic_write
from tray_agent.platform.launch import spawn_detached

LABEL = "com.litellm-bridge.tray"


class Desktop:
    def open_folder(self, path: Path) -> None:
        spawn_detached(["open", str(path)])

    def edit_file(self, path: Path, environ: Mapping[str, str]) -> str:
        spawn_detached(["open", "-t", str(path)])
        return "opened in the default text editor"

    def notify(self, title: str, message: str, icon: Path | None) -> bool:
        script = f"display notification {json.dumps(message)} with title {json.dumps(title)}"
        return subprocess.run(["osascript", "-e", script], capture_output=True).returncode == 0


def plist_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{LABEL}.plist"


class Autostart:
    def is_enabled(self) -> bool:
        return plist_path().is_file()

    def enable(self, command: list[str], env: dict[str, str]) -> None:
        data: dict[str, object] = {"Label": LABEL, "ProgramArguments": command, "RunAtLoad": True}
        if env:
            data["EnvironmentVariables"] = env
        atomic_write(plist_path(), plistlib.dumps(data), mode=0o644)

    def disable(self) -> None:
        plist_path().unlink(missing_ok=True)


DESKTOP = Desktop()
AUTOSTART = Autostart()
