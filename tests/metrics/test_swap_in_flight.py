"""During a config swap two sidecars serve at once: ``metrics`` sums the requests in flight
over both (README: "summed over both sidecars during a config swap")."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.agentproc import AgentProc, cli
from tests.helpers.wait import wait_until
from tests.metrics.live import chat, login, proxy_key, setup_home
from tests.standins.iam import StandinIam
from tests.standins.llm import StandInLLM
from tray_agent.supervisor import proctree

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def iam() -> Iterator[StandinIam]:
    with StandinIam(ttl=600.0) as server:
        yield server


@pytest.fixture
def llm() -> Iterator[StandInLLM]:
    with StandInLLM(reply="internal answer here") as server:
        yield server


def in_flight(agent: AgentProc) -> dict[str, Any]:
    r = cli(agent.home, "metrics", "--json", env=agent.env, timeout=60)
    assert r.returncode == 0, r.stderr
    result: dict[str, Any] = json.loads(r.stdout)["in_flight"]
    return result


def add_model(config: Path) -> None:
    """An edit that needs a new sidecar, saved by rename like an editor does."""
    data = yaml.safe_load(config.read_text())
    data["model_list"].append(
        {"model_name": "new-model", "litellm_params": {"model": "openai/x", "mock_response": "x"}}
    )
    tmp = config.with_suffix(".swp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False))
    tmp.replace(config)


def test_requests_in_flight_are_summed_over_both_sidecars_during_a_swap(
    tmp_path: Path, iam: StandinIam, llm: StandInLLM
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = setup_home(home, iam, llm)
    agent = AgentProc(home, env=env)
    results: list[httpx.Response] = []
    threads: list[threading.Thread] = []

    def held_stream() -> None:
        with httpx.Client(timeout=300) as client:
            results.append(chat(agent, client, key, stream=True))

    try:
        first = agent.wait_running(timeout=400)
        login(home, env)
        agent.wait_for(lambda s: s["token"]["state"] == "valid", timeout=60, what="a token")
        key = proxy_key(agent)
        llm.inject_fault("hold", count=2)
        threads.append(threading.Thread(target=held_stream))
        threads[-1].start()
        wait_until(lambda: in_flight(agent)["requests"] == 1, 60, "one request in flight", 0.3)

        add_model(home / "config" / "config.yaml")
        swapped = agent.wait_for(
            lambda s: s["sidecar"]["pid"] not in (None, first["sidecar"]["pid"]),
            timeout=400,
            what="the new sidecar to take over",
        )
        assert proctree.is_alive(first["sidecar"]["pid"]), "the old sidecar did not drain"
        threads.append(threading.Thread(target=held_stream))
        threads[-1].start()
        # One held on the draining sidecar, one on the new one.
        wait_until(lambda: in_flight(agent)["requests"] == 2, 60, "two requests in flight", 0.3)
        assert agent.status()["sidecar"]["pid"] == swapped["sidecar"]["pid"]  # type: ignore[index]
        assert proctree.is_alive(first["sidecar"]["pid"]), "both sidecars served the two"
    finally:
        llm.release()
        for t in threads:
            t.join(120)
        try:
            assert len(results) == len(threads)
            assert all(r.status_code == 200 and "[DONE]" in r.text for r in results), [
                r.text[:200] for r in results
            ]
            wait_until(lambda: in_flight(agent)["requests"] == 0, 60, "nothing in flight", 0.3)
        finally:
            agent.stop()
