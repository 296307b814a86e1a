"""A running agent refuses an alias bomb saved into config.yaml: status names the anchor, the
sidecar serving the previous config keeps serving, and nothing expands it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.agentproc import AgentProc, cli, running_agent
from tests.config.test_validate_expansion import bomb, line_of

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProc]:
    with running_agent(tmp_path_factory.mktemp("bomb-home")) as a:
        yield a


def test_running_agent_does_not_apply_an_alias_bomb(agent: AgentProc) -> None:
    before = agent.status()
    assert before is not None
    config = agent.home / "config" / "config.yaml"
    good = config.read_text()
    port = before["sidecar"]["url"].rsplit(":", 1)[1].strip("/")
    text = bomb() + f"bridge:\n  port: {port}\n"
    tmp = config.with_suffix(".swp")
    tmp.write_text(text)
    tmp.replace(config)  # saved the way editors save
    try:
        s = agent.wait_for(lambda s: s["config"]["valid"] is False, timeout=60, what="refused")
        line, col = line_of(text, "&l3")
        (err,) = s["config"]["errors"]
        assert (err["line"], err["column"]) == (line, col), err
        assert "more than 100000 YAML nodes" in err["message"]
        assert s["sidecar"]["pid"] == before["sidecar"]["pid"]
        assert s["sidecar"]["state"] == "running"
        key = cli(agent.home, "key", env=agent.env).stdout.strip()
        r = httpx.post(
            s["sidecar"]["url"] + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]},
            timeout=60,
        )
        assert r.status_code == 200
        shown = cli(agent.home, "status", env=agent.env).stdout
        assert f"config.yaml:{line}:{col}" in shown
        # Nothing expanded it: the agent stays far from the gigabytes the bomb would take.
        assert psutil.Process(agent.proc.pid).memory_info().rss < 600 * 1024 * 1024
    finally:
        tmp.write_text(good)
        tmp.replace(config)
        agent.wait_for(lambda s: s["config"]["valid"] is True, timeout=60, what="valid again")


def test_effective_config_of_the_running_sidecar_has_no_alias(agent: AgentProc) -> None:
    effective = Path(agent.home / "data" / "effective-config.yaml").read_text()
    assert "&" not in effective.split("\n", 1)[1]
