"""Each supported tool's state for the "Set up coding tools" list, and its default tick.

- ``set up``: its files hold every value setup writes, and a setup backup exists;
- ``set up by hand``: its files point somewhere on their own (no setup of ours did it, or
  they were edited since), so it is left unticked: the user decides whether to overwrite;
- ``installed`` / ``not found``: the program (or Python module) is, or is not, on this machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from tray_agent.clients.base import ClientSetup, Target
from tray_agent.clients.errors import ClientsError
from tray_agent.clients.readback import read_settings
from tray_agent.clients.registry import all_clients
from tray_agent.clients.setup import is_configured, latest_backup

SET_UP = "already set up"
BY_HAND = "set up by hand"
INSTALLED = "installed"
NOT_FOUND = "not found"


@dataclass(frozen=True)
class ToolState:
    client: ClientSetup
    state: str
    detail: str = ""

    @property
    def ticked(self) -> bool:
        """Ticked by default: installed tools nobody pointed anywhere yet."""
        return self.state == INSTALLED

    @property
    def label(self) -> str:
        return f"{self.state} ({self.detail})" if self.detail else self.state


def tool_state(client: ClientSetup, target: Target) -> ToolState:
    try:
        configured = is_configured(client, target)
        settings = read_settings(client, target.paths, {}, resolve_key=False)
    except ClientsError as exc:  # an unreadable file: theirs, so by hand
        return ToolState(client, BY_HAND, str(exc))
    backup = latest_backup(target.paths, client.name) is not None
    if configured and backup:
        return ToolState(client, SET_UP)
    if configured:
        return ToolState(client, BY_HAND, "points at the bridge")
    if settings is not None:
        where = settings.url.rstrip("/")
        return ToolState(client, BY_HAND, f"points at {where}")
    return ToolState(client, INSTALLED if client.installed() else NOT_FOUND)


def tool_states(target: Target) -> list[ToolState]:
    return [tool_state(c, target) for c in all_clients()]
