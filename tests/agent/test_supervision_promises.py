"""README promises of supervision, with real processes: a stop that times out kills the whole
process tree, and the crash policy in force is the shipped one (1-30 s backoff, stop after 5
crashes in 2 minutes)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.agentproc import ROOT, env_for, write_config
from tests.conftest import free_port
from tray_agent.core.agent import Agent, Settings
from tray_agent.paths import Paths
from tray_agent.secrets import MemoryStore
from tray_agent.supervisor import proctree

pytestmark = pytest.mark.timeout(90)

STUBBORN = ROOT / "tests" / "helpers" / "stubborn_sidecar.py"


def _pids(pidfile: Path, timeout: float = 20) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while not pidfile.exists():
        assert time.monotonic() < deadline, "the stand-in sidecar never wrote its pids"
        time.sleep(0.05)
    own, child = pidfile.read_text().split()
    return int(own), int(child)


def _gone(*pids: int, timeout: float) -> list[int]:
    """The pids still alive after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if proctree.is_alive(p)]
        time.sleep(0.05)
    return alive


@pytest.mark.parametrize("how", ["stop", "shutdown"])
def test_a_stop_that_times_out_kills_the_whole_process_tree(
    paths: Paths, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str
) -> None:
    pidfile = tmp_path / "pids"
    cmd = shlex.join([sys.executable, str(STUBBORN), str(pidfile)])
    monkeypatch.setenv("LITELLM_BRIDGE_SIDECAR_CMD", cmd)
    write_config(paths.config_dir.parent, free_port())
    stop_timeout = 1.0
    agent = Agent(paths, MemoryStore(), settings=Settings(stop_timeout=stop_timeout))
    agent.start_thread()
    own = child = 0
    try:
        assert agent.call("start").result(30)["state"] == "running"
        own, child = _pids(pidfile)
        assert proctree.is_alive(own) and proctree.is_alive(child)
        if how == "stop":
            assert agent.call("stop").result(30)["state"] == "stopped"
        else:
            agent.shutdown()
        # The drain is ignored, then TERM is: only the kill after the timeout ends them.
        still = _gone(own, child, timeout=stop_timeout + 10)
        assert not still, f"{still} outlived the {how} (sidecar {own}, its child {child})"
    finally:
        if how == "stop":
            agent.shutdown()
        for pid in (own, child):
            if pid and proctree.is_alive(pid):
                proctree.signal_tree(pid, hard=True)


PROBE = """
import json
from tray_agent.paths import get_paths
from tray_agent.runtime import Runtime

rt = Runtime(get_paths(), console_log=False)
p = rt.agent.policy
out = {"max_crashes": p.max_crashes, "window": p.window, "max_delay": p.max_delay,
       "burst": [p.record(float(t)) for t in range(6)]}
p.reset()
# Crashes 50 s apart: never 5 within the window, so restarts go on.
out["spread"] = [p.record(50.0 * t) for t in range(8)]
print(json.dumps(out))
"""


def test_the_shipped_crash_policy_is_the_one_the_agent_runs_with(home: Path) -> None:
    """Asks the policy object of the agent the ``run`` command builds, not the defaults."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    policy = json.loads(done.stdout)
    assert policy["max_crashes"] == 5 and policy["window"] == 120
    assert policy["max_delay"] == 30
    # 1, 2, 4, 8 s, then the fifth crash within two minutes stops the retries.
    assert policy["burst"] == [1, 2, 4, 8, None, None]
    assert policy["spread"][:2] == [1, 2] and None not in policy["spread"]
    assert max(d for d in policy["spread"] if d is not None) <= 30
