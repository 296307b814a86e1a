"""Shared pieces of the sidecar tests: models, injection spec, routes, launching."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.helpers.sidecar import Sidecar, launch_sidecar
from tests.standins.tokens import mint

INTERNAL_MODEL = "internal-model"
DEMO_MODEL = "demo"
# An upstream model outside the injection spec: the stand-in answers it without a token.
OPEN_MODEL = "open-model"
PROJECT = "proj-42"
INJECT: dict[str, Any] = {
    INTERNAL_MODEL: {"token": ["token"], "literal": {"project": PROJECT}},
}
# Generous: a start takes about 10 s on an idle machine, far more on a busy one.
READY_TIMEOUT = 240.0


def fresh_token(ttl: float = 3600) -> tuple[str, float]:
    return mint("employee-1", ttl)


# The sidecar's fast path is on by default; SIDECAR_TESTS_FAST_PATH=off runs the same
# guarantee tests with every chat request going through LiteLLM and the hook.
FAST_PATH_OVERRIDE = os.environ.get("SIDECAR_TESTS_FAST_PATH")


def start(config_path: Path, **kwargs: Any) -> Sidecar:
    """Launch a sidecar and wait until it is ready; its log is shown if it is not."""
    extra_env = dict(kwargs.pop("extra_env", None) or {})
    if FAST_PATH_OVERRIDE:
        extra_env.setdefault("LITELLM_BRIDGE_FAST_PATH", FAST_PATH_OVERRIDE)
    sidecar = launch_sidecar(
        config_path, inject=kwargs.pop("inject", INJECT), extra_env=extra_env, **kwargs
    )
    try:
        sidecar.wait_ready(READY_TIMEOUT)
    except BaseException:
        sidecar.stop()
        raise
    return sidecar


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    body: dict[str, Any]
    key_header: str

    def headers(self, key: str) -> dict[str, str]:
        if self.key_header == "Authorization":
            return {"Authorization": f"Bearer {key}"}
        return {self.key_header: key}


MESSAGES = [{"role": "user", "content": "secret prompt text"}]
GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "secret prompt text"}]}]}

ROUTES = [
    Route("chat", "/v1/chat/completions", {"messages": MESSAGES}, "Authorization"),
    Route(
        "chat-stream",
        "/v1/chat/completions",
        {"messages": MESSAGES, "stream": True},
        "Authorization",
    ),
    Route("messages", "/v1/messages", {"messages": MESSAGES, "max_tokens": 32}, "x-api-key"),
    Route(
        "messages-stream",
        "/v1/messages",
        {"messages": MESSAGES, "max_tokens": 32, "stream": True},
        "x-api-key",
    ),
    Route("responses", "/v1/responses", {"input": "secret prompt text"}, "Authorization"),
    Route(
        "responses-stream",
        "/v1/responses",
        {"input": "secret prompt text", "stream": True},
        "Authorization",
    ),
    Route(
        "gemini",
        f"/v1beta/models/{INTERNAL_MODEL}:generateContent",
        GEMINI_BODY,
        "x-goog-api-key",
    ),
    Route(
        "gemini-stream",
        f"/v1beta/models/{INTERNAL_MODEL}:streamGenerateContent?alt=sse",
        GEMINI_BODY,
        "x-goog-api-key",
    ),
]


def call(sidecar: Sidecar, route: Route, extra: dict[str, Any] | None = None) -> httpx.Response:
    body = dict(route.body)
    if not route.path.startswith("/v1beta"):
        body["model"] = INTERNAL_MODEL
    body.update(extra or {})
    return httpx.post(
        sidecar.url + route.path, json=body, headers=route.headers(sidecar.master_key), timeout=60
    )
