"""A stored entry no process can hold is left out of the sidecar's environment and named."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pytest

from tests.agentproc import AgentProc, write_config
from tests.conftest import free_port
from tests.helpers.keyring import require_keyring
from tray_agent.config.issues import ConfigInvalid
from tray_agent.config.prepare import prepare
from tray_agent.envstore import EnvStore, secret_key
from tray_agent.paths import Paths
from tray_agent.secrets import MemoryStore, open_secret_store

BAD_ENTRIES = [
    {"name": "GOOD", "value": "fine"},
    {"name": "BAD_NUL", "value": "a\u0000b"},  # from an old version or a hand edit
    {"name": "BAD=NAME", "value": "x"},
    {"name": "BAD_SURROGATE", "value": "\ud800"},
]


def write_env(paths: Paths, entries: Sequence[Mapping[str, object]]) -> None:
    paths.env_file.write_text(json.dumps({"version": 1, "revision": 1, "entries": entries}))


def referencing(name: str) -> list[dict[str, object]]:
    params = {"model": "openai/x", "api_key": f"os.environ/{name}", "mock_response": "hi"}
    return [{"model_name": "uses-it", "litellm_params": params}]


def test_bad_stored_entries_are_left_out_and_named(paths: Paths) -> None:
    write_config(paths.config_dir.parent, free_port())
    write_env(paths, BAD_ENTRIES)
    prepared = prepare(paths, MemoryStore())
    assert prepared.env.get("GOOD") == "fine"
    assert not {"BAD_NUL", "BAD=NAME", "BAD_SURROGATE"} & set(prepared.env)
    named = {w.message.split()[2]: w for w in prepared.warnings}
    assert set(named) == {"BAD_NUL", "BAD=NAME", "BAD_SURROGATE"}
    assert "NUL byte" in named["BAD_NUL"].message
    assert named["BAD_NUL"].file == str(paths.env_file)
    assert named["BAD_NUL"].hint is not None
    assert "litellm-bridge env set BAD_NUL" in named["BAD_NUL"].hint


def test_a_config_referencing_a_bad_entry_is_invalid_with_the_fix(paths: Paths) -> None:
    config = write_config(paths.config_dir.parent, free_port(), referencing("BAD_NUL"))
    write_env(paths, BAD_ENTRIES)
    with pytest.raises(ConfigInvalid) as info:
        prepare(paths, MemoryStore())
    (issue,) = info.value.issues
    assert issue.file == str(config) and issue.line is not None and issue.column is not None
    assert "env entry BAD_NUL (referenced here) cannot be given to the sidecar" in issue.message
    assert "NUL byte" in issue.message
    assert issue.hint == "set it again: litellm-bridge env set BAD_NUL"


def test_a_secret_with_a_nul_in_the_keyring_is_left_out(paths: Paths) -> None:
    secrets = require_keyring(open_secret_store(paths.keyring_namespace))
    write_config(paths.config_dir.parent, free_port())
    EnvStore(paths.env_file, secrets).set("CORP_LLM_KEY", "good", secret=True)
    secrets.set(secret_key("CORP_LLM_KEY"), "bad\0value")  # e.g. written by another tool
    prepared = prepare(paths, secrets)
    assert "CORP_LLM_KEY" not in prepared.env
    (warning,) = prepared.warnings
    assert "env entry CORP_LLM_KEY was left out" in warning.message
    assert warning.hint is not None and "env set CORP_LLM_KEY --secret" in warning.hint
    assert "bad\0value" in prepared.secret_values, "still redacted from logs"
    assert "bad\0" not in warning.message + warning.hint


def test_the_sidecar_starts_without_a_bad_stored_entry(paths: Paths) -> None:
    home = paths.config_dir.parent
    write_config(home, free_port())
    write_env(paths, BAD_ENTRIES)
    agent = AgentProc(home)
    try:
        status = agent.wait_running(timeout=180)
        assert status["config"]["valid"], status
    finally:
        agent.stop()
