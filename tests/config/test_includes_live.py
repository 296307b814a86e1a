"""A real agent given a config with ``include:`` serves the included model from one effective
config that names no other file; status wording after a refused start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.agentproc import AgentProc, cli, write_config
from tests.conftest import free_port
from tray_agent.commands.agent import format_status

pytestmark = pytest.mark.timeout(400)

INCLUDED = """\
model_list:
  - model_name: included-chat
    litellm_params: {model: openai/included-chat, mock_response: included says hi}
"""


def test_agent_serves_a_model_from_an_included_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port())
    (config.parent / "models.yaml").write_text(INCLUDED)
    config.write_text("include: [models.yaml]\n" + config.read_text())
    agent = AgentProc(tmp_path)
    try:
        s = agent.wait_running()
        assert s["config"]["valid"] is True and not s["config"]["warnings"], s["config"]
        key = cli(tmp_path, "key", env=agent.env).stdout.strip()
        r = httpx.post(
            s["sidecar"]["url"] + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "included-chat", "messages": [{"role": "user", "content": "hi"}]},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == "included says hi"
        effective = yaml.safe_load((tmp_path / "data" / "effective-config.yaml").read_text())
        assert "include" not in effective
        assert [m["model_name"] for m in effective["model_list"]] == ["demo-chat", "included-chat"]
    finally:
        agent.stop()


def test_status_says_a_valid_config_that_did_not_start_is_not_applied() -> None:
    snap: dict[str, Any] = {
        "agent": {"pid": 1},
        "sidecar": {"state": "running", "url": "http://127.0.0.1:4000", "pid": 2, "restarts": 0},
        "config": {
            "path": "config.yaml",
            "valid": True,
            "errors": [],
            "warnings": [],
            "apply_error": "the new config did not start: x; still serving the previous config",
        },
        "token": {"state": "none"},
    }
    shown = format_status(snap)
    assert "config   valid, not applied  config.yaml" in shown
    snap["config"]["apply_error"] = None
    assert "config   valid  config.yaml" in format_status(snap)
