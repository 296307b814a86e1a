"""What every command handler gets: paths, secrets, and a way to reach the running agent."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO

from tray_agent import strictjson
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore, open_secret_store


class UserError(Exception):
    """An error the user can act on; printed as ``error: <message>`` with exit code ``code``."""

    def __init__(self, message: str, code: int = 1, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


def locked(path: Path) -> contextlib.AbstractContextManager[None]:
    """``fsutil.file_lock(path)`` for a command: failing to take it is a ``UserError``."""
    from tray_agent import fsutil

    return fsutil.locked(path, UserError)


@dataclass
class CliContext:
    paths: Paths
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    @cached_property
    def secrets(self) -> SecretStore:
        """The secret store (keyring, or memory when none: then the agent holds the values)."""
        return open_secret_store(self.paths.keyring_namespace)

    def agent(self) -> Any | None:
        """A connected ControlClient when an agent runs for this home, else None."""
        from tray_agent.control.client import ControlClient

        return ControlClient.connect(self.paths)

    def print(self, *parts: object) -> None:
        print(*parts, file=self.out)

    def print_json(self, data: Any, *, indent: int | None = 2, sort_keys: bool = False) -> None:
        """Print ``data`` as strict JSON (non-finite numbers become null, never ``Infinity``)."""
        self.print(strictjson.dumps(data, indent=indent, sort_keys=sort_keys))

    def warn(self, *parts: object) -> None:
        print(*parts, file=self.err)
