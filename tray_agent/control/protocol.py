"""Wire format: one JSON object per message over ``multiprocessing.connection``.

Request ``{"method": str, "params": {...}}``; reply ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": str}``. Linux uses a Unix socket inside the 0700 runtime directory
and checks the peer's uid; Windows uses a named pipe.
"""

from __future__ import annotations

from tray_agent.platform import IS_WINDOWS

FAMILY = "AF_PIPE" if IS_WINDOWS else "AF_UNIX"


class ControlError(Exception):
    """The agent refused or failed a request; the message is meant for the user."""


class AgentNotRunning(Exception):
    """No agent is listening for this home."""
