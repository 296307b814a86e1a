"""macOS: ``open`` for folders, ``open -t`` for the default text editor, osascript notices."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def open_folder(path: Path) -> None:
    subprocess.Popen(["open", str(path)])


def edit_file(path: Path) -> None:
    subprocess.Popen(["open", "-t", str(path)])


def notify(title: str, message: str, icon: Path | None) -> bool:
    script = f"display notification {json.dumps(message)} with title {json.dumps(title)}"
    return subprocess.run(["osascript", "-e", script], capture_output=True).returncode == 0
