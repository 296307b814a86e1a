"""The agent restarts into a successor (a new version) while clients keep calling the proxy:
no request fails, nothing counted is lost, and a successor that cannot serve (or is killed
mid-switch) leaves the running agent serving.

Real agents from source (the successor is this code again: the hand-over is the same
whatever version it runs), the real keyring, a real LiteLLM sidecar each."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import pytest

from tests.agentproc import AgentProc, cli
from tests.helpers.keyring import require_keyring
from tests.helpers.live_bridge import corp_model, live_agent, oauth_iam, proxy_key
from tests.helpers.load import Load
from tests.standins.iam import StandinIam
from tests.standins.llm import StandInLLM
from tray_agent.control.client import ControlClient
from tray_agent.control.protocol import ControlError
from tray_agent.paths import Paths, get_paths
from tray_agent.secrets import open_secret_store
from tray_agent.single_instance import InstanceLock
from tray_agent.supervisor import proctree

# One agent for the module (a start and a sign-in cost ~20 s): the two failures first, each
# leaving the same agent serving, then the restart that succeeds, last.
pytestmark = [pytest.mark.timeout(600), pytest.mark.slow, pytest.mark.xdist_group("takeover")]


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AgentProc, StandInLLM]]:
    home = tmp_path_factory.mktemp("takeover") / "home"
    home.mkdir()
    with (
        StandinIam(ttl=3600) as iam,
        StandInLLM() as llm,
        live_agent(
            home, models=[corp_model(llm)], bridge={"iam": oauth_iam(iam)}, signed_in=True
        ) as agent,
    ):
        require_keyring(open_secret_store(get_paths(agent.env).keyring_namespace))
        try:
            yield agent, llm
        finally:
            cli(home, "stop", "--agent", env=agent.env, timeout=120)


SERVED: list[int] = []
"""Requests answered in each test of this module: the usage book must count them all."""


def _paths(agent: AgentProc) -> Paths:
    return get_paths(agent.env)


def _agent_pid(agent: AgentProc) -> int:
    status = agent.status()
    assert status is not None
    return int(status["agent"]["pid"])


def _usage_requests(agent: AgentProc) -> int:
    book = json.loads((_paths(agent).data_dir / "usage.json").read_text())
    return sum(int(e["requests_today"]) for e in book["employees"].values())


def test_a_successor_that_cannot_serve_leaves_the_running_agent(
    bridge: tuple[AgentProc, StandInLLM],
) -> None:
    agent, _llm = bridge
    home, env = agent.home, agent.env
    status = agent.status()
    assert status is not None
    # A config the running agent refuses (it keeps serving the last good one) is all a new
    # agent has: it cannot start a sidecar, so it must not take over.
    good = agent.config_file.read_text()
    agent.config_file.write_text(good + "\nmodel_list: [unclosed\n")
    agent.wait_for(lambda s: s["config"]["valid"] is False, 60, "the config refused")
    with Load(status["sidecar"]["url"], proxy_key(agent)) as load:
        r = cli(home, "restart", "--agent", "--json", env=env, timeout=200)
        time.sleep(0.5)
    assert r.returncode == 1, r.stdout
    assert json.loads(r.stdout)["ok"] is False
    SERVED.append(load.ok)
    assert load.failures == [], load.failures[:3]
    assert load.ok > 0
    assert agent.proc.poll() is None and _agent_pid(agent) == agent.proc.pid
    assert "could not take over" in (_paths(agent).log_dir / "successor.log").read_text()
    # The lock file still names the agent that serves (the failed one held the same lock).
    assert InstanceLock.holder(_paths(agent).lock_file) == agent.proc.pid
    # Nobody else may make it hand over, or feed its usage book.
    with ControlClient.require(_paths(agent)) as c:
        with pytest.raises(ControlError, match="only the agent this one started"):
            c.call("handover", successor=os.getpid())
        with pytest.raises(ControlError, match="only the agent this one took over from"):
            c.call("usage.replay", events=[[{"status": 200, "route": "/v1/chat"}, 4e9]])
    agent.config_file.write_text(good)
    agent.wait_for(lambda s: s["config"]["valid"] is True, 60, "the config valid again")


def test_kill_9_of_the_successor_mid_switch_leaves_the_running_agent(
    bridge: tuple[AgentProc, StandInLLM],
) -> None:
    agent, _llm = bridge
    status = agent.status()
    assert status is not None
    with Load(status["sidecar"]["url"], proxy_key(agent)) as load:
        with ControlClient.require(_paths(agent)) as c:
            successor = int(c.call("agent_restart")["successor"])
        # Kill it once its sidecar is starting on the shared socket.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            kids = proctree.descendants(successor)
            if kids:
                break
            time.sleep(0.05)
        os.kill(successor, signal.SIGKILL)
        time.sleep(3)
    SERVED.append(load.ok)
    assert load.failures == [], load.failures[:3]
    assert agent.proc.poll() is None and _agent_pid(agent) == agent.proc.pid
    # The next restart (the test below) works: nothing the killed one held is in the way.


def test_the_agent_restarts_into_its_successor_without_a_failed_request(
    bridge: tuple[AgentProc, StandInLLM],
) -> None:
    agent, llm = bridge
    home, env = agent.home, agent.env
    before = agent.status()
    assert before is not None
    old_sidecar = before["sidecar"]["pid"]
    with Load(before["sidecar"]["url"], proxy_key(agent)) as load:
        load.wait_served(5)
        served_before = load.ok
        r = cli(home, "restart", "--agent", "--json", env=env, timeout=200)
        load.wait_served(served_before + 5)
    SERVED.append(load.ok)
    assert r.returncode == 0, r.stderr + r.stdout
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["pid"] != agent.proc.pid and doc["old_pid"] == agent.proc.pid
    assert load.failures == [], load.failures[:3]
    assert served_before > 0 and load.ok > served_before, "the clients were calling throughout"
    assert agent.proc.wait(60) == 0, "the old agent left by itself, cleanly"

    after = agent.status()
    assert after is not None and after["agent"]["pid"] == doc["pid"]
    assert after["sidecar"]["state"] == "running" and after["sidecar"]["pid"] != old_sidecar
    assert after["token"]["state"] == "valid", "the successor serves the same sign-in"
    assert all(c.body.get("token") for c in llm.completions()), "no request went without a token"
    # Both agents counted their own sidecar's requests; the successor's count is the sum.
    assert cli(home, "stop", "--agent", env=env).returncode == 0
    assert _usage_requests(agent) == sum(SERVED)
    assert cli(home, "audit", "verify", env=env).returncode == 0, "one intact audit chain"
