"""Linux and other freedesktop systems: xdg-open, $VISUAL/$EDITOR, notify-send."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

TERMINAL_EDITORS = {"vi", "vim", "nvim", "nano", "emacs", "micro", "joe", "ne", "helix", "hx"}


def _detached(cmd: list[str]) -> None:
    # xdg-open can block until a terminal editor exits: never wait for it.
    subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def open_folder(path: Path) -> None:
    _detached(["xdg-open", str(path)])


def _terminal() -> list[str] | None:
    for term, flag in (
        ("x-terminal-emulator", "-e"),
        ("gnome-terminal", "--"),
        ("konsole", "-e"),
        ("xterm", "-e"),
    ):
        if shutil.which(term):
            return [term, flag]
    return None


def edit_file(path: Path) -> None:
    """The desktop's handler for the file type; $VISUAL/$EDITOR only when it is a GUI editor
    or a terminal is available to host it."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if editor:
        cmd = shlex.split(editor)
        if cmd and Path(cmd[0]).name not in TERMINAL_EDITORS:
            _detached([*cmd, str(path)])
            return
        term = _terminal()
        if cmd and term:
            _detached([*term, *cmd, str(path)])
            return
    _detached(["xdg-open", str(path)])


def notify(title: str, message: str, icon: Path | None) -> bool:
    if not shutil.which("notify-send"):
        return False
    cmd = ["notify-send", "--app-name=LiteLLM Bridge"]
    if icon:
        cmd.append(f"--icon={icon}")
    cmd += [title, message]
    return subprocess.run(cmd, capture_output=True, timeout=10).returncode == 0
