"""The secret store contract (``contract.py``) for the memory store and the OS keyring.

The keyring half needs a real Secret Service: run under ``scripts/with-desktop.sh``
(gnome-keyring on a private D-Bus); without one it fails unless skipping is asked for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests.helpers.keyring import require_keyring
from tests.secrets.contract import Maker, SecretStoreContract
from tray_agent.secrets import KeyringStore, MemoryStore, SecretStore, open_secret_store

NAMES = (
    "master-key",
    "token",
    "refresh-token",
    "iam-password",
    "env:CORP_LLM_KEY",
    "env:CORP_LLM_KEY_2",
    "once",
    "never-set",
)


class TestMemoryStore(SecretStoreContract):
    persistent = False

    @pytest.fixture
    def store_factory(self) -> Iterator[Maker]:
        made: dict[tuple[str, str], MemoryStore] = {}

        def make(service: str, namespace: str) -> SecretStore:
            return made.setdefault((service, namespace), MemoryStore())

        yield make


class TestKeyringStore(SecretStoreContract):
    persistent = True

    @pytest.fixture
    def store_factory(self) -> Iterator[Maker]:
        require_keyring(open_secret_store())
        made: list[KeyringStore] = []

        def make(service: str, namespace: str) -> SecretStore:
            store = KeyringStore(namespace, service)
            made.append(store)
            return store

        yield make
        for store in made:  # leave nothing behind in the keyring
            for name in NAMES:
                with contextlib.suppress(Exception):
                    store.delete(name)
