"""XDG autostart: ``$XDG_CONFIG_HOME/autostart/litellm-bridge.desktop``."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from tray_agent.fsutil import atomic_write
from tray_agent.tray.autostart import ENTRY_NAME, TITLE


def entry_path() -> Path:
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


def is_enabled() -> bool:
    path = entry_path()
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8", errors="replace")
    return "Hidden=true" not in text and "X-GNOME-Autostart-enabled=false" not in text


def enable(command: list[str], env: dict[str, str]) -> None:
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


def disable() -> None:
    entry_path().unlink(missing_ok=True)


def describe(command: list[str]) -> str:
    return shlex.join(command)
