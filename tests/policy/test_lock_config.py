"""The managed config.yaml: restored over a foreign edit (by prepare and by a running agent),
and locked ``bridge.iam`` / ``bridge.fast_path`` taken from the managed config."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agentproc import AgentProc, cli, env_for, write_config
from tests.policy.policy_files import needs_root, policy_dir, write_policy
from tray_agent.config.issues import ConfigInvalid
from tray_agent.config.prepare import prepare
from tray_agent.envstore import EnvStore
from tray_agent.paths import Paths
from tray_agent.policy.load import evaluate
from tray_agent.policy.lock import EXIT_LOCKED
from tray_agent.policy.managed import RESTORED
from tray_agent.secrets import MemoryStore
from tray_agent.wire import FAST_PATH_ENV

pytestmark = needs_root

IAM = {
    "kind": "json",
    "url": "http://127.0.0.1:9/json/login",
    "body": {"credentials": {"employee_id": "{employee_id}", "password": "{password}"}},
    "token_path": "data.session.jwt",
    "expires_at_path": "data.session.valid_until",
}


def managed_policy(
    base: Path, locks: dict[str, Any], bridge: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    """A root-owned policy directory with ``policy.json`` and its managed ``config.yaml``."""
    d = policy_dir(base)
    cfg = {
        "model_list": [
            {
                "model_name": "managed-chat",
                "litellm_params": {"model": "openai/managed-chat", "mock_response": "managed"},
            }
        ],
        "bridge": {"port": 4321, **(bridge or {})},
    }
    managed = write_policy(d / "config.yaml", yaml.safe_dump(cfg, sort_keys=False))
    policy = write_policy(d / "policy.json", {"lock": locks, "managed_config": "config.yaml"})
    return policy, managed


@pytest.fixture
def policy_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LITELLM_BRIDGE_POLICY_DIR", str(tmp_path / "policy"))
    return tmp_path


def test_prepare_restores_a_differing_config_and_says_so(paths: Paths, policy_env: Path) -> None:
    _policy, managed = managed_policy(policy_env, {"config": True})
    write_config(paths.config_file.parent.parent, 4000)  # the user's own
    prepared = prepare(paths, MemoryStore())
    assert paths.config_file.read_bytes() == managed.read_bytes()
    assert prepared.model_names == ["managed-chat"] and prepared.port == 4321
    notes = [w.message for w in prepared.warnings]
    assert any(m.startswith(RESTORED) for m in notes), notes
    again = prepare(paths, MemoryStore())  # the same file now: nothing to announce
    assert not any(w.message.startswith(RESTORED) for w in again.warnings)


def test_a_managed_copy_a_user_could_write_is_refused(paths: Paths, policy_env: Path) -> None:
    _policy, managed = managed_policy(policy_env, {"config": True})
    managed.chmod(0o666)
    user = write_config(paths.config_file.parent.parent, 4000)
    before = user.read_bytes()
    with pytest.raises(ConfigInvalid) as info:
        prepare(paths, MemoryStore())
    assert "managed config" in info.value.issues[0].message
    assert user.read_bytes() == before  # not restored from an untrusted copy, not applied


def test_locked_iam_and_fast_path_come_from_the_managed_config(
    paths: Paths, policy_env: Path
) -> None:
    managed_policy(policy_env, {"iam": True, "fast_path": True}, bridge={"fast_path": True})
    write_config(paths.config_file.parent.parent, 4000, bridge={"iam": IAM, "fast_path": False})
    prepared = prepare(paths, MemoryStore())
    assert prepared.iam is None  # the managed config has no sign-in: the user's is ignored
    assert prepared.bridge.iam is None and prepared.bridge.fast_path is True
    assert prepared.env[FAST_PATH_ENV] == "on"
    notes = " ".join(w.message for w in prepared.warnings)
    assert "bridge.iam in config.yaml is ignored" in notes
    assert "bridge.fast_path in config.yaml is ignored" in notes
    assert prepared.port == 4000  # everything else is still the user's config


def test_unlocked_bridge_keys_stay_the_users(paths: Paths, policy_env: Path) -> None:
    managed_policy(policy_env, {"env": ["X"]})
    write_config(paths.config_file.parent.parent, 4000, bridge={"iam": IAM, "fast_path": False})
    prepared = prepare(paths, MemoryStore())
    assert prepared.iam is not None
    assert prepared.env[FAST_PATH_ENV] == "off"
    assert prepared.warnings == []


@pytest.mark.timeout(150)
def test_a_running_agent_restores_a_foreign_edit(home: Path, tmp_path: Path) -> None:
    _policy, managed = managed_policy(tmp_path, {"config": True})
    config = write_config(home, 4000)  # differs already when the agent starts
    env = env_for(
        home,
        LITELLM_BRIDGE_POLICY_DIR=str(tmp_path / "policy"),
        LITELLM_BRIDGE_SECRET_STORE="memory",
    )
    agent = AgentProc(home, env, start_sidecar=False)
    try:
        agent.wait_for(lambda s: s["config"]["valid"] is True, 60, "the first preparation")
        assert config.read_bytes() == managed.read_bytes(), "not restored at agent start"
        time.sleep(1)
        config.write_text(config.read_text().replace("managed-chat", "foreign-chat"))
        status = agent.wait_for(
            lambda s: config.read_bytes() == managed.read_bytes(), 60, "the restore"
        )
        assert status["policy"]["locked"]["config"] is True
        assert status["config"]["valid"] is True
    finally:
        agent.stop()


def test_a_policy_env_value_beats_the_users_entry_and_a_hand_edit(
    paths: Paths, policy_env: Path
) -> None:
    d = policy_dir(policy_env)
    write_policy(d / "policy.json", {"env": {"CORP_PROJECT": "apollo"}})
    write_config(paths.config_file.parent.parent, 4000)
    secrets = MemoryStore()
    store = EnvStore(paths.env_file, secrets)
    store.set("CORP_PROJECT", "mine", secret=False)
    prepared = prepare(paths, secrets)
    assert prepared.env["CORP_PROJECT"] == "apollo"
    notes = [w.message for w in prepared.warnings]
    assert any("CORP_PROJECT is managed by your organization" in m for m in notes), notes
    # A hand edit of env.json (disable it, change it) changes nothing the sidecar gets.
    doc = json.loads(paths.env_file.read_text())
    for entry in doc["entries"]:
        entry["enabled"] = False
        entry["value"] = "edited"
    paths.env_file.write_text(json.dumps(doc))
    assert prepare(paths, secrets).env["CORP_PROJECT"] == "apollo"
    # The product refuses to change it at all: the name is locked by having a policy value.
    env = env_for(
        paths.config_file.parent.parent,
        LITELLM_BRIDGE_POLICY_DIR=str(d),
        LITELLM_BRIDGE_SECRET_STORE="memory",
    )
    result = cli(paths.config_file.parent.parent, "env", "set", "CORP_PROJECT", "other", env=env)
    assert result.returncode == EXIT_LOCKED, result.stderr
    assert "CORP_PROJECT is managed by your organization" in result.stderr


def test_a_config_lock_without_a_managed_copy_is_an_invalid_policy(
    paths: Paths, policy_env: Path
) -> None:
    # There would be nothing to hold config.yaml to: a hand edit would simply be applied.
    d = policy_dir(policy_env)
    write_policy(d / "policy.json", {"lock": {"config": True}})
    eff = evaluate({"LITELLM_BRIDGE_POLICY_DIR": str(d)})
    assert eff.state == "locked_down" and eff.error is not None
    assert "lock.config needs managed_config" in str(eff.error)


def test_a_config_swapped_in_after_the_restore_is_not_what_gets_served(
    paths: Paths, policy_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race a user can run with inotify: restore config.yaml, then rename their own file
    # in before prepare reads it. Prepare uses the managed copy's bytes, never a re-read.
    from tray_agent.policy import managed as managed_mod

    managed_policy(policy_env, {"config": True})
    user = write_config(paths.config_file.parent.parent, 4000)
    real = managed_mod.enforce

    def enforce_then_swap(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        user.write_text(user.read_text().replace("managed-chat", "evil-chat"))
        return found

    monkeypatch.setattr(managed_mod, "enforce", enforce_then_swap)
    prepared = prepare(paths, MemoryStore())
    assert "evil-chat" in user.read_text()  # the swap happened
    assert prepared.model_names == ["managed-chat"] and "evil-chat" not in prepared.effective_yaml
