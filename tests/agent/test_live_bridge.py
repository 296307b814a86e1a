"""Every ``bridge:`` key takes effect on save: the IAM profile and notify_before reach the
token refresher without a sidecar swap; keys the sidecar is started with cause one."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agentproc import AgentProc, cli, token_login
from tests.helpers.live_bridge import PASSWORD, json_iam, live_agent
from tests.standins.iam import StandinIam

pytestmark = pytest.mark.timeout(400)


def _profile(iam: StandinIam) -> dict[str, Any]:
    return json_iam(iam, timeout=5)


@pytest.fixture(scope="module")
def iams() -> Iterator[tuple[StandinIam, StandinIam]]:
    with StandinIam(ttl=600) as a, StandinIam(ttl=600) as b:
        yield a, b


@pytest.fixture(scope="module")
def agent(
    tmp_path_factory: pytest.TempPathFactory, iams: tuple[StandinIam, StandinIam]
) -> Iterator[AgentProc]:
    bridge = {"iam": _profile(iams[0]), "notify_before": 60}
    with live_agent(tmp_path_factory.mktemp("live-bridge-home"), bridge=bridge, env_values={}) as a:
        yield a


def _cfg(agent: AgentProc) -> Path:
    return agent.config_file


def _changes(agent: AgentProc) -> int:
    return (agent.home / "logs" / "agent.log").read_text().count("config.changed")


def _edit_bridge(agent: AgentProc, **bridge: Any) -> None:
    """Save config.yaml with ``bridge`` keys changed, then wait until the agent took it."""
    before = _changes(agent)
    data = yaml.safe_load(_cfg(agent).read_text())
    data["bridge"].update(bridge)
    tmp = _cfg(agent).with_suffix(".swp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False))
    tmp.replace(_cfg(agent))
    # The agent logs config.changed once it has taken the edit; an agent that ignores the
    # edit is caught by the caller's own checks after this wait.
    deadline = time.monotonic() + 10
    while _changes(agent) == before and time.monotonic() < deadline:
        time.sleep(0.2)


def _token_status(agent: AgentProc) -> dict[str, Any]:
    r = cli(agent.home, "token", "status", "--json", env=agent.env)
    assert r.returncode == 0, r.stderr
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def test_changed_iam_url_is_used_by_the_next_refresh_without_a_swap(
    agent: AgentProc, iams: tuple[StandinIam, StandinIam]
) -> None:
    a, b = iams
    r = token_login(agent.home, agent.env, PASSWORD + "\n", "--remember")
    assert r.returncode == 0, r.stderr + r.stdout
    assert a.calls["/json/login"] == 1 and b.calls["/json/login"] == 0
    before = agent.status()
    assert before is not None
    _edit_bridge(agent, iam=_profile(b))
    r = cli(agent.home, "token", "refresh", env=agent.env)
    assert r.returncode == 0, r.stderr + r.stdout
    assert b.calls["/json/login"] == 1, "the refresh did not go to the IAM now configured"
    assert a.calls["/json/login"] == 1
    assert _token_status(agent)["state"] == "valid"
    s = agent.status()
    assert s is not None and s["config"]["valid"] is True
    # Only the token refresher uses bridge.iam: the serving sidecar stays as it is.
    assert s["sidecar"]["pid"] == before["sidecar"]["pid"]
    assert s["sidecar"]["generation"] == before["sidecar"]["generation"]


def test_changed_notify_before_shows_in_token_status_and_status(
    agent: AgentProc, iams: tuple[StandinIam, StandinIam]
) -> None:
    assert cli(agent.home, "token", "logout", env=agent.env).returncode == 0
    # Without a remembered password the token cannot be renewed silently, so it is
    # "expiring" once it is within notify_before of its expiry (600 s here).
    r = token_login(agent.home, agent.env, PASSWORD + "\n")
    assert r.returncode == 0, r.stderr + r.stdout
    assert _token_status(agent)["state"] == "valid"
    gen = agent.status()["sidecar"]["generation"]  # type: ignore[index]
    _edit_bridge(agent, notify_before=3600)
    s = agent.wait_for(
        lambda s: s["token"]["state"] == "expiring", timeout=20, what="token expiring"
    )
    assert _token_status(agent)["state"] == "expiring"
    assert s["sidecar"]["generation"] == gen
    human = cli(agent.home, "status", env=agent.env).stdout
    assert "token    expiring" in human


def test_changed_sidecar_limit_starts_a_new_sidecar(agent: AgentProc) -> None:
    before = agent.status()
    assert before is not None
    _edit_bridge(agent, sidecar={"max_start_memory_mb": 3000})
    s = agent.wait_for(
        lambda s: (
            s["sidecar"]["generation"] > before["sidecar"]["generation"]
            and s["sidecar"]["state"] == "running"
            and s["sidecar"]["pending"] is None
        ),
        timeout=150,
        what="a swap for the new limit",
    )
    assert s["sidecar"]["pid"] != before["sidecar"]["pid"]
    assert s["config"]["apply_error"] is None
