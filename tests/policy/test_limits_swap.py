"""Rate limits hold across a config swap: a real agent and sidecar under a real (root-owned)
policy; the new sidecar's bucket starts from the agent's record of the last minute, so
touching config.yaml does not hand out a fresh minute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agentproc import AgentProc, cli, env_for, write_config
from tests.conftest import free_port
from tests.policy.policy_files import needs_root, policy_dir, write_policy

pytestmark = [needs_root, pytest.mark.timeout(300)]


def _chat(agent: AgentProc, url: str, key: str) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )


def _recent(status: dict[str, Any]) -> list[Any]:
    return ((status.get("policy") or {}).get("usage") or {}).get("recent") or []


def test_a_config_swap_does_not_refill_the_rate_limit(home: Path, tmp_path: Path) -> None:
    d = policy_dir(tmp_path)
    # One request a minute: the bucket refills one request in 60 s, far longer than a swap.
    write_policy(d / "policy.json", {"limits": {"rpm": 1}})
    env = env_for(home, LITELLM_BRIDGE_POLICY_DIR=str(d), LITELLM_BRIDGE_SECRET_STORE="memory")
    port = free_port()
    write_config(home, port)
    agent = AgentProc(home, env)
    try:
        running = agent.wait_running()
        url, generation = running["sidecar"]["url"], running["sidecar"]["generation"]
        key = cli(home, "key", env=env).stdout.strip()
        assert _chat(agent, url, key).status_code == 200
        assert _chat(agent, url, key).status_code == 429
        agent.wait_for(lambda s: bool(_recent(s)), 30, "the last minute in the usage message")

        write_config(home, port, extra_models=[{"model_name": "second", "litellm_params": {
            "model": "openai/second", "mock_response": "second"}}])  # fmt: skip
        agent.wait_for(
            lambda s: (
                s["sidecar"]["generation"] > generation
                and s["sidecar"]["state"] == "running"
                and s["sidecar"]["pending"] is None
            ),
            120,
            "the swap to the new config",
        )
        over = _chat(agent, url, key)
        assert over.status_code == 429, over.text  # a full bucket would have answered 200
        assert "rate limit reached: 1 requests per minute" in over.text
        assert int(over.headers["retry-after"]) >= 1
    finally:
        agent.stop()
