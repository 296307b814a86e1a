"""Where the token lives: secrets in the secret store, everything else in the state file.

The secret store holds ``token``, ``refresh-token`` and, only when the user chose
"remember", ``iam-password``. The state file (``paths.state_file``, JSON, atomic, 0600) holds
the expiry, the employee ID, the state and the last error under its ``"token"`` key, so
``token status`` never needs to unlock the keyring. Other parts may keep their own keys in
the same file; they are preserved.

Everything read back is checked (:meth:`PersistedState.from_json`): a file from an older
version, a hand edit or a broken disk may hold ``Infinity``, ``NaN``, absurd or wrongly typed
values, and none of them may crash ``status`` or reach the schedule. Writes take the file's
cross-process lock around the read-modify-write and emit strict JSON.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from tray_agent import formats, strictjson
from tray_agent.fsutil import atomic_write, file_lock
from tray_agent.secrets import SecretStore
from tray_agent.token.iam import MAX_LIFETIME, TOKEN_SHAPE, Grant

log = logging.getLogger("tray_agent.token")

TOKEN = "token"
REFRESH_TOKEN = "refresh-token"
PASSWORD = "iam-password"
STATE_KEY = "token"

State = Literal["absent", "valid", "expiring", "expired", "refreshing", "error"]
SIGN_IN = 'sign in again with "litellm-bridge token login"'
# A stored time further ahead than the longest lifetime the bridge keeps (plus a day for
# clock changes) did not come from this version: it is treated as unknown.
FUTURE_SLACK = MAX_LIFETIME + 86400.0
MAX_EPOCH = 253402214400.0  # 9999-12-31: the last date Python can show
MAX_TEXT = 2000  # longest stored message kept (an error text, an employee ID)


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
    expiry_note: str | None = None
    """Set when the IAM's expiry was clamped: what it sent and what the bridge uses."""
    kept_in_memory: bool = False
    """The secrets (token, remembered password) live in memory for this run only."""

    @property
    def usable(self) -> bool:
        """A token that upstream requests can carry right now."""
        return self.state in ("valid", "expiring", "refreshing") and self.expires_at is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenStatus:
        """From a control reply; times that are not finite epochs read as unknown."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("expires_at", "next_refresh_at"):
            values[name] = _epoch(values.get(name), MAX_EPOCH)
        return cls(**values)


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
    expiry_note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        return data

    @classmethod
    def from_json(cls, data: Any, now: float | None = None) -> PersistedState:
        """Checked field by field: a wrong type reads as unset, an unusable expiry as no token.

        ``now`` (default: the wall clock) bounds how far ahead a stored time may be.
        """
        if not isinstance(data, dict):
            return cls()
        limit = (time.time() if now is None else now) + FUTURE_SLACK
        st = cls(
            employee_id=_text(data.get("employee_id")),
            has_token=data.get("has_token") is True,
            can_refresh_silently=data.get("can_refresh_silently") is True,
            password_remembered=data.get("password_remembered") is True,
            next_refresh_at=_epoch(data.get("next_refresh_at"), limit),
            last_error=_text(data.get("last_error")),
            error_permanent=data.get("error_permanent") is True,
            expiry_note=_text(data.get("expiry_note")),
        )
        raw = data.get("expires_at")
        st.expires_at = _epoch(raw, limit)
        if st.has_token and st.expires_at is None:
            # Without a usable expiry the token cannot be scheduled or trusted.
            st.has_token = False
            st.can_refresh_silently = False
            st.next_refresh_at = None
            st.error_permanent = False
            st.last_error = (
                f"the stored token expiry ({_shown(raw)}) is not a usable time, so the stored "
                f"token is not used; {SIGN_IN}"
            )
            log.warning("token state: unusable stored expiry %s: token ignored", _shown(raw))
        return st


def _epoch(value: Any, limit: float | None = None) -> float | None:
    """A positive, finite epoch time (not beyond ``limit``), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    if not math.isfinite(number) or number <= 0 or (limit is not None and number > limit):
        return None
    return number


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) else None


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, int | float | str | None) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


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
        expiry_note=st.expiry_note if st.has_token else None,
    )


