"""Requests through a real agent with the stand-in IAM and LLM (set up by
``tests.helpers.live_bridge``), shared by the metrics, doctor and diagnostics tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.agentproc import AgentProc, token_login
from tests.helpers.live_bridge import (
    CLIENT_SECRET,
    CORP_ENV,
    LLM_KEY,
    MODEL,
    PASSWORD,
    corp_model,
    oauth_iam,
    prepare_home,
    proxy_key,
)
from tests.standins.iam import StandinIam
from tests.standins.llm import StandInLLM

_URLS: dict[int, str] = {}


def setup_home(
    home: Path,
    iam: StandinIam,
    llm: StandInLLM,
    *,
    port: int | None = None,
    env_values: dict[str, tuple[str, bool]] | None = None,
    iam_extra: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Config + env entries for the corp model behind ``iam``; returns the environment for
    CLI calls in this home (``tests.helpers.live_bridge.prepare_home``)."""
    return prepare_home(
        home,
        models=[corp_model(llm)],
        bridge={"iam": oauth_iam(iam, **(iam_extra or {}))},
        env_values={**CORP_ENV, **(env_values or {})},
        port=port,
    )


def login(home: Path, env: dict[str, str], password: str = PASSWORD) -> None:
    r = token_login(home, env, password + "\n")
    assert r.returncode == 0, r.stderr + r.stdout


def chat(
    agent: AgentProc,
    client: httpx.Client,
    key: str,
    *,
    stream: bool = False,
    model: str = MODEL,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    url = _URLS.get(id(agent))
    if url is None:
        s = agent.status()
        assert s is not None
        url = _URLS[id(agent)] = s["sidecar"]["url"]
    body: dict[str, Any] = {
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": "hello there"}],
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return client.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}", **(headers or {})},
        json=body,
    )


__all__ = [
    "CLIENT_SECRET",
    "LLM_KEY",
    "MODEL",
    "PASSWORD",
    "chat",
    "corp_model",
    "login",
    "oauth_iam",
    "proxy_key",
    "setup_home",
]
