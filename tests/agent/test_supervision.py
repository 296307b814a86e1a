"""The agent supervises a real LiteLLM sidecar: start, requests, crashes, kills, stop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agentproc import AgentProc, cli, env_for, write_config
from tests.conftest import free_port
from tests.standins.llm import StandInLLM
from tests.standins.tokens import mint
from tray_agent.supervisor import proctree

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def llm() -> Iterator[StandInLLM]:
    with StandInLLM(reply="upstream says hi") as server:
        yield server


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, llm: StandInLLM) -> Iterator[AgentProc]:
    home = tmp_path_factory.mktemp("agent-home")
    token, _ = mint("e123", ttl=3600)
    write_config(
        home,
        free_port(),
        extra_models=[
            {
                "model_name": "internal",
                "litellm_params": {
                    "model": "hosted_vllm/internal-model",
                    "api_base": llm.url + "/v1",
                    "api_key": "none",
                    "extra_body": {"token": token, "project": "proj-7"},
                },
            }
        ],
    )
    agent = AgentProc(home, env=env_for(home, LITELLM_BRIDGE_HEALTH_INTERVAL="1"))
    try:
        agent.wait_running()
        yield agent
    finally:
        agent.stop()


def _key(agent: AgentProc) -> str:
    r = cli(agent.home, "key", env=agent.env)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _chat(url: str, key: str, model: str = "demo-chat") -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )


def test_status_json_has_the_documented_shape(running: AgentProc) -> None:
    s = running.status()
    assert s is not None
    assert s["agent"]["pid"] == running.proc.pid
    sc = s["sidecar"]
    assert set(sc) >= {"state", "pid", "host", "port", "url", "restarts", "error"}
    assert sc["state"] == "running" and sc["host"] == "127.0.0.1"
    assert sc["url"] == f"http://127.0.0.1:{sc['port']}"
    assert set(s["config"]) >= {"path", "valid", "errors"} and s["config"]["valid"] is True
    assert set(s["token"]) >= {"state", "expires_at"}


def test_request_through_proxy_reaches_upstream_with_key(
    running: AgentProc, llm: StandInLLM
) -> None:
    url = running.status()["sidecar"]["url"]  # type: ignore[index]
    key = _key(running)
    r = _chat(url, key, "internal")
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "upstream says hi"
    assert llm.completions()[-1].body["project"] == "proj-7"
    assert _chat(url, "sk-wrong-key").status_code in (400, 401)


def test_sidecar_killed_with_sigkill_comes_back(running: AgentProc) -> None:
    before = running.status()
    assert before is not None
    pid = before["sidecar"]["pid"]
    os.kill(pid, signal.SIGKILL)
    after = running.wait_for(
        lambda s: s["sidecar"]["state"] == "running" and s["sidecar"]["pid"] != pid,
        what="a new sidecar",
    )
    assert after["sidecar"]["restarts"] == before["sidecar"]["restarts"] + 1
    assert _chat(after["sidecar"]["url"], _key(running)).status_code == 200


def test_hung_sidecar_is_detected_by_liveness_probe_and_restarted(running: AgentProc) -> None:
    before = running.status()
    assert before is not None
    pid = before["sidecar"]["pid"]
    os.kill(pid, signal.SIGSTOP)  # alive but not answering
    try:
        after = running.wait_for(
            lambda s: s["sidecar"]["state"] == "running" and s["sidecar"]["pid"] != pid,
            what="a restarted sidecar",
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    assert not proctree.is_alive(pid)
    assert after["sidecar"]["restarts"] == before["sidecar"]["restarts"] + 1
    log = (running.home / "logs" / "agent.log").read_text()
    assert "sidecar.hung" in log


def test_second_agent_on_same_home_is_refused(running: AgentProc) -> None:
    r = cli(running.home, "run", "--quiet", env=running.env, timeout=60)
    assert r.returncode != 0
    assert f"pid {running.proc.pid}" in r.stderr and "already running" in r.stderr


def test_stop_then_start_through_cli(running: AgentProc) -> None:
    pid = running.status()["sidecar"]["pid"]  # type: ignore[index]
    r = cli(running.home, "stop", env=running.env)
    assert r.returncode == 0, r.stderr
    s = running.status()
    assert s is not None and s["sidecar"]["state"] == "stopped"
    assert not proctree.is_alive(pid)
    r = cli(running.home, "start", env=running.env, timeout=200)
    assert r.returncode == 0, r.stderr
    assert running.status()["sidecar"]["state"] == "running"  # type: ignore[index]


def test_agent_killed_with_sigkill_takes_the_sidecar_with_it(running: AgentProc) -> None:
    pid = running.status()["sidecar"]["pid"]  # type: ignore[index]
    assert proctree.is_alive(pid)
    running.proc.send_signal(signal.SIGKILL)
    running.proc.wait(10)
    deadline = time.monotonic() + 10
    while proctree.is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not proctree.is_alive(pid), "sidecar outlived the agent"


def test_busy_port_names_the_port_and_holder(home: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    write_config(home, port)
    agent = AgentProc(home)
    try:
        s = agent.wait_for(lambda s: s["sidecar"]["state"] == "error", timeout=60, what="error")
        err = s["sidecar"]["error"]
        assert f"port {port}" in err and "in use" in err
        assert f"pid {os.getpid()}" in err
    finally:
        agent.stop()
        holder.close()


def test_status_without_agent_exits_3(home: Path) -> None:
    r = cli(home, "status")
    assert r.returncode == 3
    assert "no agent is running" in r.stdout
    r = cli(home, "status", "--json")
    assert r.returncode == 3 and json.loads(r.stdout)["agent"] is None


def test_unwritable_home_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        target = Path("/proc/litellm-bridge-home")  # not creatable even for root
    else:
        target = tmp_path / "ro"
        target.mkdir(mode=0o500)
    r = cli(target, "run", "--quiet", timeout=30)
    assert r.returncode != 0
    assert str(target) in r.stderr
    assert "Traceback" not in r.stderr
