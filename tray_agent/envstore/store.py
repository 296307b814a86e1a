"""Env entries: variables given to the sidecar, referenced from config.yaml as ``os.environ/NAME``.

The file (``paths.env_file``, JSON, 0600) holds names, flags and non-secret values. Secret
values live in the secret store as ``env:<NAME>`` and nowhere else. Every change rewrites
the file (with a new revision) so that a watcher notices even a secret-only change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tray_agent.envstore.names import name_problem
from tray_agent.fsutil import atomic_write
from tray_agent.secrets import SecretStore

FILE_VERSION = 1
NO_KEYRING = (
    "cannot store a secret value: no secure OS keyring is available on this machine. "
    "Install and unlock a keyring (e.g. gnome-keyring or KWallet in your desktop session; "
    "Windows Credential Manager), or store the value without --secret if it is not secret."
)


class EnvStoreError(Exception):
    """A refused or failed env change; the message says what to do."""


def secret_key(name: str) -> str:
    return f"env:{name}"


class _EntryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    secret: bool = False
    enabled: bool = True
    value: str | None = None

    @model_validator(mode="after")
    def _no_secret_value(self) -> _EntryFile:
        if self.secret and self.value is not None:
            raise ValueError(f"{self.name}: a secret entry must not hold its value in the file")
        return self


class _StoreFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: int = FILE_VERSION
    revision: int = 0
    entries: list[_EntryFile] = Field(default_factory=list)


@dataclass(frozen=True)
class EnvEntry:
    """One entry as shown to users; ``value`` is None for secrets (see ``EnvStore.value``)."""

    name: str
    secret: bool
    enabled: bool
    value: str | None


@dataclass(frozen=True)
class NewValue:
    name: str
    value: str
    secret: bool


class EnvStore:
    """Read-modify-write access to the env entries; each change is one atomic file write."""

    def __init__(self, path: Path, secrets: SecretStore | None = None) -> None:
        """``secrets`` may be None for callers that only read names and flags."""
        self.path = Path(path)
        self._secrets = secrets

    @property
    def secrets(self) -> SecretStore:
        if self._secrets is None:
            raise EnvStoreError("this env store was opened without access to secret values")
        return self._secrets

    # -- reading -----------------------------------------------------------------------------
    def _load(self) -> _StoreFile:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _StoreFile()
        except OSError as exc:
            raise EnvStoreError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        try:
            data = _StoreFile.model_validate(json.loads(raw))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise EnvStoreError(
                f"{self.path} is damaged ({exc.__class__.__name__}): fix it or remove it "
                "and add the entries again with litellm-bridge env set"
            ) from exc
        if data.version > FILE_VERSION:
            raise EnvStoreError(f"{self.path} was written by a newer version (v{data.version})")
        return data

    def entries(self) -> list[EnvEntry]:
        return [EnvEntry(e.name, e.secret, e.enabled, e.value) for e in self._load().entries]

    def get(self, name: str) -> EnvEntry | None:
        return next((e for e in self.entries() if e.name == name), None)

    def value(self, entry: EnvEntry) -> str | None:
        """The entry's value (from the secret store for a secret; None if it is missing there)."""
        return self.secrets.get(secret_key(entry.name)) if entry.secret else entry.value

    def enabled_names(self) -> set[str]:
        return {e.name for e in self.entries() if e.enabled}

    def disabled_names(self) -> set[str]:
        return {e.name for e in self.entries() if not e.enabled}

    def resolved(self) -> dict[str, str]:
        """Enabled entries with their values: the sidecar's extra environment."""
        out: dict[str, str] = {}
        for entry in self.entries():
            if not entry.enabled:
                continue
            value = self.value(entry)
            if value is not None:
                out[entry.name] = value
        return out

    def missing_secrets(self) -> list[str]:
        """Enabled secret entries whose value is not in the secret store (e.g. keyring reset)."""
        return [e.name for e in self.entries() if e.enabled and e.secret and self.value(e) is None]

    # -- writing -----------------------------------------------------------------------------
    def _save(self, data: _StoreFile) -> None:
        data.revision += 1
        data.version = FILE_VERSION
        text = json.dumps(data.model_dump(exclude_none=True), indent=2) + "\n"
        atomic_write(self.path, text, mode=0o600)

    def _require_keyring(self) -> None:
        if not self.secrets.persistent:
            raise EnvStoreError(NO_KEYRING)

    def set_many(self, values: Iterable[NewValue]) -> None:
        """Add or replace entries in one write; secret values go to the secret store first."""
        items = list(values)
        for item in items:
            problem = name_problem(item.name)
            if problem:
                raise EnvStoreError(problem)
        if any(i.secret for i in items):
            self._require_keyring()
        data = self._load()
        by_name = {e.name: e for e in data.entries}
        to_delete: list[str] = []
        for item in items:
            if item.secret:
                # Secret first: a failure leaves the file (and the previous state) untouched.
                self.secrets.set(secret_key(item.name), item.value)
            old = by_name.get(item.name)
            if old is not None and old.secret and not item.secret:
                to_delete.append(item.name)
            entry = _EntryFile(
                name=item.name,
                secret=item.secret,
                enabled=old.enabled if old is not None else True,
                value=None if item.secret else item.value,
            )
            if old is None:
                data.entries.append(entry)
            else:
                data.entries[data.entries.index(old)] = entry
            by_name[item.name] = entry
        self._save(data)
        for name in to_delete:
            self.secrets.delete(secret_key(name))

    def set(self, name: str, value: str, secret: bool) -> None:
        self.set_many([NewValue(name, value, secret)])

    def unset(self, name: str) -> bool:
        """Remove an entry and its secret value; False when there was none."""
        data = self._load()
        entry = next((e for e in data.entries if e.name == name), None)
        if entry is None:
            return False
        data.entries.remove(entry)
        self._save(data)
        if entry.secret:
            self.secrets.delete(secret_key(name))
        return True

    def set_enabled(self, name: str, enabled: bool) -> None:
        data = self._load()
        entry = next((e for e in data.entries if e.name == name), None)
        if entry is None:
            raise EnvStoreError(
                f"no env entry {name}; add it with: litellm-bridge env set {name} VALUE"
            )
        entry.enabled = enabled
        self._save(data)
