"""Open a file in the user's editor without waiting for it: the caller may be the tray.

Windows: the shell's "edit" (else "open") association, else Notepad. macOS: ``open -t``.
Linux and other Unix: ``$VISUAL``/``$EDITOR`` when it is a graphical editor (a terminal
editor is started inside a terminal emulator when one exists), else ``xdg-open``. Every
child is started detached, in its own session, with no stdio tied to ours.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

TERMINAL_EDITORS = frozenset(
    {"vi", "vim", "nvim", "nano", "pico", "emacs", "micro", "joe", "ne", "mg", "ed", "kak", "hx"}
)
# Terminal emulators and the argument that precedes the command to run.
TERMINALS = (
    ("x-terminal-emulator", "-e"),
    ("gnome-terminal", "--"),
    ("konsole", "-e"),
    ("xfce4-terminal", "-x"),
    ("alacritty", "-e"),
    ("kitty", ""),
    ("xterm", "-e"),
)


class EditorError(Exception):
    """No way to open the file was found; the message names the file to open by hand."""


def _spawn(argv: list[str]) -> None:
    """Start ``argv`` detached; reap it in the background so no zombie is left behind."""
    kwargs: dict[str, object] = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "close_fds": True,
    }
    if sys.platform == "win32":
        flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
        kwargs["creationflags"] = flags
    else:
        kwargs["start_new_session"] = True
    proc = subprocess.Popen(argv, **kwargs)  # type: ignore[call-overload]
    threading.Thread(target=proc.wait, name="editor-reaper", daemon=True).start()


def _open_windows(path: Path) -> str:
    if sys.platform == "win32":
        for verb in ("edit", "open"):
            try:
                os.startfile(path, verb)  # noqa: S606 - the shell association is the point
                return f"opened with the '{verb}' file association"
            except OSError:
                continue
    _spawn(["notepad.exe", str(path)])
    return "opened in Notepad"


def _open_macos(path: Path) -> str:
    _spawn(["open", "-t", str(path)])
    return "opened in the default text editor"


def _terminal_wrapper() -> list[str] | None:
    for name, flag in TERMINALS:
        exe = shutil.which(name)
        if exe:
            return [exe, flag] if flag else [exe]
    return None


def _editor_command(environ: dict[str, str]) -> list[str] | None:
    """The ``$VISUAL``/``$EDITOR`` command to run, wrapped in a terminal if it needs one."""
    for var in ("VISUAL", "EDITOR"):
        value = environ.get(var, "").strip()
        if not value:
            continue
        try:
            argv = shlex.split(value)
        except ValueError:
            continue
        if not argv or not shutil.which(argv[0]):
            continue
        if Path(argv[0]).name not in TERMINAL_EDITORS:
            return argv
        terminal = (
            _terminal_wrapper()
            if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")
            else None
        )
        if terminal:
            return [*terminal, *argv]
    return None


def _open_unix(path: Path, environ: dict[str, str]) -> str:
    argv = _editor_command(environ)
    if argv:
        _spawn([*argv, str(path)])
        return f"opened with {Path(argv[0]).name}"
    opener = shutil.which("xdg-open")
    if opener:
        _spawn([opener, str(path)])
        return "opened with xdg-open"
    raise EditorError(f"no editor found: set $VISUAL or $EDITOR, or open {path} yourself")


def open_in_editor(path: Path | str, environ: dict[str, str] | None = None) -> str:
    """Open ``path`` in the default editor, detached; return how it was opened."""
    target = Path(path)
    if not target.exists():
        raise EditorError(f"{target} does not exist")
    env = dict(os.environ if environ is None else environ)
    try:
        if sys.platform == "win32":
            return _open_windows(target)
        if sys.platform == "darwin":
            return _open_macos(target)
        return _open_unix(target, env)
    except OSError as exc:
        raise EditorError(f"could not start an editor ({exc}); open {target} yourself") from exc
