"""Quota crossing with a ``kill -9`` of the agent in between: a real agent and sidecar under a
real (root-owned) policy serve requests, the count reaches status and ``usage.json`` within
seconds, the agent is killed, and the next agent on the same home starts from that count and
refuses the request past the quota."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agentproc import AgentProc, cli, env_for, write_config
from tests.conftest import free_port
from tests.policy.policy_files import needs_root, policy_dir, write_policy
from tray_agent.policy.usage import SAVE_INTERVAL
from tray_agent.supervisor import proctree

pytestmark = [needs_root, pytest.mark.timeout(420)]

QUOTA = {"requests_per_day": 5, "timezone": "Europe/Berlin"}


def _usage(status: dict[str, Any]) -> dict[str, Any]:
    return (status.get("policy") or {}).get("usage") or {}


def _chat(agent: AgentProc, url: str) -> httpx.Response:
    key = cli(agent.home, "key", env=agent.env).stdout.strip()
    return httpx.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )


def _saved_requests(home: Path) -> int:
    try:
        data = json.loads((home / "data" / "usage.json").read_text())
    except (OSError, ValueError):
        return -1
    return int(data["employees"]["unknown"]["requests_today"])


def _requests_seen(agent: AgentProc) -> int:
    r = cli(agent.home, "metrics", "--json", env=agent.env)
    return int(json.loads(r.stdout)["total_requests"]) if r.returncode == 0 else -1


def test_the_quota_is_crossed_across_a_kill_9_of_the_agent(home: Path, tmp_path: Path) -> None:
    d = policy_dir(tmp_path)
    write_policy(d / "policy.json", {"quota": QUOTA})
    env = env_for(home, LITELLM_BRIDGE_POLICY_DIR=str(d), LITELLM_BRIDGE_SECRET_STORE="memory")
    write_config(home, free_port())

    first = AgentProc(home, env)
    try:
        url = first.wait_running()["sidecar"]["url"]
        for _ in range(3):
            r = _chat(first, url)
            assert r.status_code == 200, r.text
        shown = first.wait_for(
            lambda s: _usage(s).get("requests_today") == 3, timeout=30, what="3 requests counted"
        )
        usage = _usage(shown)
        assert usage["quota"]["requests_per_day"] == 5
        assert usage["period"]["timezone"] == "Europe/Berlin"
        counted_at = time.monotonic()
        while _saved_requests(home) != 3:
            assert time.monotonic() - counted_at < SAVE_INTERVAL + 3, "usage.json never caught up"
            time.sleep(0.1)
        sidecar = shown["sidecar"]["pid"]
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
    finally:
        first.stop()
    deadline = time.monotonic() + 20
    while proctree.is_alive(sidecar) and time.monotonic() < deadline:
        time.sleep(0.1)  # the orphaned sidecar lets go of the port

    second = AgentProc(home, env)
    try:
        status = second.wait_for(lambda s: bool(_usage(s)), timeout=60, what="usage in status")
        assert _usage(status)["requests_today"] == 3  # before any new request
        url = second.wait_running()["sidecar"]["url"]
        for _ in range(2):
            r = _chat(second, url)
            assert r.status_code == 200, r.text
        over = _chat(second, url)
        assert over.status_code == 429, over.text
        assert "daily request quota" in over.text and "resets" in over.text
        assert int(over.headers["retry-after"]) >= 1
        # The refusal reached the agent (metrics saw all three) and did not count.
        second.wait_for(lambda s: _requests_seen(second) == 3, timeout=30, what="3 events")
        final = second.wait_for(
            lambda s: _usage(s).get("requests_today") == 5, timeout=30, what="5 requests"
        )
        assert _usage(final)["requests_today"] == 5
    finally:
        second.stop()
    assert _saved_requests(home) == 5  # a clean stop saves at once
