"""The admin lock: is a setting managed by the organization, and what to tell the user.

One place answers "may the user change X?" for every front end: the CLI commands (``init``,
``config edit``, ``env``, ``clients``), the tray's menu and the dialogs. The answer comes
from the running agent's status (``policy.locked``, the policy it enforces) or, with no
agent running, from the policy files themselves (``tray_agent.policy.current``).

What can be asked (``what``): ``config``, ``env:<NAME>``, ``clients``, ``iam``,
``fast_path``, ``autostart``. A refusal is a ``LockedError``; the CLI prints it and exits
with ``EXIT_LOCKED``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tray_agent.paths import Paths
    from tray_agent.secrets import SecretStore

LOCK_KEYS = ("config", "env", "clients", "iam", "fast_path", "autostart")

EXIT_LOCKED = 4
"""Exit code of a CLI command refused by the admin lock (3 already means "agent not running")."""

MANAGED_LABEL = "managed"
"""What the tray and the dialogs put beside a locked item."""

_WHAT = {
    "config": "config.yaml",
    "clients": "setting up coding tools",
    "iam": "the sign-in settings (bridge.iam)",
    "fast_path": "the fast path (bridge.fast_path)",
    "autostart": "Start at login",
}


class LockedError(Exception):
    """A change the admin lock forbids; ``str()`` is the message for the user."""

    def __init__(self, what: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.what = what
        self.hint = hint


def _key(what: str) -> str:
    return "env" if what.startswith("env:") else what


@dataclass(frozen=True)
class LockState:
    """What is locked, by which policy files, and the managed config.yaml (if shipped)."""

    locked: Mapping[str, bool | list[str]] = field(default_factory=dict)
    source: tuple[str, ...] = ()
    managed_config: Path | None = None
    env_values: Mapping[str, str] = field(default_factory=dict)  # set by the policy's ``env``

    @classmethod
    def from_view(cls, view: Mapping[str, Any] | None) -> LockState:
        """From status's ``policy`` section (or ``current.effective``'s view)."""
        view = view or {}
        raw = view.get("locked") or {}
        locked: dict[str, bool | list[str]] = {}
        for key in LOCK_KEYS:
            value = raw.get(key, False)
            locked[key] = [str(v) for v in value] if isinstance(value, list) else bool(value)
        source = tuple(str(s) for s in view.get("source") or ())
        managed = view.get("managed_config")
        preset = (view.get("effective") or {}).get("env") or {}
        env_values = {str(k): str(v) for k, v in preset.items()}
        return cls(locked, source, Path(managed) if managed else None, env_values)

    @property
    def any(self) -> bool:
        return any(bool(v) for v in self.locked.values())

    def is_locked(self, what: str) -> bool:
        key = _key(what)
        if key not in LOCK_KEYS:
            raise ValueError(f"unknown lock {what!r}")
        value = self.locked.get(key, False)
        if key == "env" and what.startswith("env:"):
            name = what[4:]
            return (
                value is True
                or (isinstance(value, list) and name in value)
                or name in self.env_values
            )
        return bool(value)

    @property
    def all_env_locked(self) -> bool:
        """``lock.env: true``: every env entry, present or future."""
        return self.locked.get("env") is True

    def env_names_locked(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` the lock covers, in the order given."""
        return [n for n in names if self.is_locked(f"env:{n}")]

    @property
    def owner(self) -> str:
        """``managed by your organization (<policy file>)``: the words every refusal uses."""
        where = ", ".join(self.source) or "organization policy"
        return f"managed by your organization ({where})"

    def message(self, what: str) -> str:
        if what.startswith("env:"):
            return f"env entry {what[4:]} is {self.owner}"
        return f"{_WHAT.get(what, what)} is {self.owner}"

    def hint(self, what: str) -> str | None:
        if what == "config" and self.managed_config is not None:
            return f"your administrator changes it in {self.managed_config}"
        return "ask your administrator to change it"

    def check(self, what: str) -> None:
        """Raise ``LockedError`` when ``what`` is locked."""
        if self.is_locked(what):
            raise LockedError(what, self.message(what), self.hint(what))


UNLOCKED = LockState()


def from_files(paths: Paths, secrets: SecretStore | None = None) -> LockState:
    """The lock as the policy files say (used inside the agent, and with no agent running);
    ``secrets`` lets a kept last good policy count when the files are broken."""
    from tray_agent.policy.current import effective

    _policy, view = effective(paths, secrets)
    return LockState.from_view(view)


def from_agent(paths: Paths) -> LockState | None:
    """The lock the running agent enforces; None when no agent runs or it has no policy yet."""
    from tray_agent.control.client import ControlClient
    from tray_agent.control.protocol import ControlError

    try:
        client = ControlClient.connect(paths)
        if client is None:
            return None
        with client:
            status = client.call("status", timeout=15)
    except (ControlError, OSError, EOFError):
        return None
    view = status.get("policy") if isinstance(status, dict) else None
    if not isinstance(view, dict) or "locked" not in view:
        return None  # the agent's policy watcher has not reported yet
    return LockState.from_view(view)


def from_status(status: Any) -> LockState | None:
    """The lock in a status answer (None when it has no policy section yet)."""
    view = status.get("policy") if isinstance(status, dict) else None
    if not isinstance(view, dict) or "locked" not in view:
        return None
    return LockState.from_view(view)


def for_dialog(services: Any) -> LockState:
    """A dialog's view of the lock: the agent's (``services.call("status")``, as the tray sees
    it), else the policy files'."""
    try:
        state = from_status(services.call("status", timeout=10))
    except Exception:
        state = None
    return state or from_files(services.paths, services.secrets)


def lock_state(paths: Paths) -> LockState:
    """The lock in force: the running agent's, else the policy files'."""
    return from_agent(paths) or from_files(paths)


def require_unlocked(what: str, paths: Paths, state: LockState | None = None) -> LockState:
    """Raise ``LockedError`` when ``what`` is locked; return the state for further checks."""
    state = state or lock_state(paths)
    state.check(what)
    return state


def require_env_unlocked(names: Iterable[str], paths: Paths) -> None:
    """Refuse a change of env entries when any of ``names`` is locked (all or nothing)."""
    wanted = list(names)
    if not wanted:
        return
    state = lock_state(paths)
    locked = state.env_names_locked(wanted)
    if len(locked) == 1:
        state.check(f"env:{locked[0]}")
    if locked:
        raise LockedError(
            "env",
            f"env entries {', '.join(locked)} are {state.owner}",
            "ask your administrator to change them",
        )