class TokenStore:
    """Secrets via the secret store, facts via the state file."""

    def __init__(self, secrets: SecretStore, state_path: Path | str) -> None:
        self.secrets = secrets
        self.state_path = Path(state_path)
        self._lock = threading.Lock()
        self.grant_problem: str | None = None
        """Why the last :meth:`load_grant` found the stored token unusable, if it did."""

    # -- secrets ----------------------------------------------------------------------

    def save_grant(self, grant: Grant) -> None:
        self.secrets.set(TOKEN, grant.token)
        if grant.refresh_token:
            self.secrets.set(REFRESH_TOKEN, grant.refresh_token)
        else:
            self.secrets.delete(REFRESH_TOKEN)

    def load_grant(self, st: PersistedState) -> Grant | None:
        """The stored grant, or None when any part of it is missing or unusable."""
        self.grant_problem = None
        if not st.has_token or st.expires_at is None or not st.employee_id:
            return None
        token = self.secrets.get(TOKEN)
        if not token:
            return None
        if not isinstance(token, str) or not TOKEN_SHAPE.fullmatch(token):
            # Saved by an older version (new tokens are checked on arrival) or mangled.
            # Never logged or shown: it may still be a secret, just a mangled one.
            self.grant_problem = (
                f"the token in the secret store ({self.secrets.description}) is not usable "
                f"(not a single line of printable ASCII up to 64 KiB); {SIGN_IN}"
            )
            log.warning("token state: %s", self.grant_problem)
            return None
        refresh = self.secrets.get(REFRESH_TOKEN)
        if refresh is not None and not (
            isinstance(refresh, str) and TOKEN_SHAPE.fullmatch(refresh)
        ):
            log.warning("token state: the stored refresh token is not usable: ignored")
            refresh = None
        return Grant(token, float(st.expires_at), refresh, st.employee_id)

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
        """Write the token section; other sections are kept (read and write under the lock)."""
        # The same checks as on reading: nothing that would be refused later is written.
        checked = PersistedState.from_json(st.to_json())
        with self._lock, file_lock(self.state_path):
            try:
                whole = json.loads(self.state_path.read_text(encoding="utf-8"))
                if not isinstance(whole, dict):
                    whole = {}
            except (OSError, RecursionError, ValueError):
                whole = {}
            # Never write over a newer file (its other sections would be lost with it).
            formats.check_format(whole, formats.TOKEN_STATE.name, self.state_path)
            whole[STATE_KEY] = checked.to_json()
            whole[formats.TOKEN_STATE.key] = formats.TOKEN_STATE.current
            text = _dump(whole)
            atomic_write(self.state_path, text)


def _dump(whole: dict[str, Any]) -> str:
    return strictjson.dumps(whole, indent=2, sort_keys=True) + "\n"


def read_state(path: Path | str, now: float | None = None) -> PersistedState:
    """The token section of the state file; an empty state when missing or unreadable.

    A file of a newer format raises ``formats.FormatError``: read as empty, the next write
    would replace what the newer version keeps there."""
    try:
        whole = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return PersistedState()
    except (OSError, RecursionError, ValueError) as exc:
        log.warning("ignoring unreadable state file %s: %s", path, str(exc)[:200])
        return PersistedState()
    try:
        whole = formats.upgrade(whole, formats.TOKEN_STATE.name, path, _dump)
    except OSError as exc:  # not migrated on disk this time: migrated in memory only
        log.warning("cannot migrate the state file %s: %s", path, exc)
        whole = formats.migrated(whole, formats.TOKEN_STATE.name, path)
    section = whole.get(STATE_KEY) if isinstance(whole, dict) else None
    return PersistedState.from_json(section, now)
