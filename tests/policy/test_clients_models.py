"""``clients setup --model`` never sets up a tool with a model the policy denies (real CLI)."""

from __future__ import annotations

from pathlib import Path

from tests.agentproc import cli, env_for, write_config
from tests.helpers.keyring import require_keyring
from tests.policy.policy_files import needs_root, policy_dir, write_policy
from tray_agent.core.agent import master_key
from tray_agent.paths import get_paths
from tray_agent.secrets import open_secret_store

pytestmark = needs_root


def test_a_denied_default_model_is_refused_and_an_allowed_one_is_set_up(
    home: Path, tmp_path: Path
) -> None:
    store = require_keyring(open_secret_store(get_paths(env_for(home)).keyring_namespace))
    master_key(store)  # what a first start creates: the key the setup writes
    policy = tmp_path / "policy" / "policy.json"
    policy_dir(policy.parent.parent, policy.parent.name)
    write_policy(policy, {"models": {"allow": ["corp-*"], "deny": ["corp-experimental"]}})
    write_config(home, 4998)
    env = env_for(home, LITELLM_BRIDGE_POLICY_DIR=str(policy.parent))
    for denied in ("corp-experimental", "other-model"):
        r = cli(home, "clients", "setup", "aider", "--model", denied, "--dry-run", env=env)
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert f"model {denied!r} is not allowed by your organization's policy" in r.stderr
        assert str(policy) in r.stderr and denied not in r.stdout
    r = cli(home, "clients", "setup", "aider", "--model", "corp-llm", "--dry-run", env=env)
    assert r.returncode == 0, r.stderr
    assert "corp-llm" in r.stdout
