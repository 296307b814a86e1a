"""Warm-up: exercise the proxy in-process before it accepts, with no traffic upstream.

The first request on a fresh process pays for lazy imports and first-use caches along the
auth, routing, hook and logging paths (about two seconds, more per route). Sending one request
of each kind in-process pays that before the socket opens. While ``STATE.warming`` is set the
bridge hook answers every deployment call with a ``mock_response`` (LiteLLM drops that field
when a client sends it, so it must be set at the deployment level): nothing reaches the
internal API.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

import httpx

from sidecar.asgi import ASGIApp

_BASE_URL = "http://sidecar.warmup"


class WarmupIncomplete(Exception):
    """Some warm-up requests failed; the process is still usable, only colder."""

    def __init__(self, failures: str, steps: list[tuple[str, float]]) -> None:
        super().__init__(failures)
        self.steps = steps


def pick_model(names: list[str], preferred: Collection[str]) -> str | None:
    """A model the injection applies to when there is one: that path is the one to warm."""
    for name in names:
        if name in preferred:
            return name
    return names[0] if names else None


def _router_model_names() -> list[str]:
    from litellm.proxy import proxy_server

    router = proxy_server.llm_router
    if router is None:
        return []
    return [str(name) for name in router.model_names or []]


def _requests(model: str) -> list[tuple[str, str, dict[str, Any]]]:
    messages = [{"role": "user", "content": "warm-up"}]
    chat: dict[str, Any] = {"model": model, "messages": messages}
    anthropic: dict[str, Any] = {"model": model, "max_tokens": 8, "messages": messages}
    responses: dict[str, Any] = {"model": model, "input": "warm-up"}
    gemini: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": "warm-up"}]}]}
    gemini_path = f"/v1beta/models/{model}"
    return [
        ("chat", "/v1/chat/completions", chat),
        ("chat stream", "/v1/chat/completions", {**chat, "stream": True}),
        ("messages", "/v1/messages", anthropic),
        ("messages stream", "/v1/messages", {**anthropic, "stream": True}),
        # No streamed Responses step: LiteLLM's mock answer cannot stream on that bridge;
        # the plain one warms the same path.
        ("responses", "/v1/responses", responses),
        ("gemini", f"{gemini_path}:generateContent", gemini),
        ("gemini stream", f"{gemini_path}:streamGenerateContent?alt=sse", gemini),
    ]


async def warm_up(
    app: ASGIApp, master_key: str, preferred: Collection[str] = ()
) -> list[tuple[str, float]]:
    """Run the warm-up requests; returns (step, milliseconds) for the log."""
    steps: list[tuple[str, float]] = []
    failures: list[str] = []
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {master_key}"}
    async with httpx.AsyncClient(
        transport=transport, base_url=_BASE_URL, headers=headers, timeout=30
    ) as client:
        began = time.monotonic()
        await client.get("/health/liveliness")
        steps.append(("liveliness", (time.monotonic() - began) * 1000))
        model = pick_model(_router_model_names(), preferred)
        if model is None:
            return steps
        for name, path, body in _requests(model):
            began = time.monotonic()
            response = await client.post(path, json=body)
            steps.append((name, (time.monotonic() - began) * 1000))
            if response.status_code != 200:
                failures.append(f"{name} {response.status_code}")
    if failures:
        raise WarmupIncomplete(", ".join(failures), steps)
    return steps
