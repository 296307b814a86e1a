"""Watched apply: edits to config.yaml / env entries reach the running sidecar safely."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.agentproc import AgentProc, cli, running_agent
from tests.helpers.wait import wait_until
from tests.standins.llm import StandInLLM
from tray_agent.supervisor.proctree import is_alive

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProc]:
    with running_agent(tmp_path_factory.mktemp("apply-home")) as a:
        yield a


def _cfg(agent: AgentProc) -> Path:
    return agent.config_file


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
    before = agent.status()
    assert before is not None
    gen, old_pid = before["sidecar"]["generation"], before["sidecar"]["pid"]
    failures: list[str] = []
    sent = 0
    stop = threading.Event()
    url = before["sidecar"]["url"]
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

        def answered() -> httpx.Response | None:
            resp = _chat(agent, "added-model")
            return resp if resp.status_code == 200 else None

        r = wait_until(answered, 60, "the added model to answer 200")
        assert r is not None
        assert r.json()["choices"][0]["message"]["content"] == "fresh model here"
        # Keep the load on until the old sidecar has drained and exited, and a little past it,
        # so requests racing its exit are part of the check.
        wait_until(lambda: not is_alive(old_pid), 120, f"the old sidecar (pid {old_pid}) to exit")
        after_exit = sent
        wait_until(lambda: sent >= after_exit + 10, 60, "10 requests after the old one exited")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert failures == []


def _position(text: str, at: str) -> tuple[int, int]:
    """1-based line and column of the first ``at`` in ``text``."""
    head = text[: text.index(at)]
    return head.count("\n") + 1, len(head) - (head.rfind("\n") + 1) + 1


# (mutation, what the message must say, the text the reported position must point at)
@pytest.mark.parametrize(
    ("mutate", "needle", "at"),
    [
        (
            lambda t: t.replace("model_list:", "model_list: [\n", 1),
            "YAML syntax error",
            "- model_name",
        ),
        (
            lambda t: t.replace("port:", "port: not-a-number #", 1),
            "bridge.port",
            "not-a-number",
        ),
        (lambda t: t + "modle_list: []\n", "unknown key 'modle_list'", "modle_list"),
        (
            lambda t: t.replace(
                "mock_response: demo says hi", "api_key: os.environ/MISSING_KEY_ENTRY", 1
            ),
            "no env entry MISSING_KEY_ENTRY",
            "os.environ/MISSING_KEY_ENTRY",
        ),
    ],
    ids=["bad-yaml", "wrong-type", "unknown-key", "missing-env"],
)
def test_broken_edit_keeps_old_config_serving_and_reports_position(
    agent: AgentProc, mutate: Callable[[str], str], needle: str, at: str
) -> None:
    before = agent.status()
    assert before is not None
    good = _cfg(agent).read_text()
    broken = mutate(good)
    _edit(agent, broken)
    try:
        s = agent.wait_for(lambda s: s["config"]["valid"] is False, timeout=30, what="invalid")
        errs = s["config"]["errors"]
        assert errs, s["config"]
        assert needle in errs[0]["message"], errs
        assert (errs[0]["line"], errs[0]["column"]) == _position(broken, at), errs
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


def _swapped(agent: AgentProc, gen: int, what: str) -> int:
    """Wait for a running sidecar of a later generation than ``gen``; its generation."""
    s = agent.wait_for(
        lambda s: s["sidecar"]["generation"] > gen and s["sidecar"]["state"] == "running",
        what=what,
    )
    return int(s["sidecar"]["generation"])


def _upstream_keys(agent: AgentProc, llm: StandInLLM) -> list[str]:
    """Send one chat for the env-backed model; the keys the upstream has seen so far."""
    assert _chat(agent, "env-model").status_code == 200
    return [r.headers.get("authorization", "") for r in llm.completions()]


def test_env_entry_change_is_applied(agent: AgentProc) -> None:
    gen = agent.status()["sidecar"]["generation"]  # type: ignore[index]
    good = _cfg(agent).read_text()
    with StandInLLM(open_models=("env-model",)) as llm:
        r = cli(agent.home, "env", "set", "DEMO_UPSTREAM_KEY", "first-value", env=agent.env)
        assert r.returncode == 0, r.stderr
        gen = _swapped(agent, gen, "swap after the env entry was added")
        data = yaml.safe_load(good)
        data["model_list"].append(
            {
                "model_name": "env-model",
                "litellm_params": {
                    "model": "openai/env-model",
                    "api_base": llm.url + "/v1",
                    "api_key": "os.environ/DEMO_UPSTREAM_KEY",
                },
            }
        )
        _edit(agent, yaml.safe_dump(data, sort_keys=False))
        try:
            gen = _swapped(agent, gen, "swap after the env-backed model was added")
            assert _upstream_keys(agent, llm) == ["Bearer first-value"]
            r = cli(agent.home, "env", "set", "DEMO_UPSTREAM_KEY", "second-value", env=agent.env)
            assert r.returncode == 0, r.stderr
            _swapped(agent, gen, "swap after the env value changed")
            # The new value is what the upstream receives, not only a new sidecar started.
            assert _upstream_keys(agent, llm)[-1] == "Bearer second-value"
        finally:
            _edit(agent, good)
