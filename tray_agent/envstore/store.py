"""Env entries: variables given to the sidecar, referenced from config.yaml as ``os.environ/NAME``.

The file (``paths.env_file``, JSON, 0600) holds names, flags and non-secret values. Secret
values live in the secret store as ``env:<NAME>`` and nowhere else. Every change rewrites
the file (with a new revision) so that a watcher notices even a secret-only change.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tray_agent import formats
from tray_agent.envstore.names import name_problem
from tray_agent.envstore.values import value_problem
from tray_agent.fsutil import LockTimeout, atomic_write, file_lock, write_problem
from tray_agent.secrets import SecretStore

log = logging.getLogger("tray_agent.envstore")

FILE_VERSION = formats.ENV.current
NO_KEYRING = (
    "cannot store a secret value: no secure OS keyring is available on this machine. "
    "Install and unlock a keyring (e.g. gnome-keyring or KWallet in your desktop session; "
    "Windows Credential Manager), or store the value without --secret if it is not secret."
)


def _audit(event: str, **fields: object) -> None:
    """The audit log records the change: the entry's name, never its value."""
    from tray_agent.audit.action import note

    note(event, **fields)


def _dump(doc: dict[str, object]) -> str:
    return json.dumps(doc, indent=2) + "\n"


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

    def __init__(
        self,
        path: Path,
        secrets: SecretStore | None = None,
        *,
        open_secrets: Callable[[], SecretStore] | None = None,
    ) -> None:
        """``secrets`` may be None for callers that only read names and flags;
        ``open_secrets`` opens the secret store only once a change needs it."""
        self.path = Path(path)
        self._secrets = secrets
        self._open_secrets = open_secrets

    @property
    def secrets(self) -> SecretStore:
        if self._secrets is None and self._open_secrets is not None:
            self._secrets = self._open_secrets()
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
            doc = formats.upgrade(json.loads(raw), formats.ENV.name, self.path, _dump)
            data = _StoreFile.model_validate(doc)
        except formats.FormatError as exc:
            raise EnvStoreError(str(exc)) from exc
        except (json.JSONDecodeError, ValidationError) as exc:
            raise EnvStoreError(
                f"{self.path} is damaged ({exc.__class__.__name__}): fix it or remove it "
                "and add the entries again with litellm-bridge env set"
            ) from exc
        except OSError as exc:  # the migrated file could not be written
            raise EnvStoreError(f"{exc}; nothing was changed") from exc
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
    # Every change holds the file's lock from its read to its last keyring call: concurrent
    # commands then never lose each other's entries, and a keyring value is only ever removed
    # by the process that also removed or changed its entry.
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock = file_lock(self.path)
        try:
            lock.__enter__()
        except LockTimeout as exc:
            raise EnvStoreError(exc.strerror or str(exc)) from exc
        except OSError as exc:
            problem = write_problem(exc, self.path)
            raise EnvStoreError(f"cannot lock {self.path}: {problem}") from exc
        try:
            yield
        finally:
            lock.__exit__(None, None, None)

    def _save(self, data: _StoreFile) -> None:
        data.revision += 1
        data.version = FILE_VERSION
        text = _dump(data.model_dump(exclude_none=True))
        try:
            atomic_write(self.path, text, mode=0o600)
        except OSError as exc:
            raise EnvStoreError(f"{exc}; nothing was changed") from exc

    def _require_keyring(self) -> None:
        if not self.secrets.persistent:
            raise EnvStoreError(NO_KEYRING)

    def _keyring_set(self, name: str, value: str) -> None:
        try:
            self.secrets.set(secret_key(name), value)
        except Exception as exc:  # keyring backends raise their own types (D-Bus, Win32)
            raise EnvStoreError(
                f"cannot store the value of {name} in the OS keyring "
                f"({exc.__class__.__name__}); unlock the keyring and try again"
            ) from exc

    def _keyring_get(self, name: str) -> str | None:
        try:
            return self.secrets.get(secret_key(name))
        except Exception as exc:
            raise EnvStoreError(
                f"cannot read the value of {name} from the OS keyring "
                f"({exc.__class__.__name__}); unlock the keyring and try again"
            ) from exc

    def _keyring_delete(self, name: str) -> None:
        """Best effort: a value left behind is unused (the entry no longer points to it)."""
        try:
            self.secrets.delete(secret_key(name))
        except Exception as exc:
            log.warning("could not remove env:%s from the OS keyring: %s", name, exc)

    def _roll_back(self, previous: dict[str, str | None]) -> None:
        """Put back the keyring values a failed change had already replaced."""
        for name, value in previous.items():
            try:
                if value is None:
                    self.secrets.delete(secret_key(name))
                else:
                    self.secrets.set(secret_key(name), value)
            except Exception as exc:
                log.warning("could not roll back env:%s in the OS keyring: %s", name, exc)

    def set_many(self, values: Iterable[NewValue]) -> None:
        """Add or replace entries in one write; all or nothing, in the file and the keyring.

        Order: new secret values, then the file, then removal of values that are no longer
        secret. A failure before the file is written puts the previous keyring values back.
        """
        latest: dict[str, NewValue] = {}
        for item in values:
            problem = name_problem(item.name) or value_problem(item.name, item.value)
            if problem:
                raise EnvStoreError(problem)
            latest[item.name] = item  # the last value for a name wins: one keyring write
        if any(i.secret for i in latest.values()):
            self._require_keyring()
        with self._locked():
            data = self._load()
            index = {e.name: i for i, e in enumerate(data.entries)}
            before = set(index)
            previous: dict[str, str | None] = {}
            to_delete: list[str] = []
            try:
                for item in latest.values():
                    at = index.get(item.name)
                    old = data.entries[at] if at is not None else None
                    if item.secret:
                        was_secret = old is not None and old.secret
                        previous[item.name] = self._keyring_get(item.name) if was_secret else None
                        self._keyring_set(item.name, item.value)
                    elif old is not None and old.secret:
                        to_delete.append(item.name)
                    entry = _EntryFile.model_construct(
                        name=item.name,
                        secret=item.secret,
                        enabled=old.enabled if old is not None else True,
                        value=None if item.secret else item.value,
                    )
                    if at is None:
                        index[item.name] = len(data.entries)
                        data.entries.append(entry)
                    else:
                        data.entries[at] = entry
                self._save(data)
            except BaseException:
                self._roll_back(previous)
                raise
            for name in to_delete:
                self._keyring_delete(name)
        for what, names in (
            ("env.added", [n for n in latest if n not in before]),
            ("env.changed", [n for n in latest if n in before]),
        ):
            if names:  # one event per change, however many entries (an import)
                _audit(what, names=names[:50], count=len(names))

    def set(self, name: str, value: str, secret: bool) -> None:
        self.set_many([NewValue(name, value, secret)])

    def unset(self, name: str) -> bool:
        """Remove an entry and its secret value; False when there was none."""
        with self._locked():
            data = self._load()
            entry = next((e for e in data.entries if e.name == name), None)
            if entry is None:
                return False
            data.entries.remove(entry)
            self._save(data)  # the file first: an entry never points to a removed value
            if entry.secret:
                self._keyring_delete(name)
        _audit("env.removed", name=name)
        return True

    def set_enabled(self, name: str, enabled: bool) -> None:
        with self._locked():
            data = self._load()
            entry = next((e for e in data.entries if e.name == name), None)
            if entry is None:
                raise EnvStoreError(
                    f"no env entry {name}; add it with: litellm-bridge env set {name} VALUE"
                )
            entry.enabled = enabled
            self._save(data)
        _audit("env.enabled" if enabled else "env.disabled", name=name)
