"""Every client route reaches the internal API with the token and project injected."""

from __future__ import annotations

import json
import os
import signal
import threading
from typing import Any

import httpx
import pytest

from tests.helpers.sidecar import Sidecar
from tests.helpers.wait import wait_until
from tests.sidecar.common import (
    DEMO_MODEL,
    INTERNAL_MODEL,
    MESSAGES,
    OPEN_MODEL,
    PROJECT,
    ROUTES,
    Route,
    call,
)
from tests.standins.llm import StandInLLM
from tests.standins.tokens import verify

pytestmark = pytest.mark.timeout(360)


def only_completion(llm: StandInLLM) -> dict[str, Any]:
    seen = llm.completions()
    assert len(seen) == 1, [r.body for r in seen]
    body = seen[0].body
    assert isinstance(body, dict)
    return body


def test_ready_event_carries_the_pid(sidecar: Sidecar) -> None:
    ready = sidecar.wait_ready(1)
    assert ready == {"event": "ready", "pid": sidecar.pid}


def test_chat_works_with_the_master_key(sidecar: Sidecar) -> None:
    response = httpx.post(
        sidecar.url + "/v1/chat/completions",
        json={"model": DEMO_MODEL, "messages": MESSAGES},
        headers=sidecar.auth,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "demo says hello"


def test_wrong_key_is_refused(sidecar: Sidecar, llm: StandInLLM) -> None:
    llm.clear()
    response = httpx.post(
        sidecar.url + "/v1/chat/completions",
        json={"model": INTERNAL_MODEL, "messages": MESSAGES},
        headers={"Authorization": "Bearer sk-not-the-key"},
        timeout=30,
    )
    assert response.status_code == 401
    assert "litellm-bridge key" in response.json()["error"]["message"]
    assert llm.completions() == []


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_route_carries_token_and_project(sidecar: Sidecar, llm: StandInLLM, route: Route) -> None:
    llm.clear()
    response = call(sidecar, route)
    assert response.status_code == 200, response.text
    assert "stand-in" in response.text
    body = only_completion(llm)
    assert verify(body["token"]) is not None
    assert body["project"] == PROJECT


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_client_cannot_override_token_or_project(
    sidecar: Sidecar, llm: StandInLLM, route: Route
) -> None:
    llm.clear()
    override = {
        "token": "client-token",
        "project": "client-project",
        "extra_body": {"token": "client-token", "project": "client-project"},
    }
    response = call(sidecar, route, override)
    assert response.status_code == 200, response.text
    body = only_completion(llm)
    assert verify(body["token"]) is not None
    assert body["project"] == PROJECT
    assert "client-token" not in json.dumps(body)
    assert "client-project" not in json.dumps(body)


@pytest.mark.parametrize(
    ("path", "extra", "key_header"),
    [
        ("/v1/chat/completions", {}, "Authorization"),
        ("/v1/chat/completions", {"stream": True}, "Authorization"),
        ("/v1/messages", {"max_tokens": 8}, "x-api-key"),
    ],
    ids=["chat", "chat-stream", "messages"],
)
def test_models_outside_the_spec_get_nothing_injected(
    sidecar: Sidecar, llm: StandInLLM, path: str, extra: dict[str, Any], key_header: str
) -> None:
    # The sidecar holds a valid token: none of it may reach an upstream outside the spec.
    llm.clear()
    key = f"Bearer {sidecar.master_key}" if key_header == "Authorization" else sidecar.master_key
    response = httpx.post(
        sidecar.url + path,
        json={"model": OPEN_MODEL, "messages": MESSAGES, **extra},
        headers={key_header: key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert "stand-in" in response.text
    seen = llm.completions()
    assert len(seen) == 1, [r.body for r in seen]
    body = seen[0].body
    assert isinstance(body, dict)
    assert body["model"] == OPEN_MODEL
    assert "token" not in body and "project" not in body, body
    assert PROJECT not in json.dumps(body)
    sent = [v.removeprefix("Bearer ") for v in seen[0].headers.values()]
    assert not any(verify(v) for v in [*sent, *map(str, body.values())]), seen[0]


def test_demo_model_is_answered_by_litellm_itself(sidecar: Sidecar, llm: StandInLLM) -> None:
    llm.clear()
    response = httpx.post(
        sidecar.url + "/v1/messages",
        json={"model": DEMO_MODEL, "messages": MESSAGES, "max_tokens": 8},
        headers={"x-api-key": sidecar.master_key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert "demo says hello" in response.text
    assert llm.requests == []


def test_request_metrics_are_emitted_without_content(sidecar: Sidecar, llm: StandInLLM) -> None:
    before = len(sidecar.request_events())
    assert call(sidecar, ROUTES[0]).status_code == 200
    assert call(sidecar, ROUTES[1]).status_code == 200
    # Events are emitted once LiteLLM logged the call, so an earlier request's may come later.
    sidecar.wait_event(
        lambda _: (
            sum(e["route"] == "/v1/chat/completions" for e in sidecar.request_events()[before:])
            >= 2
        )
    )
    plain, streamed = [
        e for e in sidecar.request_events()[before:] if e["route"] == "/v1/chat/completions"
    ]
    assert set(plain) == {
        "event",
        "request_id",
        "client",
        "route",
        "model",
        "status",
        "latency_ms",
        "stream",
        "tokens_in",
        "tokens_out",
    }
    assert plain["route"] == "/v1/chat/completions"
    assert len(plain["request_id"]) == 32 and plain["client"].startswith("python-httpx/")
    assert plain["model"] == INTERNAL_MODEL
    assert plain["status"] == 200
    assert plain["latency_ms"] > 0
    assert plain["stream"] is False
    assert plain["tokens_in"] > 0
    assert plain["tokens_out"] == 3
    assert streamed["stream"] is True
    assert streamed["tokens_out"] == 3
    everything = json.dumps(sidecar.events)
    assert "secret prompt text" not in everything
    assert "stand-in says hello" not in everything


def test_upstream_failures_are_reported_to_client_and_metrics(
    sidecar: Sidecar, llm: StandInLLM
) -> None:
    before = len(sidecar.request_events())
    llm.inject_fault("error", count=10)  # more than LiteLLM's retries
    try:
        response = call(sidecar, ROUTES[0])
    finally:
        llm.clear()
    assert response.status_code >= 500
    # Events arrive once LiteLLM logged each call; take this request's failure event.
    events = sidecar.wait_request_events(before, 1)
    failed = [e for e in events if int(e.get("status") or 0) >= 500]
    event = (failed or events)[-1]
    assert event["status"] == response.status_code
    assert event["model"] == INTERNAL_MODEL
    assert "error" in event


def test_sigterm_drains_an_inflight_stream_then_exits_0(sidecar: Sidecar, llm: StandInLLM) -> None:
    # Last in this module: it ends the shared sidecar.
    llm.inject_fault("hold")
    chunks: list[str] = []
    failure: list[BaseException] = []

    def stream() -> None:
        try:
            with httpx.stream(
                "POST",
                sidecar.url + "/v1/chat/completions",
                json={"model": INTERNAL_MODEL, "messages": MESSAGES, "stream": True},
                headers=sidecar.auth,
                timeout=60,
            ) as response:
                for line in response.iter_lines():
                    chunks.append(line)
        except BaseException as exc:  # reported in the main thread
            failure.append(exc)

    reader = threading.Thread(target=stream)
    with httpx.Client(base_url=sidecar.url, headers=sidecar.auth, timeout=30) as idle:
        # A keep-alive connection opened before the signal: its next response after the
        # signal says "Connection: close", which is how the drain shows from outside.
        demo = {"model": DEMO_MODEL, "messages": MESSAGES}
        assert idle.post("/v1/chat/completions", json=demo).status_code == 200
        reader.start()
        wait_until(
            lambda: failure or any("stand-in" in c for c in chunks), 60, "the stream's first words"
        )
        os.kill(sidecar.pid, signal.SIGTERM)
        wait_until(
            lambda: (
                idle.post("/v1/chat/completions", json=demo).headers.get("connection") == "close"
            ),
            60,
            "a response with Connection: close after SIGTERM",
        )
    assert sidecar.proc.poll() is None, "exited while a stream was in flight"
    llm.release()
    reader.join(30)
    assert failure == []
    assert "data: [DONE]" in chunks
    assert "hello" in "".join(chunks)
    assert sidecar.wait(30) == 0
