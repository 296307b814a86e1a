"""The one error type of ``tray_agent.clients``: a refusal the user can act on.

Kept here, not in ``tray_agent.commands``, so the tool-setup code does not depend on the
command layer that uses it; the ``clients`` command turns it into a ``UserError``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from tray_agent import fsutil


class ClientsError(Exception):
    """A setup, restore or endpoint lookup refused; ``hint`` says what to do next."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def locked(path: Path) -> contextlib.AbstractContextManager[None]:
    """``fsutil.file_lock(path)``; failing to take it is a ``ClientsError`` naming the file."""
    return fsutil.locked(path, ClientsError)
