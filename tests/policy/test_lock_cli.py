"""Every admin-lock refusal of the CLI, through real ``litellm-bridge`` processes.

The policy lives in a root-owned directory named by ``LITELLM_BRIDGE_POLICY_DIR`` (no agent
runs, so the commands read the policy files themselves). A refusal exits with
``EXIT_LOCKED`` and says "managed by your organization (<policy file>)"; nothing changes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import cli, env_for, write_config
from tests.policy.policy_files import needs_root, policy_dir, write_policy
from tray_agent.policy.lock import EXIT_LOCKED

pytestmark = needs_root


class Bridge:
    def __init__(self, home: Path, policy: Path) -> None:
        self.home = home
        self.policy = policy
        self.env = env_for(
            home, LITELLM_BRIDGE_POLICY_DIR=str(policy.parent), LITELLM_BRIDGE_SECRET_STORE="memory"
        )

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return cli(self.home, *args, env=self.env, stdin=stdin, timeout=60)

    def refused(self, *args: str, stdin: str | None = None) -> str:
        r = self.run(*args, stdin=stdin)
        assert r.returncode == EXIT_LOCKED, (args, r.returncode, r.stdout, r.stderr)
        assert f"managed by your organization ({self.policy})" in r.stderr, r.stderr
        return r.stderr


@pytest.fixture
def bridge(home: Path, tmp_path: Path) -> Bridge:
    return Bridge(home, tmp_path / "policy" / "policy.json")


def lock(bridge: Bridge, **locks: Any) -> None:
    d = policy_dir(bridge.policy.parent.parent, bridge.policy.parent.name)
    doc: dict[str, Any] = {"lock": locks}
    if locks.get("config"):
        write_policy(d / "config.yaml", (bridge.home / "config" / "config.yaml").read_bytes())
        doc["managed_config"] = "config.yaml"
    write_policy(bridge.policy, doc)


def test_init_and_config_edit_refused_when_config_locked(bridge: Bridge) -> None:
    config = write_config(bridge.home, 4999)
    lock(bridge, config=True)  # the managed copy is this config.yaml
    before = config.read_bytes()
    err = bridge.refused("init", "--template", "demo", "--force", "--non-interactive")
    assert "config.yaml is managed" in err
    bridge.refused("config", "edit")
    assert config.read_bytes() == before


def test_init_works_without_a_lock(bridge: Bridge) -> None:
    lock(bridge, env=["OTHER"])  # a policy that leaves config.yaml to the user
    r = bridge.run("init", "--template", "demo", "--non-interactive")
    assert r.returncode == 0, r.stderr
    assert (bridge.home / "config" / "config.yaml").is_file()


def test_locked_env_names_refused_others_allowed(bridge: Bridge) -> None:
    assert bridge.run("env", "set", "CORP_PROJECT", "mine").returncode == 0  # before the lock
    lock(bridge, env=["CORP_PROJECT"])
    for args in (
        ("env", "set", "CORP_PROJECT", "other"),
        ("env", "unset", "CORP_PROJECT"),
        ("env", "disable", "CORP_PROJECT"),
        ("env", "enable", "CORP_PROJECT"),
    ):
        assert "env entry CORP_PROJECT is managed" in bridge.refused(*args)
    dotenv = bridge.home / "import.env"
    dotenv.write_text("FREE_ONE=1\nCORP_PROJECT=sneaky\n")
    bridge.refused("env", "import", str(dotenv))
    # All or nothing: the unlocked name of that file was not imported either.
    listed = bridge.run("env", "list").stdout
    assert "FREE_ONE" not in listed
    assert "CORP_PROJECT" in listed and "mine" in listed and "enabled" in listed
    r = bridge.run("env", "set", "FREE_ONE", "1")
    assert r.returncode == 0, r.stderr


def test_env_true_locks_every_name(bridge: Bridge) -> None:
    lock(bridge, env=True)
    bridge.refused("env", "set", "ANYTHING", "x")
    assert bridge.run("env", "list").returncode == 0  # reading stays allowed


def test_clients_setup_and_restore_refused(bridge: Bridge) -> None:
    lock(bridge, clients=True)
    write_config(bridge.home, 4998)
    assert "setting up coding tools is managed" in bridge.refused("clients", "setup", "aider")
    bridge.refused("clients", "restore", "aider")
    assert bridge.run("clients", "list", "--json").returncode == 0


def test_invalid_policy_locks_everything(bridge: Bridge) -> None:
    """No valid policy ever seen: the locked parts stay locked ("organization policy invalid")."""
    policy_dir(bridge.policy.parent.parent, bridge.policy.parent.name)
    write_policy(bridge.policy, '{"lock": {"config": "yes"}}')
    bridge.refused("init", "--template", "demo", "--non-interactive")
    bridge.refused("env", "set", "X", "1")
    bridge.refused("clients", "setup", "aider")


def test_a_policy_the_user_could_write_unlocks_nothing(bridge: Bridge) -> None:
    lock(bridge, env=["CORP_PROJECT"])
    bridge.policy.chmod(0o666)  # world-writable: refused, and with no last good one locked down
    r = bridge.run("env", "set", "UNRELATED", "1")
    assert r.returncode == EXIT_LOCKED, r.stderr
    assert json.loads(bridge.run("clients", "list", "--json").stdout) is not None
