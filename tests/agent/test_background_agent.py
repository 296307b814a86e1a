"""`start` with no agent running starts one in the background; `stop --agent` ends both."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.agentproc import cli, write_config
from tests.conftest import free_port
from tray_agent.supervisor import proctree

pytestmark = pytest.mark.timeout(400)


def test_start_spawns_background_agent_and_stop_agent_ends_everything(home: Path) -> None:
    write_config(home, free_port())
    r = cli(home, "start", timeout=300)
    assert r.returncode == 0, r.stderr
    assert "running at http://127.0.0.1:" in r.stdout
    r = cli(home, "status", "--json")
    assert r.returncode == 0
    import json

    snap = json.loads(r.stdout)
    agent_pid, sidecar_pid = snap["agent"]["pid"], snap["sidecar"]["pid"]
    assert proctree.is_alive(agent_pid) and proctree.is_alive(sidecar_pid)
    r = cli(home, "start")
    assert r.returncode == 0 and f"(pid {sidecar_pid})" in r.stdout  # already running: no-op
    r = cli(home, "stop", "--agent", timeout=120)
    assert r.returncode == 0, r.stderr
    deadline = time.monotonic() + 20
    while (proctree.is_alive(agent_pid) or proctree.is_alive(sidecar_pid)) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert not proctree.is_alive(agent_pid)
    assert not proctree.is_alive(sidecar_pid)
    assert cli(home, "status").returncode == 3
