"""A real agent picks policy changes up within seconds; ``policy show`` and doctor explain."""

# Policy files must be world-readable, and some tests make them writable on purpose.
# ruff: noqa: S103

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.agentproc import AgentProc, cli, env_for, write_config
from tests.conftest import free_port
from tests.policy.policy_files import needs_root, policy_dir, write_policy

pytestmark = needs_root


def _env(home: Path, d: Path) -> dict[str, str]:
    return env_for(home, LITELLM_BRIDGE_POLICY_DIR=str(d), LITELLM_BRIDGE_SECRET_STORE="memory")


def test_a_change_applies_within_seconds_and_a_refusal_keeps_the_last_good(
    home: Path, tmp_path: Path
) -> None:
    d = policy_dir(tmp_path)
    f = write_policy(d / "policy.json", {"limits": {"rpm": 10}, "lock": {"env": ["CORP"]}})
    write_config(home, free_port())
    agent = AgentProc(home, _env(home, d), start_sidecar=False)
    try:
        first = agent.wait_for(
            lambda s: (s.get("policy") or {}).get("state") == "policy", 60, "policy read"
        )["policy"]
        assert first["source"] == [str(f)] and first["locked"]["env"] == ["CORP"]
        assert first["valid"] is True and first["error"] is None

        started = time.monotonic()
        write_policy(f, {"limits": {"rpm": 20}, "lock": {"clients": True}})
        changed = agent.wait_for(
            lambda s: s["policy"]["locked"]["clients"] is True, 30, "the new policy"
        )["policy"]
        assert time.monotonic() - started < 10
        assert changed["effective"]["limits"]["rpm"] == 20

        os.chmod(f, 0o666)  # content unchanged: only who may write it
        refused = agent.wait_for(lambda s: s["policy"]["refused"] is not None, 30, "the refusal")[
            "policy"
        ]
        assert refused["state"] == "last_good" and refused["reason"] == "writable"
        assert refused["effective"]["limits"]["rpm"] == 20 and refused["locked"]["clients"]

        shown = cli(home, "policy", "show", "--json", env=_env(home, d))
        assert shown.returncode == 0, shown.stderr
        view = json.loads(shown.stdout)
        assert view["from"] == "agent" and view["reason"] == "writable"
        text = cli(home, "policy", "show", env=_env(home, d)).stdout
        assert "refused:" in text and "0666" in text and "last good" in text

        doctor = cli(home, "doctor", "--json", env=_env(home, d))
        check = next(c for c in json.loads(doctor.stdout)["checks"] if c["id"] == "policy")
        assert check["status"] == "fail" and "chmod" in check["fix"]
    finally:
        agent.stop()


def test_show_without_an_agent_reads_the_files(home: Path, tmp_path: Path) -> None:
    d = policy_dir(tmp_path)
    f = write_policy(d / "policy.json", {"limits": {"rpm": 10}})
    drop = write_policy(d / "policy.d" / "10.json", {"quota": {"tokens_per_day": 1000}})
    r = cli(home, "policy", "show", env=_env(home, d))
    assert r.returncode == 0, r.stderr
    assert f"limits.rpm = 10  ({f})" in r.stdout
    assert f"quota.tokens_per_day = 1000  ({drop})" in r.stdout
    assert "no usage recorded" in r.stdout
    view = json.loads(cli(home, "policy", "show", "--json", env=_env(home, d)).stdout)
    assert view["from"] == "files" and view["origins"]["limits.rpm"] == str(f)
    doctor = cli(home, "doctor", "--json", env=_env(home, d))
    check = next(c for c in json.loads(doctor.stdout)["checks"] if c["id"] == "policy")
    assert check["status"] == "pass" and str(f) in check["detail"]
    write_policy(f, '{"limits": {"rpm": 10,,}}')
    doctor = cli(home, "doctor", "--json", env=_env(home, d))
    check = next(c for c in json.loads(doctor.stdout)["checks"] if c["id"] == "policy")
    assert check["status"] == "fail" and "1:23" in check["detail"]
    assert "no good policy was ever seen" in check["detail"]
