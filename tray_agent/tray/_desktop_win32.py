"""Windows: Explorer, the "edit" verb (Notepad when none is registered), plyer toasts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def open_folder(path: Path) -> None:
    if sys.platform == "win32":
        os.startfile(str(path))  # noqa: S606


def edit_file(path: Path) -> None:
    if sys.platform != "win32":
        return
    try:
        os.startfile(str(path), "edit")  # noqa: S606
    except OSError:
        subprocess.Popen(["notepad.exe", str(path)], creationflags=subprocess.DETACHED_PROCESS)


def notify(title: str, message: str, icon: Path | None) -> bool:
    return False  # the facade falls back to plyer
