"""Secret stores ranked like keyring's backends: the OS keyring if viable, else memory."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
from typing import Protocol

from tray_agent.testhooks import hook_env

SERVICE = "litellm-bridge"
log = logging.getLogger("tray_agent.secrets")

NO_KEYRING_HINT = (
    "no secure OS keyring is available: secrets (master key, token, secret env values) are "
    "kept in memory for this run only and will not be remembered. Install and unlock a "
    "Secret Service keyring (e.g. `apt install gnome-keyring` in a desktop session) or use "
    "Windows Credential Manager."
)


class SecretStore(Protocol):
    persistent: bool
    description: str

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...


class MemoryStore:
    """Secrets for this process only; used when no secure keyring exists."""

    persistent = False
    description = "memory (this run only)"

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> str | None:
        with self._lock:
            return self._data.get(name)

    def set(self, name: str, value: str) -> None:
        with self._lock:
            self._data[name] = value

    def delete(self, name: str) -> None:
        with self._lock:
            self._data.pop(name, None)


class KeyringStore:
    """The OS keyring (Secret Service, Windows Credential Manager, macOS Keychain)."""

    persistent = True

    def __init__(self, namespace: str = "default", service: str = SERVICE) -> None:
        import keyring

        self._keyring = keyring
        self._namespace = namespace
        self._service = service
        backend = keyring.get_keyring()
        self.description = f"{type(backend).__module__}.{type(backend).__name__}"

    def _user(self, name: str) -> str:
        return name if self._namespace == "default" else f"{self._namespace}/{name}"

    def get(self, name: str) -> str | None:
        value: str | None = self._keyring.get_password(self._service, self._user(name))
        return value

    def set(self, name: str, value: str) -> None:
        self._keyring.set_password(self._service, self._user(name), value)

    def delete(self, name: str) -> None:
        import keyring.errors

        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            self._keyring.delete_password(self._service, self._user(name))


def _secure_backend_available() -> tuple[bool, str]:
    """True when keyring has a backend that is neither a failure nor a plaintext/prompting one."""
    try:
        import keyring
        from keyring.backends import fail
    except Exception as exc:  # keyring missing or broken: treat as unavailable
        return False, f"keyring import failed: {exc}"
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring):
        return False, name
    # keyrings.alt plaintext/encrypted-file backends either store plaintext or prompt (hangs).
    if "keyrings.alt" in name or "null" in name.lower():
        return False, name
    chainer = getattr(backend, "backends", None)
    if chainer is not None and not chainer:
        return False, name
    return True, name


PROBE_PREFIX = "probe-"


def _probe(store: KeyringStore) -> None:
    """Round-trip a value: a locked or broken keyring fails here, not mid-run.

    The item is this process's own (pid + random): with one shared item, a process that
    deleted it made a concurrent one read nothing back and fall back to memory.
    """
    name = f"{PROBE_PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
    value = secrets.token_hex(8)
    try:
        store.set(name, value)
        if store.get(name) != value:
            raise RuntimeError("keyring probe read back a different value")
    finally:
        with contextlib.suppress(Exception):  # a failed clean-up must not hide the cause
            store.delete(name)


_warned = False


def open_secret_store(namespace: str = "default") -> SecretStore:
    """Return the keyring store, or a memory store with one clear warning when none is usable.

    ``LITELLM_BRIDGE_SECRET_STORE=memory`` forces the memory store (a test hook: a frozen
    build ignores it unless ``LITELLM_BRIDGE_TEST_HOOKS=1``).
    """
    global _warned
    forced = (hook_env("LITELLM_BRIDGE_SECRET_STORE") or "").lower()
    reason = "forced by LITELLM_BRIDGE_SECRET_STORE=memory"
    if forced != "memory":
        ok, reason = _secure_backend_available()
        if ok:
            try:
                store = KeyringStore(namespace)
                _probe(store)
                return store
            except Exception as exc:
                reason = f"keyring backend unusable: {exc}"
    if not _warned:
        log.warning("%s (%s)", NO_KEYRING_HINT, reason)
        _warned = True
    return MemoryStore()
