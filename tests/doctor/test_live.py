"""Doctor with a running agent: it asks the agent, checks the proxy, and spots faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.agentproc import AgentProc, cli
from tests.helpers.live_bridge import corp_model, live_agent, oauth_iam
from tests.metrics.live import login
from tests.standins.iam import StandinIam
from tests.standins.llm import StandInLLM

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def iam() -> Iterator[StandinIam]:
    with StandinIam(ttl=600.0) as server:
        yield server


@pytest.fixture(scope="module")
def llm() -> Iterator[StandInLLM]:
    with StandInLLM() as server:
        yield server


@pytest.fixture(scope="module")
def agent(
    tmp_path_factory: pytest.TempPathFactory, iam: StandinIam, llm: StandInLLM
) -> Iterator[AgentProc]:
    with live_agent(
        tmp_path_factory.mktemp("doctor-home"),
        models=[corp_model(llm)],
        bridge={"iam": oauth_iam(iam)},
        without_proxy=True,
        ready_timeout=600,
        signed_in=True,
    ) as a:
        yield a


def doctor(agent: AgentProc, **env: str) -> tuple[int, dict[str, Any]]:
    r = cli(agent.home, "doctor", "--json", env={**agent.env, **env}, timeout=300)
    data: dict[str, Any] = json.loads(r.stdout)
    return r.returncode, {c["id"]: c for c in data["checks"]} | {"_agent": data["agent_running"]}


def test_healthy_agent_passes_every_check(agent: AgentProc) -> None:
    code, checks = doctor(agent)
    assert checks.pop("_agent") is True
    failing = {k: (v["status"], v["detail"]) for k, v in checks.items() if v["status"] != "pass"}
    assert failing == {} and code == 0
    assert "through the proxy" in checks["upstream"]["detail"]
    assert "served by our sidecar" in checks["port"]["detail"]
    assert "/health/liveliness" in checks["sidecar"]["title"]


def test_upstream_rejecting_the_token_fails_through_the_proxy(
    agent: AgentProc, llm: StandInLLM
) -> None:
    llm.signing_key = b"a-key-that-rejects"
    try:
        code, checks = doctor(agent)
    finally:
        llm.signing_key = b"stand-in-iam-signing-key"
    up = checks["upstream"]
    assert code == 1 and up["status"] == "fail" and up["data"]["status"] == 401
    assert "through the proxy" in up["detail"] and "rejected" in up["fix"]


def test_proxy_variables_in_the_users_shell_fail(agent: AgentProc) -> None:
    code, checks = doctor(agent, HTTP_PROXY="http://proxy.invalid:3128", NO_PROXY="localhost")
    assert code == 1 and checks["proxy_env"]["status"] == "fail"
    assert checks["sidecar"]["status"] == "pass"  # loopback checks never use the proxy


def test_signed_out_fails_token_and_upstream_with_the_sign_in_fix(agent: AgentProc) -> None:
    assert cli(agent.home, "token", "logout", env=agent.env).returncode == 0
    try:
        agent.wait_for(lambda s: s["token"]["state"] == "absent", 60, "signed out")
        code, checks = doctor(agent)
        assert code == 1
        for name in ("token", "upstream"):
            assert checks[name]["status"] == "fail" and "token login" in checks[name]["fix"]
    finally:
        login(agent.home, agent.env)
    r = cli(agent.home, "doctor", env=agent.env, timeout=300)
    assert r.returncode == 0, r.stdout
    assert "0 failed" in r.stdout and "with the running agent" in r.stdout
