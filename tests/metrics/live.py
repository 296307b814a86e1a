"""A real agent with the stand-in IAM and LLM, shared by a test module (starts are slow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.agentproc import AgentProc, cli, env_for, token_login, write_config
from tests.conftest import free_port
from tests.standins.iam import StandinIam
from tests.standins.llm import StandInLLM

PASSWORD = "correct horse"
CLIENT_SECRET = "client-s3cret"
LLM_KEY = "llm-key-value-1234"
MODEL = "corp-llm"
_URLS: dict[int, str] = {}


def corp_model(llm: StandInLLM) -> dict[str, Any]:
    return {
        "model_name": MODEL,
        "litellm_params": {
            "model": "hosted_vllm/internal-model",
            "api_base": llm.url + "/v1",
            "api_key": "os.environ/CORP_LLM_KEY",
            "max_retries": 0,
            "extra_body": {
                "token": "os.environ/LITELLM_BRIDGE_TOKEN",
                "project": "os.environ/CORP_PROJECT",
            },
        },
    }


def oauth_iam(iam: StandinIam, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "oauth2-password",
        "token_url": iam.url + "/oauth/token",
        "client_id": "bridge",
        "client_secret": "os.environ/CORP_IAM_SECRET",
        "timeout": 5,
        **extra,
    }


def setup_home(
    home: Path,
    iam: StandinIam,
    llm: StandInLLM,
    *,
    port: int | None = None,
    env_values: dict[str, tuple[str, bool]] | None = None,
    iam_extra: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Config + env entries; returns the environment for CLI calls in this home."""
    write_config(
        home,
        port or free_port(),
        extra_models=[corp_model(llm)],
        bridge={"iam": oauth_iam(iam, **(iam_extra or {}))},
    )
    env = env_for(home)
    values = {
        "CORP_PROJECT": ("proj-42", False),
        "CORP_LLM_KEY": (LLM_KEY, True),
        "CORP_IAM_SECRET": (CLIENT_SECRET, True),
        **(env_values or {}),
    }
    for name, (value, secret) in values.items():
        args = ["env", "set", name, value] + (["--secret"] if secret else [])
        r = cli(home, *args, env=env)
        assert r.returncode == 0, r.stderr
    return env


def login(home: Path, env: dict[str, str], password: str = PASSWORD) -> None:
    r = token_login(home, env, password + "\n")
    assert r.returncode == 0, r.stderr + r.stdout


def proxy_key(agent: AgentProc) -> str:
    return cli(agent.home, "key", env=agent.env).stdout.strip()


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
