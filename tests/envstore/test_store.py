from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.config.cliutil import run
from tests.helpers.keyring import require_keyring
from tray_agent.envstore import EnvStore, EnvStoreError, NewValue, secret_key
from tray_agent.paths import get_paths
from tray_agent.secrets import MemoryStore, SecretStore, open_secret_store


@pytest.fixture
def secrets(home: Path) -> SecretStore:
    return require_keyring(open_secret_store(get_paths().keyring_namespace))


@pytest.fixture
def store(secrets: SecretStore) -> EnvStore:
    return EnvStore(get_paths().env_file, secrets)


def file_text() -> str:
    return get_paths().env_file.read_text()


def test_plain_value_lives_in_the_file(store: EnvStore) -> None:
    store.set("CORP_PROJECT", "p-123", secret=False)
    entry = store.get("CORP_PROJECT")
    assert entry is not None and entry.value == "p-123" and not entry.secret
    assert "p-123" in file_text()
    if os.name != "nt":
        assert stat.S_IMODE(get_paths().env_file.stat().st_mode) == 0o600


def test_secret_value_lives_only_in_the_keyring(store: EnvStore, secrets: SecretStore) -> None:
    store.set("CORP_LLM_KEY", "sk-secret-999", secret=True)
    assert "sk-secret-999" not in file_text()
    assert secrets.get(secret_key("CORP_LLM_KEY")) == "sk-secret-999"
    entry = store.get("CORP_LLM_KEY")
    assert entry is not None and entry.secret and entry.value is None
    assert store.value(entry) == "sk-secret-999"


def test_resolved_gives_enabled_entries_with_values(store: EnvStore) -> None:
    store.set("A_KEY", "s", secret=True)
    store.set("B", "b", secret=False)
    store.set("C", "c", secret=False)
    store.set_enabled("C", False)
    assert store.resolved() == {"A_KEY": "s", "B": "b"}
    assert store.enabled_names() == {"A_KEY", "B"}
    assert store.disabled_names() == {"C"}


def test_every_change_rewrites_the_file(store: EnvStore) -> None:
    store.set("A_KEY", "one", secret=True)
    before = file_text()
    store.set("A_KEY", "two", secret=True)
    assert file_text() != before, "a watcher must see secret-only changes"


def test_secret_to_plain_drops_the_keyring_value(store: EnvStore, secrets: SecretStore) -> None:
    store.set("X_TOKEN", "t", secret=True)
    store.set("X_TOKEN", "now-plain", secret=False)
    assert secrets.get(secret_key("X_TOKEN")) is None
    assert store.resolved() == {"X_TOKEN": "now-plain"}


def test_unset_removes_entry_and_secret(store: EnvStore, secrets: SecretStore) -> None:
    store.set("X_TOKEN", "t", secret=True)
    assert store.unset("X_TOKEN")
    assert store.get("X_TOKEN") is None
    assert secrets.get(secret_key("X_TOKEN")) is None
    assert not store.unset("X_TOKEN")


@pytest.mark.parametrize("name", ["1ABC", "A-B", "", "LITELLM_BRIDGE_TOKEN", "litellm_master_key"])
def test_bad_and_reserved_names_are_refused(store: EnvStore, name: str) -> None:
    with pytest.raises(EnvStoreError):
        store.set(name, "v", secret=False)
    assert not get_paths().env_file.exists()


def test_secret_without_a_keyring_is_refused(home: Path) -> None:
    store = EnvStore(get_paths().env_file, MemoryStore())
    with pytest.raises(EnvStoreError, match="keyring"):
        store.set("CORP_LLM_KEY", "sk", secret=True)
    assert not get_paths().env_file.exists()
    store.set("CORP_PROJECT", "fine", secret=False)
    with pytest.raises(EnvStoreError, match="keyring"):
        store.set_many([NewValue("A", "1", False), NewValue("B_KEY", "2", True)])
    assert store.get("A") is None, "nothing is written when any value is refused"


def test_damaged_file_is_a_clear_error(home: Path) -> None:
    path = get_paths().env_file
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(EnvStoreError, match=str(path)):
        EnvStore(path, MemoryStore()).entries()
    path.write_text(json.dumps({"entries": [{"name": "A", "secret": True, "value": "leak"}]}))
    with pytest.raises(EnvStoreError):
        EnvStore(path).entries()


# -- the env command ---------------------------------------------------------------------------


