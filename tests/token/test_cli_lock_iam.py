# ruff: noqa: S103
"""``token login`` without an agent under ``lock.iam``: the sign-in section comes only from
the admin's managed config, never from the user's config.yaml (real policy files, root-owned)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import yaml

from tests.policy.policy_files import needs_root, policy_dir, write_policy
from tests.standins.iam import StandinIam
from tests.token.conftest import EMPLOYEE, PASSWORD, json_profile
from tray_agent.cli import main
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore

pytestmark = needs_root


def _config(iam_url: str) -> str:
    return yaml.safe_dump(
        {
            "model_list": [
                {
                    "model_name": "internal",
                    "litellm_params": {"model": "hosted_vllm/internal", "api_base": "http://x/v1"},
                }
            ],
            "bridge": {"iam": json_profile(iam_url)},
        }
    )


def test_sign_in_uses_the_managed_iam_not_the_users(
    home: Paths,
    standin: StandinIam,
    secrets: SecretStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    machine = tmp_path / "machine"
    machine.mkdir(mode=0o755)
    os.chmod(machine, 0o755)
    monkeypatch.setenv("LITELLM_BRIDGE_MACHINE_POLICY_DIR", str(machine))
    policy = policy_dir(tmp_path)
    managed = policy / "config.yaml"
    managed.write_text(_config(standin.url))
    os.chmod(managed, 0o644)
    write_policy(policy / "policy.json", {"lock": {"iam": True}, "managed_config": "config.yaml"})
    monkeypatch.setenv("LITELLM_BRIDGE_POLICY_DIR", str(policy))
    # The user's own config.yaml points sign-in somewhere else (nothing listens there).
    home.config_file.write_text(_config("http://127.0.0.1:9"))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = main(["token", "login", "--employee-id", EMPLOYEE, "--password-stdin"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"signed in as {EMPLOYEE}" in out
    assert standin.password_attempts[EMPLOYEE] == 1
    assert secrets.get("token")
