"""The sidecar always gets NO_PROXY for loopback: with HTTP(S)_PROXY set for the agent and no
NO_PROXY anywhere, requests to a loopback upstream are still served and refreshed tokens still
reach it; the proxy is never asked for the upstream.

The agent's own IAM calls do go through the proxy (a corporate IAM may need it), so the proxy
here forwards to the stand-in IAM, and refuses anything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agentproc import AgentProc, cli, corp_model, env_for, token_login, write_config
from tests.conftest import free_port
from tests.helpers.corp_proxy import CorpProxy
from tests.helpers.wait import wait_until
from tests.standins.iam import StandinIam
from tests.standins.llm import StandInLLM

pytestmark = pytest.mark.timeout(400)

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def iam() -> Iterator[StandinIam]:
    server = StandinIam(ttl=12.0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def llm() -> Iterator[StandInLLM]:
    with StandInLLM(reply="through no proxy") as server:
        yield server


@pytest.fixture
def proxy(iam: StandinIam) -> Iterator[CorpProxy]:
    p = CorpProxy(serves={iam.url.removeprefix("http://")}).start()
    yield p
    p.stop()


def test_loopback_upstream_bypasses_the_proxy_and_tokens_still_rotate(
    home: Path, iam: StandinIam, llm: StandInLLM, proxy: CorpProxy
) -> None:
    write_config(
        home,
        free_port(),
        extra_models=[corp_model(llm.url, "none", "p-1")],
        bridge={
            "iam": {
                "kind": "oauth2-password",
                "token_url": iam.url + "/oauth/token",
                "client_id": "bridge",
                "client_secret": "client-s3cret",
            }
        },
    )
    env = env_for(home, **dict.fromkeys(PROXY_VARS, proxy.url))
    for name in ("NO_PROXY", "no_proxy"):
        env.pop(name, None)
    agent = AgentProc(home, env=env)
    try:
        s = agent.wait_running()
        login = token_login(home, env, "correct horse\n")
        assert login.returncode == 0, login.stderr + login.stdout
        assert proxy.targets, "the agent did not use the proxy: the test proves nothing"
        key = cli(home, "key", env=env).stdout.strip()
        grants = iam.refresh_grants

        def chat(path: str, body: dict[str, object]) -> httpx.Response:
            return httpx.post(
                s["sidecar"]["url"] + path,
                headers={"Authorization": f"Bearer {key}"},
                json={"model": "corp-llm", **body},
                timeout=60,
                trust_env=False,
            )

        def served_after_refresh() -> bool:
            r = chat("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 200, r.text
            assert r.json()["choices"][0]["message"]["content"] == "through no proxy"
            tokens = {req.body["token"] for req in llm.completions()}
            return iam.refresh_grants > grants and len(tokens) >= 2

        wait_until(served_after_refresh, 120, "a refreshed token to reach the upstream", 0.5)
        # Through LiteLLM too (Anthropic route translated to chat), not only the fast path.
        r = chat(
            "/v1/messages",
            {"max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert r.status_code == 200, r.text
        assert proxy.refused() == [], f"loopback traffic went to the proxy: {proxy.refused()}"
    finally:
        agent.stop()
