"""Where the token lives: secrets in the secret store, everything else in the state file.

The secret store holds ``token``, ``refresh-token`` and, only when the user chose
"remember", ``iam-password``. The state file (``paths.state_file``, JSON, atomic, 0600) holds
the expiry, the employee ID, the state and the last error under its ``"token"`` key, so
``token status`` never needs to unlock the keyring. Other parts may keep their own keys in
the same file; they are preserved.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from tray_agent.fsutil import atomic_write
from tray_agent.secrets import SecretStore
from tray_agent.token.iam import Grant

log = logging.getLogger("tray_agent.token")

TOKEN = "token"
REFRESH_TOKEN = "refresh-token"
PASSWORD = "iam-password"
STATE_KEY = "token"

State = Literal["absent", "valid", "expiring", "expired", "refreshing", "error"]


@dataclass(frozen=True)
class TokenStatus:
    """What the tray, the CLI and the control API show. Never holds a secret."""

    state: State
    expires_at: float | None = None
    employee_id: str | None = None
    last_error: str | None = None
    can_refresh_silently: bool = False
    next_refresh_at: float | None = None
    password_remembered: bool = False

    @property
    def usable(self) -> bool:
        """A token that upstream requests can carry right now."""
        return self.state in ("valid", "expiring", "refreshing") and self.expires_at is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenStatus:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class PersistedState:
    """The ``"token"`` section of the state file."""

    employee_id: str | None = None
    expires_at: float | None = None
    has_token: bool = False
    can_refresh_silently: bool = False
    password_remembered: bool = False
    next_refresh_at: float | None = None
    last_error: str | None = None
    error_permanent: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        return data

    @classmethod
    def from_json(cls, data: Any) -> PersistedState:
        if not isinstance(data, dict):
            return cls()
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in data.items() if k in known})


def status_from_state(
    st: PersistedState, now: float, notify_before: float, refreshing: bool = False
) -> TokenStatus:
    """Derive the user-facing state from the persisted facts and the current time."""
    state: State
    failing = st.last_error is not None
    if refreshing:
        state = "refreshing"
    elif not st.has_token or st.expires_at is None:
        state = "error" if failing and st.error_permanent else "absent"
    elif now >= st.expires_at:
        state = "expired"
    elif failing and st.error_permanent:
        state = "error"
    elif failing or (now >= st.expires_at - notify_before and not st.can_refresh_silently):
        state = "expiring"
    else:
        state = "valid"
    return TokenStatus(
        state=state,
        expires_at=st.expires_at if st.has_token else None,
        employee_id=st.employee_id,
        last_error=st.last_error,
        can_refresh_silently=st.can_refresh_silently and st.has_token,
        next_refresh_at=st.next_refresh_at if st.has_token else None,
        password_remembered=st.password_remembered,
    )


class TokenStore:
    """Secrets via the secret store, facts via the state file."""

    def __init__(self, secrets: SecretStore, state_path: Path | str) -> None:
        self.secrets = secrets
        self.state_path = Path(state_path)
        self._lock = threading.Lock()

    # -- secrets ----------------------------------------------------------------------

    def save_grant(self, grant: Grant) -> None:
        self.secrets.set(TOKEN, grant.token)
        if grant.refresh_token:
            self.secrets.set(REFRESH_TOKEN, grant.refresh_token)
        else:
            self.secrets.delete(REFRESH_TOKEN)

    def load_grant(self, st: PersistedState) -> Grant | None:
        """The stored grant, or None when any part of it is missing."""
        if not st.has_token or st.expires_at is None or not st.employee_id:
            return None
        token = self.secrets.get(TOKEN)
        if not token:
            return None
        return Grant(token, float(st.expires_at), self.secrets.get(REFRESH_TOKEN), st.employee_id)

    def remember_password(self, password: str) -> None:
        self.secrets.set(PASSWORD, password)

    def password(self) -> str | None:
        return self.secrets.get(PASSWORD)

    def forget_password(self) -> None:
        self.secrets.delete(PASSWORD)

    def clear_secrets(self) -> None:
        for name in (TOKEN, REFRESH_TOKEN, PASSWORD):
            self.secrets.delete(name)

    # -- state file -------------------------------------------------------------------

    def load_state(self) -> PersistedState:
        return read_state(self.state_path)

    def save_state(self, st: PersistedState) -> None:
        with self._lock:
            try:
                whole = json.loads(self.state_path.read_text(encoding="utf-8"))
                if not isinstance(whole, dict):
                    whole = {}
            except (OSError, ValueError):
                whole = {}
            whole[STATE_KEY] = st.to_json()
            atomic_write(self.state_path, json.dumps(whole, indent=2, sort_keys=True) + "\n")


def read_state(path: Path | str) -> PersistedState:
    """The token section of the state file; an empty state when missing or unreadable."""
    try:
        whole = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return PersistedState()
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable state file %s: %s", path, exc)
        return PersistedState()
    return PersistedState.from_json(whole.get(STATE_KEY) if isinstance(whole, dict) else None)
