"""Quota usage survives a ``kill -9`` of the agent: a real agent and sidecar serve requests,
the count reaches status and ``usage.json`` within seconds, the agent is killed, and the next
agent on the same home starts from that count."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agentproc import AgentProc, cli, write_config
from tests.conftest import free_port
from tray_agent.policy.usage import SAVE_INTERVAL
from tray_agent.supervisor import proctree

pytestmark = pytest.mark.timeout(420)


def _usage(status: dict[str, Any]) -> dict[str, Any]:
    return (status.get("policy") or {}).get("usage") or {}


def _chat(agent: AgentProc, url: str) -> None:
    key = cli(agent.home, "key", env=agent.env).stdout.strip()
    r = httpx.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )
    assert r.status_code == 200, r.text


def _saved_requests(home: Path) -> int:
    try:
        data = json.loads((home / "data" / "usage.json").read_text())
    except (OSError, ValueError):
        return -1
    return int(data["employees"]["unknown"]["requests_today"])


def test_usage_survives_a_kill_9_of_the_agent(home: Path) -> None:
    write_config(home, free_port())
    first = AgentProc(home)
    try:
        url = first.wait_running()["sidecar"]["url"]
        for _ in range(3):
            _chat(first, url)
        shown = first.wait_for(
            lambda s: _usage(s).get("requests_today") == 3, timeout=30, what="3 requests counted"
        )
        assert _usage(shown)["period"]["timezone"] == "UTC"  # no policy: UTC days
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

    second = AgentProc(home)
    try:
        status = second.wait_for(lambda s: bool(_usage(s)), timeout=60, what="usage in status")
        assert _usage(status)["requests_today"] == 3  # before any new request
        url = second.wait_running()["sidecar"]["url"]
        _chat(second, url)
        second.wait_for(
            lambda s: _usage(s).get("requests_today") == 4, timeout=30, what="the 4th request"
        )
    finally:
        second.stop()
    assert _saved_requests(home) == 4  # a clean stop saves at once
