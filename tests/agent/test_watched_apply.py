"""Watched apply: edits to config.yaml / env entries reach the running sidecar safely."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.agentproc import AgentProc, cli, write_config
from tests.conftest import free_port

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProc]:
    home = tmp_path_factory.mktemp("apply-home")
    write_config(home, free_port())
    a = AgentProc(home)
    try:
        a.wait_running()
        yield a
    finally:
        a.stop()


def _cfg(agent: AgentProc) -> Path:
    return agent.home / "config" / "config.yaml"


def _edit(agent: AgentProc, text: str) -> None:
    # Editors save by writing a temp file and renaming it over the original.
    tmp = _cfg(agent).with_suffix(".swp")
    tmp.write_text(text)
    tmp.replace(_cfg(agent))


def _chat(agent: AgentProc, model: str) -> httpx.Response:
    s = agent.status()
    assert s is not None
    key = cli(agent.home, "key", env=agent.env).stdout.strip()
    return httpx.post(
        s["sidecar"]["url"] + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )


def _add_model(agent: AgentProc, name: str, reply: str, **params: object) -> str:
    data = yaml.safe_load(_cfg(agent).read_text())
    data["model_list"].append(
        {
            "model_name": name,
            "litellm_params": {"model": f"openai/{name}", "mock_response": reply, **params},
        }
    )
    return yaml.safe_dump(data, sort_keys=False)


def test_valid_edit_is_applied_without_refusing_requests(agent: AgentProc) -> None:
    gen = agent.status()["sidecar"]["generation"]  # type: ignore[index]
    failures: list[str] = []
    sent = 0
    stop = threading.Event()
    url = agent.status()["sidecar"]["url"]  # type: ignore[index]
    key = cli(agent.home, "key", env=agent.env).stdout.strip()

    def load() -> None:
        nonlocal sent
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                try:
                    r = client.post(
                        url + "/v1/chat/completions",
                        headers={"Authorization": f"Bearer {key}"},
                        json={"model": "demo-chat", "messages": [{"role": "user", "content": "x"}]},
                    )
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                sent += 1

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        _edit(agent, _add_model(agent, "added-model", "fresh model here"))
        agent.wait_for(
            lambda s: (
                s["sidecar"]["generation"] > gen
                and s["sidecar"]["state"] == "running"
                and s["config"]["applied_at"] is not None
            ),
            what="new generation",
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            r = _chat(agent, "added-model")
            if r.status_code == 200:
                break
            time.sleep(0.5)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == "fresh model here"
        time.sleep(2)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert sent > 10
    assert failures == []


@pytest.mark.parametrize(
    ("mutate", "needle", "line"),
    [
        (lambda t: t.replace("model_list:", "model_list: [\n", 1), "", None),
        (lambda t: t.replace("port:", "port: not-a-number #", 1), "port", None),
        (lambda t: t + "modle_list: []\n", "model_list", None),
        (
            lambda t: t.replace(
                "mock_response: demo says hi", "api_key: os.environ/MISSING_KEY_ENTRY", 1
            ),
            "MISSING_KEY_ENTRY",
            None,
        ),
    ],
    ids=["bad-yaml", "wrong-type", "unknown-key", "missing-env"],
)
def test_broken_edit_keeps_old_config_serving_and_reports_position(
    agent: AgentProc, mutate, needle: str, line: int | None
) -> None:
    before = agent.status()
    assert before is not None
    good = _cfg(agent).read_text()
    _edit(agent, mutate(good))
    try:
        s = agent.wait_for(lambda s: s["config"]["valid"] is False, timeout=30, what="invalid")
        errs = s["config"]["errors"]
        assert errs and all(e["line"] and e["column"] for e in errs), errs
        assert needle in " ".join(e["message"] + " " + (e.get("hint") or "") for e in errs)
        assert s["sidecar"]["pid"] == before["sidecar"]["pid"]
        assert s["sidecar"]["state"] == "running"
        assert _chat(agent, "demo-chat").status_code == 200
        r = cli(agent.home, "status", env=agent.env)
        assert f"{errs[0]['line']}:{errs[0]['column']}" in r.stdout
    finally:
        _edit(agent, good)
        agent.wait_for(lambda s: s["config"]["valid"] is True, timeout=30, what="valid again")


def test_config_that_cannot_start_is_rolled_back(agent: AgentProc) -> None:
    before = agent.status()
    assert before is not None
    good = _cfg(agent).read_text()
    data = yaml.safe_load(good)
    data.setdefault("litellm_settings", {})["callbacks"] = ["no_such_module_xyz.handler"]
    _edit(agent, yaml.safe_dump(data, sort_keys=False))
    try:
        s = agent.wait_for(
            lambda s: bool(s["config"].get("apply_error")), timeout=200, what="rollback"
        )
        assert "previous" in s["config"]["apply_error"]
        assert s["sidecar"]["pid"] == before["sidecar"]["pid"]
        assert _chat(agent, "demo-chat").status_code == 200
    finally:
        _edit(agent, good)


def test_env_entry_change_is_applied(agent: AgentProc) -> None:
    gen = agent.status()["sidecar"]["generation"]  # type: ignore[index]
    r = cli(agent.home, "env", "set", "DEMO_REPLY_MODEL", "openai/x", env=agent.env)
    assert r.returncode == 0, r.stderr
    agent.wait_for(
        lambda s: s["sidecar"]["generation"] > gen and s["sidecar"]["state"] == "running",
        what="swap after env change",
    )
