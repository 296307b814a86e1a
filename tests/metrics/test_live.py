"""Metrics and the error summary from a real agent and sidecar, against the stand-ins."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.agentproc import AgentProc, cli
from tests.helpers.live_bridge import corp_model, live_agent, oauth_iam
from tests.metrics.live import MODEL, chat, login, proxy_key
from tests.standins.iam import StandinIam
from tests.standins.llm import StandInLLM

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def iam() -> Iterator[StandinIam]:
    with StandinIam(ttl=600.0) as server:
        yield server


@pytest.fixture(scope="module")
def llm() -> Iterator[StandInLLM]:
    with StandInLLM(reply="internal answer here") as server:
        yield server


@pytest.fixture(scope="module")
def agent(
    tmp_path_factory: pytest.TempPathFactory, iam: StandinIam, llm: StandInLLM
) -> Iterator[AgentProc]:
    home = tmp_path_factory.mktemp("metrics-home")
    bridge = {"iam": oauth_iam(iam)}
    with live_agent(home, models=[corp_model(llm)], bridge=bridge, ready_timeout=600) as a:
        yield a


def metrics(agent: AgentProc) -> dict[str, Any]:
    r = cli(agent.home, "metrics", "--json", env=agent.env, timeout=60)
    assert r.returncode == 0, r.stderr
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def wait_total(agent: AgentProc, total: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    m = metrics(agent)
    while m["total_requests"] < total and time.monotonic() < deadline:
        time.sleep(0.5)
        m = metrics(agent)
    assert m["total_requests"] == total, m
    return m


def test_counts_match_requests_sent_including_errors_and_streams(
    agent: AgentProc, llm: StandInLLM, iam: StandinIam
) -> None:
    key = proxy_key(agent)
    sent: list[tuple[bool, int]] = []
    with httpx.Client(timeout=120) as client:
        for _ in range(2):  # no token yet: refused by the proxy with 401
            r = chat(agent, client, key)
            sent.append((False, r.status_code))
        login(agent.home, agent.env)
        agent.wait_for(lambda s: s["token"]["state"] == "valid", 60, "valid token")
        for _ in range(3):
            r = chat(agent, client, key)
            sent.append((False, r.status_code))
        for _ in range(2):
            r = chat(agent, client, key, stream=True)
            assert "internal" in r.text
            sent.append((True, r.status_code))
        llm.inject_fault("error", count=5)
        r = chat(agent, client, key)
        sent.append((False, r.status_code))
        llm.clear()
        r = chat(agent, client, key, model="no-such-model")
        sent.append((False, r.status_code))
    assert [s for _, s in sent[:2]] == [401, 401]
    assert sent[-2][1] >= 500 and sent[-1][1] == 400
    m = wait_total(agent, len(sent))
    expected_errors = sum(1 for _, status in sent if status >= 400)
    assert 0 < m["windows"]["1m"]["requests"] <= len(sent)  # this machine may take > 1 min
    for name in ("15m", "1h"):
        w = m["windows"][name]
        assert w["requests"] == len(sent), (name, w)
        assert w["errors"] == expected_errors
        assert w["streams"] == 2
        assert w["error_rate"] == pytest.approx(expected_errors / len(sent), abs=1e-3)
        assert w["latency_ms"]["p50"] is not None
        assert w["latency_ms"]["p95"] >= w["latency_ms"]["p50"]
        corp = w["models"][MODEL]
        assert corp["requests"] == len(sent) - 1
        assert corp["tokens_in"] > 0 and corp["tokens_out"] > 0
        assert w["by_status"]["401"] == 2 and w["by_status"]["200"] == 5


def test_status_shows_the_error_summary(agent: AgentProc) -> None:
    r = cli(agent.home, "status", "--json", env=agent.env)
    snap = json.loads(r.stdout)
    kinds = {e["kind"]: e for e in snap["errors"]}
    assert kinds["token_expired"]["count"] >= 2
    assert "token login" in kinds["token_expired"]["hint"]
    assert "upstream_5xx" in kinds
    assert "request_refused" in kinds
    for e in kinds.values():
        assert e["first_seen"] <= e["last_seen"]
    text = cli(agent.home, "status", env=agent.env).stdout
    assert "recent   " in text and "token_expired" in text


def test_text_output_lists_windows_and_models(agent: AgentProc) -> None:
    r = cli(agent.home, "metrics", env=agent.env)
    assert r.returncode == 0, r.stderr
    for word in ("last 1m", "last 15m", "last 1h", MODEL, "p95", "in flight"):
        assert word in r.stdout


def test_in_flight_connections_show_a_held_stream(agent: AgentProc, llm: StandInLLM) -> None:
    key = proxy_key(agent)
    before = metrics(agent)["total_requests"]
    llm.inject_fault("hold")
    done = threading.Event()

    def held() -> None:
        with httpx.Client(timeout=120) as client:
            chat(agent, client, key, stream=True)
        done.set()

    t = threading.Thread(target=held)
    t.start()
    try:
        deadline = time.monotonic() + 30
        seen = {"connections": 0, "requests": 0}
        while time.monotonic() < deadline and not all(seen.values()):
            now = metrics(agent)["in_flight"]
            seen = {k: max(seen[k], now[k] or 0) for k in seen}
            time.sleep(0.3)
        assert seen["connections"] >= 1 and seen["requests"] == 1, seen
    finally:
        llm.release()
        t.join(60)
    assert done.is_set()
    m = wait_total(agent, before + 1)
    assert m["in_flight"]["requests"] == 0


def test_logs_command_reads_this_agents_files(agent: AgentProc) -> None:
    r = cli(agent.home, "logs", "--component", "sidecar", "-n", "0", env=agent.env)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln[:4].isdigit()]
    assert lines and all(" sidecar " in ln for ln in lines)
    r = cli(agent.home, "logs", "--component", "core", "--grep", "sidecar.ready", env=agent.env)
    assert "sidecar.ready" in r.stdout and " sidecar out " not in r.stdout
    r = cli(agent.home, "logs", "--level", "error", "-n", "0", env=agent.env)
    assert all(" INFO " not in ln for ln in r.stdout.splitlines() if ln[:4].isdigit())
