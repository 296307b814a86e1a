"""Crash handling with real child processes: backoff, then a crash loop stops retrying."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.agentproc import write_config
from tests.conftest import free_port
from tray_agent.core.agent import Agent, Settings
from tray_agent.paths import get_paths
from tray_agent.secrets import MemoryStore
from tray_agent.supervisor.policy import CrashPolicy

pytestmark = pytest.mark.timeout(60)


def test_backoff_doubles_and_caps() -> None:
    p = CrashPolicy(max_crashes=10, window=1000, base_delay=1, max_delay=8)
    assert [p.record(float(i)) for i in range(6)] == [1, 2, 4, 8, 8, 8]


def test_crashes_outside_the_window_are_forgotten() -> None:
    p = CrashPolicy(max_crashes=3, window=10)
    assert p.record(0) == 1 and p.record(1) == 2
    assert p.record(100) == 1


def test_crash_loop_stops_retrying_and_reports_last_output(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crasher = f"{sys.executable} -c \"import sys; print('boom: cannot start'); sys.exit(3)\""
    monkeypatch.setenv("LITELLM_BRIDGE_SIDECAR_CMD", crasher)
    write_config(home, free_port())
    paths = get_paths()
    paths.ensure()
    agent = Agent(
        paths,
        MemoryStore(),
        settings=Settings(ready_timeout=20),
        policy=CrashPolicy(max_crashes=5, window=120, base_delay=0.05, max_delay=0.2),
    )
    agent.start_thread()
    try:
        agent.call("start")
        deadline = time.monotonic() + 30
        while agent.snapshot()["sidecar"]["state"] != "error" and time.monotonic() < deadline:
            time.sleep(0.05)
        sc = agent.snapshot()["sidecar"]
        assert sc["state"] == "error"
        assert "crash loop" in sc["error"] and "boom: cannot start" in sc["error"]
        assert sc["restarts"] == 4
        gen = sc["generation"]
        time.sleep(1.0)  # five times the policy's longest delay: a restart would show
        assert agent.snapshot()["sidecar"]["generation"] == gen, "restarted after giving up"
    finally:
        agent.shutdown()
