"""What every secret store promises, written once and run against each store.

Like keyring's own backend tests: a base class holds the tests, and each store's test class
only says how to make one (``make``) and whether it keeps values beyond this process.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from tray_agent.secrets import SecretStore

Maker = Callable[[str, str], SecretStore]
"""``make(service, namespace)`` -> a store; the same arguments reach the same values."""

UNICODE_VALUE = "pässwörd-密码-🔑-\u00a0-end"
LONG_VALUE = "x" * 8000 + "".join(secrets.token_hex(32) for _ in range(128))  # ~16 KB token


class SecretStoreContract:
    """The tests; a subclass defines ``store_factory`` and ``persistent``."""

    persistent: bool

    @pytest.fixture
    def store_factory(self) -> Iterator[Maker]:
        raise NotImplementedError

    @pytest.fixture
    def service(self) -> str:
        """A service of this test's own, so nothing it writes meets another test's items."""
        return f"litellm-bridge-test-{secrets.token_hex(6)}"

    @pytest.fixture
    def store(self, store_factory: Maker, service: str) -> SecretStore:
        return store_factory(service, "default")

    def test_a_missing_name_reads_as_none(self, store: SecretStore) -> None:
        assert store.get("never-set") is None

    def test_set_then_get_returns_the_value(self, store: SecretStore) -> None:
        store.set("master-key", "sk-bridge-value-1")
        assert store.get("master-key") == "sk-bridge-value-1"

    def test_set_again_overwrites(self, store: SecretStore) -> None:
        store.set("token", "first")
        store.set("token", "second")
        assert store.get("token") == "second"

    def test_delete_removes_only_that_name(self, store: SecretStore) -> None:
        store.set("token", "t")
        store.set("refresh-token", "r")
        store.delete("token")
        assert store.get("token") is None
        assert store.get("refresh-token") == "r"

    def test_deleting_a_missing_name_is_not_an_error(self, store: SecretStore) -> None:
        store.delete("never-set")
        store.set("once", "v")
        store.delete("once")
        store.delete("once")
        assert store.get("once") is None

    def test_unicode_values_round_trip(self, store: SecretStore) -> None:
        store.set("iam-password", UNICODE_VALUE)
        assert store.get("iam-password") == UNICODE_VALUE

    def test_long_values_round_trip(self, store: SecretStore) -> None:
        store.set("token", LONG_VALUE)
        assert store.get("token") == LONG_VALUE

    def test_env_entry_names_are_ordinary_names(self, store: SecretStore) -> None:
        store.set("env:CORP_LLM_KEY", "k1")
        store.set("env:CORP_LLM_KEY_2", "k2")
        assert (store.get("env:CORP_LLM_KEY"), store.get("env:CORP_LLM_KEY_2")) == ("k1", "k2")

    def test_services_do_not_share_values(self, store_factory: Maker, service: str) -> None:
        one, other = store_factory(service, "default"), store_factory(service + "-b", "default")
        one.set("master-key", "of-one")
        assert other.get("master-key") is None
        other.set("master-key", "of-other")
        assert one.get("master-key") == "of-one"

    def test_namespaces_do_not_share_values(self, store_factory: Maker, service: str) -> None:
        home_a, home_b = store_factory(service, "default"), store_factory(service, "home-b")
        home_a.set("token", "a")
        home_b.set("token", "b")
        assert (home_a.get("token"), home_b.get("token")) == ("a", "b")
        home_b.delete("token")
        assert home_a.get("token") == "a"

    def test_persistent_says_whether_another_process_sees_the_value(
        self, store: SecretStore, service: str
    ) -> None:
        assert store.persistent is self.persistent
        assert isinstance(store.description, str) and store.description
        store.set("master-key", "seen-elsewhere?")
        read = (
            "import sys\nfrom tray_agent.secrets import KeyringStore\n"
            "try:\n    print(KeyringStore('default', sys.argv[1]).get('master-key'))\n"
            "except Exception:\n    print(None)  # no keyring here: nothing is seen\n"
        )
        child = subprocess.run(
            [sys.executable, "-c", read, service], capture_output=True, text=True, timeout=60
        )
        assert child.returncode == 0, child.stderr
        seen = child.stdout.strip() == "seen-elsewhere?"
        assert seen is self.persistent
