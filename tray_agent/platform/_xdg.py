"""Linux and other freedesktop systems: ``$VISUAL``/``$EDITOR`` or ``xdg-open``,
``notify-send``, and the XDG autostart entry.

Editor choice: ``$VISUAL``/``$EDITOR`` when it is a graphical editor (a terminal editor is
started inside a terminal emulator when there is a display and one exists), else
``xdg-open``. Every child goes through ``launch.spawn_detached``: detached and reaped.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tray_agent.fsutil import atomic_write
from tray_agent.platform._base import OpenerMissing
from tray_agent.platform.launch import spawn_detached

ENTRY_NAME = "litellm-bridge"
TITLE = "LiteLLM Bridge"

TERMINAL_EDITORS = frozenset(
    {
        "vi",
        "vim",
        "nvim",
        "nano",
        "pico",
        "emacs",
        "micro",
        "joe",
        "ne",
        "mg",
        "ed",
        "kak",
        "hx",
        "helix",
    }
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


def _terminal_wrapper() -> list[str] | None:
    for name, flag in TERMINALS:
        exe = shutil.which(name)
        if exe:
            return [exe, flag] if flag else [exe]
    return None


def editor_command(environ: Mapping[str, str]) -> list[str] | None:
    """The ``$VISUAL``/``$EDITOR`` command to run, wrapped in a terminal if it needs one."""
    for var in ("VISUAL", "EDITOR"):
        value = environ.get(var, "").strip()
        if not value:
            continue
        try:
            argv = shlex.split(value)
        except ValueError:
            continue
        if not argv or not shutil.which(argv[0], path=environ.get("PATH")):
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


class Desktop:
    def open_folder(self, path: Path) -> None:
        opener = shutil.which("xdg-open")
        if opener is None:
            raise OpenerMissing(f"xdg-open is not installed: open {path} yourself")
        spawn_detached([opener, str(path)])

    def edit_file(self, path: Path, environ: Mapping[str, str]) -> str:
        argv = editor_command(environ)
        if argv:
            spawn_detached([*argv, str(path)])
            return f"opened with {Path(argv[0]).name}"
        opener = shutil.which("xdg-open", path=environ.get("PATH"))
        if opener:
            spawn_detached([opener, str(path)])
            return "opened with xdg-open"
        raise OpenerMissing(f"no editor found: set $VISUAL or $EDITOR, or open {path} yourself")

    def notify(self, title: str, message: str, icon: Path | None) -> bool:
        if not shutil.which("notify-send"):
            return False
        cmd = ["notify-send", "--app-name=LiteLLM Bridge"]
        if icon:
            cmd.append(f"--icon={icon}")
        cmd += [title, message]
        return subprocess.run(cmd, capture_output=True, timeout=10).returncode == 0


def entry_path() -> Path:
    """``$XDG_CONFIG_HOME/autostart/litellm-bridge.desktop``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart" / f"{ENTRY_NAME}.desktop"


def _exec_line(command: list[str], env: dict[str, str]) -> str:
    # The Exec key has its own quoting rules: double quotes, with \ " ` $ escaped.
    def quote(arg: str) -> str:
        if arg and all(c.isalnum() or c in "-_./:=" for c in arg):
            return arg
        escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        return f'"{escaped}"'

    prefix = ["env", *(f"{k}={v}" for k, v in env.items())] if env else []
    return " ".join(quote(a).replace("%", "%%") for a in prefix + command)


class Autostart:
    def is_enabled(self) -> bool:
        path = entry_path()
        if not path.is_file():
            return False
        text = path.read_text(encoding="utf-8", errors="replace")
        return "Hidden=true" not in text and "X-GNOME-Autostart-enabled=false" not in text

    def enable(self, command: list[str], env: dict[str, str]) -> None:
        text = "\n".join(
            [
                "[Desktop Entry]",
                "Type=Application",
                f"Name={TITLE}",
                "Comment=Local LiteLLM proxy for the company's internal LLM API",
                f"Exec={_exec_line(command, env)}",
                "Terminal=false",
                "X-GNOME-Autostart-enabled=true",
                "",
            ]
        )
        atomic_write(entry_path(), text, mode=0o644)

    def disable(self) -> None:
        entry_path().unlink(missing_ok=True)


DESKTOP = Desktop()
AUTOSTART = Autostart()