def test_env_commands_round_trip(secrets: SecretStore) -> None:
    assert run("env", "set", "CORP_PROJECT", "proj-1").code == 0
    assert run("env", "set", "CORP_LLM_KEY", "sk-hidden-42", "--secret").code == 0
    listing = run("env", "list")
    assert listing.code == 0
    assert "proj-1" in listing.out
    assert "sk-hidden-42" not in listing.out and "********" in listing.out
    revealed = run("env", "list", "--reveal").out
    assert "sk-hidden-42" in revealed
    # Changing a secret's value keeps it secret.
    assert run("env", "set", "CORP_LLM_KEY", "sk-new-43").code == 0
    assert "sk-new-43" not in file_text()
    assert run("env", "disable", "CORP_PROJECT").code == 0
    assert "disabled" in run("env", "list").out
    assert run("env", "enable", "CORP_PROJECT").code == 0
    assert run("env", "unset", "CORP_PROJECT").code == 0
    assert "CORP_PROJECT" not in run("env", "list").out
    result = run("env", "unset", "CORP_PROJECT")
    assert result.code == 1 and "no env entry CORP_PROJECT" in result.err


def test_env_set_refuses_reserved_names(home: Path) -> None:
    result = run("env", "set", "LITELLM_BRIDGE_TOKEN", "x")
    assert result.code == 1 and "reserved" in result.err


def test_env_enable_unknown_entry(home: Path) -> None:
    result = run("env", "enable", "NOPE")
    assert result.code == 1 and "litellm-bridge env set NOPE" in result.err


def test_import_reports_skipped_and_marks_secrets(secrets: SecretStore, tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# team settings\n"
        "export CORP_PROJECT=proj-7\n"
        'CORP_API_KEY="sk-imported"\n'
        "9BAD=1\n"
        "broken line\n"
        "LITELLM_MASTER_KEY=x\n"
    )
    result = run("env", "import", str(dotenv))
    assert result.code == 0
    assert "imported CORP_API_KEY (secret)" in result.out
    assert "imported CORP_PROJECT\n" in result.out
    assert f"{dotenv}:4: 9BAD: '9BAD' is not a valid name" in result.err
    assert f"{dotenv}:5: syntax error" in result.err
    assert f"{dotenv}:6: LITELLM_MASTER_KEY: 'LITELLM_MASTER_KEY' is reserved" in result.err
    assert "sk-imported" not in file_text()
    store = EnvStore(get_paths().env_file, secrets)
    assert store.resolved() == {"CORP_PROJECT": "proj-7", "CORP_API_KEY": "sk-imported"}


def test_import_secret_flag_marks_everything(secrets: SecretStore, tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("PROJECT=p\n")
    assert run("env", "import", str(dotenv), "--secret").code == 0
    assert "p" not in json.loads(file_text())["entries"][0].get("value", "")
    entry = EnvStore(get_paths().env_file).get("PROJECT")
    assert entry is not None and entry.secret


def test_import_unreadable_file(home: Path, tmp_path: Path) -> None:
    result = run("env", "import", str(tmp_path / "absent.env"))
    assert result.code == 1 and "cannot read" in result.err


def test_export_masks_secrets_unless_asked(secrets: SecretStore, tmp_path: Path) -> None:
    run("env", "set", "CORP_PROJECT", "has space")
    run("env", "set", "CORP_LLM_KEY", "sk-exp", "--secret")
    run("env", "set", "OFF", "x")
    run("env", "disable", "OFF")
    masked = tmp_path / "masked.env"
    assert run("env", "export", str(masked)).code == 0
    text = masked.read_text()
    assert 'CORP_PROJECT="has space"' in text
    assert "sk-exp" not in text and "# CORP_LLM_KEY: secret, not exported" in text
    assert "# (disabled) OFF=x" in text
    if os.name != "nt":
        assert stat.S_IMODE(masked.stat().st_mode) == 0o600
    full = tmp_path / "full.env"
    assert run("env", "export", str(full), "--include-secrets").code == 0
    assert "CORP_LLM_KEY=sk-exp" in full.read_text()
    # Round trip into a fresh home: same values, secrets back in the keyring.
    run("env", "unset", "CORP_LLM_KEY")
    run("env", "unset", "CORP_PROJECT")
    assert run("env", "import", str(full)).code == 0
    store = EnvStore(get_paths().env_file, secrets)
    assert store.resolved() == {"CORP_PROJECT": "has space", "CORP_LLM_KEY": "sk-exp"}
    assert run("env", "export", "-").out.count("CORP_PROJECT") == 1
