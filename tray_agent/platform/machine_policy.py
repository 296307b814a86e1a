"""Where the machine's organization policy lives and who may change it, per OS.

Linux and macOS: ``/etc/litellm-bridge`` and POSIX ownership (root) and mode bits, for the
file, its directory and every parent up to ``/``. Windows: ``%ProgramFiles%\\LiteLLM Bridge``,
the registry value ``HKLM\\SOFTWARE\\Policies\\LiteLLMBridge`` ``Policy``, and the file's
DACL (no write right for Everyone, Users, Authenticated Users or Interactive).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final, Protocol


class MachinePolicyBackend(Protocol):
    """Machine-scope policy locations and the "could a non-admin write this?" question."""

    def machine_dir(self) -> Path:
        """The admin-owned directory holding ``policy.json`` and ``policy.d/``."""
        ...

    def registry_name(self) -> str | None:
        """How the registry source is named in status (None where there is no registry)."""
        ...

    def registry_values(self) -> tuple[str | None, str | None]:
        """The registry's ``Policy`` JSON text and its ``PolicySignature`` (None when absent)."""
        ...

    def non_admin_writable(self, path: Path) -> str | None:
        """Why a non-admin user could change ``path`` itself (None when only admins can).

        Checks only ``path``; callers walk its parents.
        """
        ...

    def parent_unsafe(self, path: Path) -> str | None:
        """Why a non-admin could replace entries of the directory ``path`` (None if not)."""
        ...


if sys.platform == "win32":
    from tray_agent.platform import _policy_win32 as _backend
else:
    from tray_agent.platform import _policy_posix as _backend

machine_policy: Final[MachinePolicyBackend] = _backend.BACKEND

__all__ = ["MachinePolicyBackend", "machine_policy"]
