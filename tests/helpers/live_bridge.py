"""The live set-up many end-to-end tests share, written once: stand-in IAM and LLM, a
config pointing at them, the env entries it references, a real agent, and a sign-in.

``live_agent`` is the whole sequence as a context manager; ``prepare_home`` and ``sign_in``
are its parts, for tests that start the agent themselves (e.g. to watch it start).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.agentproc import AgentProc, cli, env_for, token_login, write_config
from tests.conftest import free_port
from tests.standins.iam import StandinIam
from tests.standins.llm import StandInLLM

PASSWORD = "correct horse"
"""The stand-in IAM's password for its user e1001."""
CLIENT_SECRET = "client-s3cret"
LLM_KEY = "llm-key-value-1234"
MODEL = "corp-llm"

EnvValues = Mapping[str, tuple[str, bool]]
"""Env entries to store: name -> (value, secret)."""

CORP_ENV: EnvValues = {
    "CORP_PROJECT": ("proj-42", False),
    "CORP_LLM_KEY": (LLM_KEY, True),
    "CORP_IAM_SECRET": (CLIENT_SECRET, True),
}
"""What ``corp_model`` and ``oauth_iam`` reference."""

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def corp_model(
    llm: StandInLLM,
    name: str = MODEL,
    api_key: str = "os.environ/CORP_LLM_KEY",
    max_retries: int | None = 0,
) -> dict[str, Any]:
    """A model served by the stand-in LLM with the token and project injected
    (``max_retries=None`` leaves LiteLLM's default)."""
    params: dict[str, Any] = {
        "model": "hosted_vllm/internal-model",
        "api_base": llm.url + "/v1",
        "api_key": api_key,
        "max_retries": max_retries,
        "extra_body": {
            "token": "os.environ/LITELLM_BRIDGE_TOKEN",
            "project": "os.environ/CORP_PROJECT",
        },
    }
    if max_retries is None:
        del params["max_retries"]  # LiteLLM's own default
    return {"model_name": name, "litellm_params": params}


def oauth_iam(iam: StandinIam, **extra: Any) -> dict[str, Any]:
    """``bridge.iam`` for the stand-in's OAuth2 password grant (client secret from env)."""
    return {
        "kind": "oauth2-password",
        "token_url": iam.url + "/oauth/token",
        "client_id": "bridge",
        "client_secret": "os.environ/CORP_IAM_SECRET",
        "timeout": 5,
        **extra,
    }


def json_iam(
    iam: StandinIam, body: Mapping[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """``bridge.iam`` for the stand-in's JSON login."""
    return {
        "kind": "json",
        "url": iam.url + "/json/login",
        "body": dict(
            body or {"credentials": {"employee_id": "{employee_id}", "password": "{password}"}}
        ),
        "token_path": "data.session.jwt",
        "expires_at_path": "data.session.valid_until",
        **extra,
    }


def prepare_home(
    home: Path,
    *,
    models: Sequence[dict[str, Any]] = (),
    bridge: Mapping[str, Any] | None = None,
    env_values: EnvValues = CORP_ENV,
    port: int | None = None,
    without_proxy: bool = False,
) -> dict[str, str]:
    """Write config.yaml (the demo model plus ``models``) and store ``env_values``; returns
    the environment for the agent and CLI calls in ``home``."""
    write_config(home, port or free_port(), extra_models=list(models), bridge=dict(bridge or {}))
    env = env_for(home)
    if without_proxy:
        for name in PROXY_VARIABLES:
            env.pop(name, None)
    for name, (value, secret) in env_values.items():
        r = cli(home, "env", "set", name, value, *(["--secret"] if secret else []), env=env)
        assert r.returncode == 0, r.stderr
    return env


def sign_in(agent: AgentProc, password: str = PASSWORD, *, remember: bool = False) -> None:
    """``token login`` as e1001, then wait until the agent shows a valid token."""
    extra = ("--remember",) if remember else ()
    r = token_login(agent.home, agent.env, password + "\n", *extra)
    if r.returncode != 0:
        raise AssertionError(f"sign-in failed: {r.stderr}{r.stdout}")
    agent.wait_for(lambda s: s["token"]["state"] == "valid", 60, "a valid token")


@contextlib.contextmanager
def live_agent(
    home: Path,
    *,
    models: Sequence[dict[str, Any]] = (),
    bridge: Mapping[str, Any] | None = None,
    env_values: EnvValues = CORP_ENV,
    edit_env: Callable[[dict[str, str]], None] | None = None,
    without_proxy: bool = False,
    ready_timeout: float = 240,
    signed_in: bool = False,
    remember: bool = False,
) -> Iterator[AgentProc]:
    """A running agent on a fresh home (see ``prepare_home``), signed in when asked; stopped
    on exit. ``edit_env`` may change the agent's environment before it starts."""
    env = prepare_home(
        home, models=models, bridge=bridge, env_values=env_values, without_proxy=without_proxy
    )
    if edit_env is not None:
        edit_env(env)
    agent = AgentProc(home, env=env)
    try:
        agent.wait_running(timeout=ready_timeout)
        if signed_in:
            sign_in(agent, remember=remember)
        yield agent
    finally:
        agent.stop()


def proxy_key(agent: AgentProc) -> str:
    """The bridge key (``litellm-bridge key``)."""
    return cli(agent.home, "key", env=agent.env).stdout.strip()
