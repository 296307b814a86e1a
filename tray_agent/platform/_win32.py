"""Windows: process groups and ``taskkill``, ``msvcrt`` locks, Explorer and the shell's
"edit" verb, the per-user Run key, and the sidecar hand-off through inheritable handles.

Nothing here runs on the machines the tests run on: mypy (``--platform win32``) checks it,
and ``_command_line`` is tested on any OS. docs/ARCHITECTURE.md, "Per-OS layer", says which
parts are verified only by types.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from tray_agent.platform._base import SpawnOptions
from tray_agent.platform.launch import spawn_detached
from tray_agent.wire import EVENTS_FD_ENV, LISTEN_SHARED_ENV, listen_socket_message

TITLE = "LiteLLM Bridge"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


def _command_line(command: list[str], env: dict[str, str]) -> str:
    """The Run key's value: one command line; a relocated home goes through ``set``."""
    line = subprocess.list2cmdline(command)
    if env:
        # The Run key cannot set variables: go through cmd's "set" for a relocated home.
        sets = " && ".join(f'set "{k}={v}"' for k, v in env.items())
        line = f'cmd.exe /c "{sets} && start "" {line}"'
    return line


if sys.platform == "win32":
    import msvcrt
    import winreg

    class Desktop:
        def open_folder(self, path: Path) -> None:
            os.startfile(str(path))  # noqa: S606 - the shell association is the point

        def edit_file(self, path: Path, environ: Mapping[str, str]) -> str:
            for verb in ("edit", "open"):
                try:
                    os.startfile(str(path), verb)  # noqa: S606
                    return f"opened with the '{verb}' file association"
                except OSError:
                    continue
            flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
            spawn_detached(["notepad.exe", str(path)], creationflags=flags)
            return "opened in Notepad"

        def notify(self, title: str, message: str, icon: Path | None) -> bool:
            return False  # the facade falls back to plyer

    class Autostart:
        def is_enabled(self) -> bool:
            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                    winreg.QueryValueEx(key, TITLE)
            except FileNotFoundError:
                return False
            return True

        def enable(self, command: list[str], env: dict[str, str]) -> None:
            with winreg.CreateKeyEx(
                winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE
            ) as key:
                winreg.SetValueEx(key, TITLE, 0, winreg.REG_SZ, _command_line(command, env))

        def disable(self) -> None:
            try:
                with winreg.OpenKey(
                    winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE
                ) as key:
                    winreg.DeleteValue(key, TITLE)
            except FileNotFoundError:
                pass

    class Processes:
        def popen_kwargs(self) -> dict[str, Any]:
            return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}

        def signal_tree(self, pid: int, children: list[int], hard: bool) -> None:
            # taskkill /T walks the tree itself (a Job Object would tie it to the agent too).
            args = ["taskkill", "/PID", str(pid), "/T"] + (["/F"] if hard else [])
            subprocess.run(args, capture_output=True, check=False)

        def kill_pids(self, pids: list[int]) -> None:
            return None  # taskkill /T /F already walked the tree

        def set_address_limit(self, pid: int, soft: int | None) -> bool:
            return False

    class Locks:
        def try_lock(self, fh: IO[str]) -> None:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)

        def unlock(self, fh: IO[str]) -> None:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)

    class Handoff:
        """The events pipe as an inheritable handle named in ``handle_list`` (nothing else is
        inherited); the socket through ``socket.share(pid)``, which needs the child's pid and
        so goes over its stdin right after the spawn (``LISTEN_SHARED_ENV`` says to wait)."""

        def spawn_options(self, events_fd: int, listener: socket.socket | None) -> SpawnOptions:
            handle = msvcrt.get_osfhandle(events_fd)
            os.set_handle_inheritable(handle, True)
            info = subprocess.STARTUPINFO(lpAttributeList={"handle_list": [handle]})
            env = {EVENTS_FD_ENV: str(handle)}
            if listener is not None:
                env[LISTEN_SHARED_ENV] = "1"
            return SpawnOptions(env=env, popen={"startupinfo": info})

        def after_spawn(
            self, proc: subprocess.Popen[bytes], listener: socket.socket | None
        ) -> list[dict[str, Any]]:
            if listener is None:
                return []
            return [listen_socket_message(listener.share(proc.pid))]

    class Files:
        posix_permissions = False

        def user_id(self) -> int:
            return -1

        def set_mode(self, fd: int, mode: int) -> None:
            return None  # ACLs of the user's profile folders keep files private

        def fsync_dir(self, path: Path) -> None:
            return None  # NTFS has no directory fsync; os.replace is durable enough there

        def peer_uid(self, conn: Any) -> int | None:
            return None  # the named pipe is per user

        def reuse_address(self, sock: socket.socket) -> None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)

    DESKTOP = Desktop()
    AUTOSTART = Autostart()
    PROCESSES = Processes()
    LOCKS = Locks()
    HANDOFF = Handoff()
    FILES = Files()
