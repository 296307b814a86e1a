"""A starting sidecar is bounded: past its memory ceiling or its ready timeout it is killed,
the previous sidecar keeps serving (or, with none, the sidecar is in error), and status says
why and which key sets the limit."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.agentproc import AgentProc, cli, running_agent, write_config
from tests.conftest import free_port
from tray_agent.supervisor import proctree

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProc]:
    with running_agent(tmp_path_factory.mktemp("limits-home")) as a:
        yield a


def _cfg(agent: AgentProc) -> Path:
    return agent.config_file


def _edit(agent: AgentProc, data: dict[str, Any] | str) -> None:
    # Editors save by writing a temp file and renaming it over the original.
    tmp = _cfg(agent).with_suffix(".swp")
    tmp.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    tmp.replace(_cfg(agent))


def _chat(agent: AgentProc) -> httpx.Response:
    s = agent.status()
    assert s is not None
    key = cli(agent.home, "key", env=agent.env).stdout.strip()
    return httpx.post(
        s["sidecar"]["url"] + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )


def _with_limits(good: str, **limits: Any) -> dict[str, Any]:
    data = yaml.safe_load(good)
    data["bridge"]["sidecar"] = limits
    # A model the serving sidecar does not have: the edit needs a new sidecar in any case.
    data["model_list"].append(
        {"model_name": "new-model", "litellm_params": {"model": "openai/x", "mock_response": "x"}}
    )
    return data


def _killed_pid(agent: AgentProc, log_event: str) -> int:
    log = (agent.home / "logs" / "agent.log").read_text()
    pids = re.findall(rf"{re.escape(log_event)}\b.*?pid=(\d+)", log)
    assert pids, f"no {log_event} in the agent log"
    return int(pids[-1])


def _rolled_back(agent: AgentProc, good: str, edit: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Apply ``edit``, expect a rollback; the status then and the human ``status`` output."""
    before = agent.status()
    assert before is not None
    _edit(agent, edit)
    try:
        s = agent.wait_for(
            lambda s: bool(s["config"].get("apply_error")), timeout=120, what="rollback"
        )
        assert s["sidecar"]["state"] == "running"
        assert s["sidecar"]["pid"] == before["sidecar"]["pid"], "the previous sidecar was replaced"
        assert s["sidecar"]["pending"] is None
        r = _chat(agent)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == "demo says hi"
        return s, cli(agent.home, "status", env=agent.env).stdout
    finally:
        _edit(agent, good)
        agent.wait_for(
            lambda s: s["config"]["valid"] is True and not s["config"].get("apply_error"),
            timeout=30,
            what="the good config back",
        )


def test_sidecar_past_its_start_memory_ceiling_is_killed_and_previous_serves(
    agent: AgentProc,
) -> None:
    good = _cfg(agent).read_text()
    s, human = _rolled_back(agent, good, _with_limits(good, max_start_memory_mb=100))
    err = s["config"]["apply_error"]
    assert "the new config did not start" in err
    assert "grew past 100 MB while starting" in err
    assert "bridge.sidecar.max_start_memory_mb" in err and "previous config" in err
    pid = _killed_pid(agent, "sidecar.start_memory")
    deadline = time.monotonic() + 10
    while proctree.is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not proctree.is_alive(pid), "the sidecar past its ceiling still runs"
    assert "grew past 100 MB" in human


def test_sidecar_not_ready_in_time_is_killed_and_previous_serves(agent: AgentProc) -> None:
    good = _cfg(agent).read_text()
    s, human = _rolled_back(agent, good, _with_limits(good, ready_timeout=2))
    err = s["config"]["apply_error"]
    assert "was not ready within 2 s" in err and "bridge.sidecar.ready_timeout" in err
    assert "previous config" in err and "was not ready within 2 s" in human
    pid = _killed_pid(agent, "sidecar.ready_timeout")
    deadline = time.monotonic() + 10
    while proctree.is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not proctree.is_alive(pid)


def test_first_sidecar_past_its_ceiling_is_an_error_without_restarts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write_config(home, free_port(), bridge={"sidecar": {"max_start_memory_mb": 100}})
    a = AgentProc(home)
    try:
        s = a.wait_for(lambda s: s["sidecar"]["state"] == "error", timeout=120, what="error")
        err = s["sidecar"]["error"]
        assert "grew past 100 MB while starting" in err
        assert "bridge.sidecar.max_start_memory_mb" in err
        gen = s["sidecar"]["generation"]
        # A restart would come after the crash back-off's first delay (1 s): watch for three.
        time.sleep(3)
        after = a.status()
        assert after is not None
        assert after["sidecar"]["state"] == "error"
        assert after["sidecar"]["generation"] == gen and after["sidecar"]["restarts"] == 0
        assert after["sidecar"]["pid"] is None
    finally:
        a.stop()
