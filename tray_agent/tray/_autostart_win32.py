"""Windows: a value under HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run."""

from __future__ import annotations

import subprocess
import sys

from tray_agent.tray.autostart import TITLE

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


def _command_line(command: list[str], env: dict[str, str]) -> str:
    line = subprocess.list2cmdline(command)
    if env:
        # The Run key cannot set variables: go through cmd's "set" for a relocated home.
        sets = " && ".join(f'set "{k}={v}"' for k, v in env.items())
        line = f'cmd.exe /c "{sets} && start "" {line}"'
    return line


if sys.platform == "win32":
    import winreg

    def is_enabled() -> bool:
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                winreg.QueryValueEx(key, TITLE)
        except FileNotFoundError:
            return False
        return True

    def enable(command: list[str], env: dict[str, str]) -> None:
        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
            winreg.SetValueEx(key, TITLE, 0, winreg.REG_SZ, _command_line(command, env))

    def disable() -> None:
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, TITLE)
        except FileNotFoundError:
            pass

else:

    def is_enabled() -> bool:
        return False

    def enable(command: list[str], env: dict[str, str]) -> None:
        raise OSError("the Windows Run key exists only on Windows")

    def disable() -> None:
        return None
