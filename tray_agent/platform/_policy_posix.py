"""POSIX machine policy: ``/etc/litellm-bridge``, owned by root, writable by root only."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

# Never imported on Windows; the assert tells mypy (``--platform win32``) to skip the rest.
assert sys.platform != "win32"

MACHINE_DIR = Path("/etc/litellm-bridge")


def _owner_and_mode(info: os.stat_result) -> str | None:
    if info.st_uid != 0:
        return f"is owned by uid {info.st_uid}, not root"
    if info.st_mode & 0o022:
        return f"is group- or world-writable (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


class PosixMachinePolicy:
    def machine_dir(self) -> Path:
        return MACHINE_DIR

    def registry_name(self) -> str | None:
        return None

    def registry_values(self) -> tuple[str | None, str | None]:
        return None, None

    def non_admin_writable(self, path: Path) -> str | None:
        return _owner_and_mode(os.lstat(path))

    def parent_unsafe(self, path: Path) -> str | None:
        info = os.stat(path)
        if info.st_uid != 0:
            return f"is owned by uid {info.st_uid}, not root"
        # A sticky, root-owned directory (/tmp) lets a user add entries but not rename or
        # remove another owner's: the root-owned entry below it stays put, and is checked.
        if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
            return f"is group- or world-writable (mode {stat.S_IMODE(info.st_mode):04o})"
        return None


BACKEND = PosixMachinePolicy()
