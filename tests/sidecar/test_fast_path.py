"""The fast path keeps every guarantee of the LiteLLM path for the chat requests it serves.

One sidecar with the fast path on serves two models with the same upstream: ``internal-model``
is eligible, ``internal-model-litellm`` is not (its ``rpm`` is LiteLLM's business), so the
same request can be compared across both paths. LiteLLM marks its answers with
``x-litellm-call-id``; the fast path does not, which tells the tests who answered.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.sidecar import Sidecar, chat_model, mock_model, write_effective_config
from tests.sidecar.common import DEMO_MODEL, INTERNAL_MODEL, MESSAGES, PROJECT, fresh_token, start
from tests.standins.llm import StandInLLM
from tests.standins.tokens import verify

pytestmark = pytest.mark.timeout(360)

TWIN_MODEL = "internal-model-litellm"
SPEC = {"token": ["token"], "literal": {"project": PROJECT}}
INJECT = {INTERNAL_MODEL: SPEC, TWIN_MODEL: SPEC}
MESSAGE = 'internal token missing or expired: sign in with "litellm-bridge token login"'
LITELLM_MARK = "x-litellm-call-id"


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory, llm: StandInLLM) -> Path:
    directory = tmp_path_factory.mktemp("fast-path")
    twin = chat_model(TWIN_MODEL, llm.url + "/v1", rpm=100000)
    twin["litellm_params"]["model"] = f"hosted_vllm/{INTERNAL_MODEL}"
    models = [chat_model(INTERNAL_MODEL, llm.url + "/v1"), twin, mock_model(DEMO_MODEL)]
    return write_effective_config(directory, models)


@pytest.fixture(scope="module")
def sidecar(config_path: Path) -> Iterator[Sidecar]:
    running = start(config_path, inject=INJECT, extra_env={"LITELLM_BRIDGE_FAST_PATH": "on"})
    running.send_token(*fresh_token())
    yield running
    running.stop()


def chat(
    sidecar: Sidecar,
    model: str = INTERNAL_MODEL,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"model": model, "messages": MESSAGES, **(extra or {})}
    return httpx.post(
        sidecar.url + "/v1/chat/completions",
        json=body,
        headers=sidecar.auth if headers is None else headers,
        timeout=60,
    )


def only_completion(llm: StandInLLM) -> dict[str, Any]:
    seen = llm.completions()
    assert len(seen) == 1, [r.body for r in seen]
    body = seen[0].body
    assert isinstance(body, dict)
    return body


STREAMING = pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])


def test_eligible_model_is_on_the_fast_path_and_the_other_is_not(sidecar: Sidecar) -> None:
    log = sidecar.log()
    assert f"fast path on for {INTERNAL_MODEL}" in log
    assert f"fast path: {TWIN_MODEL} goes through LiteLLM" in log
    assert LITELLM_MARK not in chat(sidecar).headers
    assert LITELLM_MARK in chat(sidecar, TWIN_MODEL).headers


@STREAMING
def test_fast_path_carries_token_and_project(
    sidecar: Sidecar, llm: StandInLLM, stream: bool
) -> None:
    llm.clear()
    response = chat(sidecar, extra={"stream": stream})
    assert response.status_code == 200, response.text
    assert LITELLM_MARK not in response.headers
    assert "stand-in" in response.text
    body = only_completion(llm)
    assert verify(body["token"]) is not None
    assert body["project"] == PROJECT
    assert body["model"] == INTERNAL_MODEL
    assert llm.completions()[0].headers["authorization"] == "Bearer none"
    if stream:
        assert response.text.rstrip().endswith("data: [DONE]")
        assert '"usage"' not in response.text  # the client did not ask for it


@STREAMING
def test_fast_path_strips_client_overrides(sidecar: Sidecar, llm: StandInLLM, stream: bool) -> None:
    llm.clear()
    override = {
        "stream": stream,
        "token": "client-token",
        "project": "client-project",
        "extra_body": {"token": "client-token", "project": "client-project", "tag": "kept"},
    }
    response = chat(sidecar, extra=override)
    assert response.status_code == 200, response.text
    assert LITELLM_MARK not in response.headers
    body = only_completion(llm)
    assert verify(body["token"]) is not None
    assert body["project"] == PROJECT
    assert body["tag"] == "kept"
    assert "extra_body" not in body
    assert "client-token" not in json.dumps(body)
    assert "client-project" not in json.dumps(body)


@STREAMING
def test_fast_path_sends_upstream_what_litellm_sends(
    sidecar: Sidecar, llm: StandInLLM, stream: bool
) -> None:
    extra = {
        "stream": stream,
        "temperature": 0.2,
        "max_tokens": 20,
        "stop": ["\n\n"],
        "seed": 7,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "read_file",
                    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
                },
            }
        ],
        "tool_choice": "auto",
        "extra_body": {"tag": "kept"},
        "project": "client-project",
    }
    bodies = []
    for model in (INTERNAL_MODEL, TWIN_MODEL):
        llm.clear()
        response = chat(sidecar, model, extra)
        assert response.status_code == 200, response.text
        bodies.append(only_completion(llm))
    fast, litellm = bodies
    assert fast == litellm


KEY_MESSAGE = 'missing or wrong API key: use the key from "litellm-bridge key"'


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Bearer sk-not-the-key-but-long-enough"}, {"x-api-key": "sk-wrong"}, {}],
    ids=["wrong-bearer", "wrong-x-api-key", "missing"],
)
def test_wrong_or_missing_master_key_is_the_same_401_on_both_paths(
    sidecar: Sidecar, llm: StandInLLM, headers: dict[str, str]
) -> None:
    llm.clear()
    fast = chat(sidecar, headers=headers)
    litellm = chat(sidecar, TWIN_MODEL, headers=headers)
    assert fast.status_code == 401
    assert (fast.status_code, fast.json()) == (litellm.status_code, litellm.json())
    assert fast.json()["error"]["message"] == KEY_MESSAGE
    assert llm.completions() == []


def test_fast_path_takes_the_key_in_any_header_a_client_sends_it(
    sidecar: Sidecar, llm: StandInLLM
) -> None:
    llm.clear()
    response = chat(sidecar, headers={"x-api-key": sidecar.master_key})
    assert response.status_code == 200, response.text
    assert LITELLM_MARK not in response.headers
    assert len(llm.completions()) == 1


@STREAMING
def test_client_upstream_headers_are_stripped_on_both_paths_alike(
    sidecar: Sidecar, llm: StandInLLM, stream: bool
) -> None:
    overrides = {
        "stream": stream,
        "extra_headers": {"Authorization": "Bearer client", "X-Client": "client"},
        "headers": {"X-Client": "client"},
        "extra_query": {"client": "1"},
    }
    seen = []
    for model in (INTERNAL_MODEL, TWIN_MODEL):
        llm.clear()
        response = chat(sidecar, model, overrides)
        assert response.status_code == 200, response.text
        assert (LITELLM_MARK in response.headers) == (model == TWIN_MODEL)
        (request,) = llm.completions()
        seen.append(request)
    fast, litellm = seen
    for request in seen:
        assert request.headers["authorization"] == "Bearer none"
        assert "x-client" not in request.headers
        assert request.query == ""
    assert fast.body == litellm.body


@STREAMING
def test_no_token_is_the_same_401_and_nothing_goes_upstream(
    sidecar: Sidecar, llm: StandInLLM, stream: bool
) -> None:
    sidecar.send_token(None, None)
    try:
        llm.clear()
        fast = chat(sidecar, extra={"stream": stream})
        litellm = chat(sidecar, TWIN_MODEL, extra={"stream": stream})
    finally:
        sidecar.send_token(*fresh_token())
    assert fast.status_code == 401
    assert LITELLM_MARK not in fast.headers
    assert fast.json() == litellm.json()
    assert MESSAGE in fast.json()["error"]["message"]
    assert llm.completions() == []


def test_fast_path_emits_request_metrics_without_content(sidecar: Sidecar) -> None:
    before = len(sidecar.request_events())
    assert chat(sidecar).status_code == 200
    assert chat(sidecar, extra={"stream": True}).status_code == 200
    usage = {"stream": True, "stream_options": {"include_usage": True}}
    with_usage = chat(sidecar, extra=usage)
    assert '"usage"' in with_usage.text  # asked for: passed on

    # Late events of earlier LiteLLM requests (other models) may arrive meanwhile.
    def ours() -> list[dict[str, Any]]:
        return [e for e in sidecar.request_events()[before:] if e["model"] == INTERNAL_MODEL]

    sidecar.wait_event(lambda _: len(ours()) >= 3)
    plain, streamed, asked = sorted(ours(), key=lambda e: (e["stream"], e["latency_ms"]))
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
    for event in (streamed, asked):
        assert event["stream"] is True
        assert event["tokens_out"] == 3
        assert event["model"] == INTERNAL_MODEL
    everything = json.dumps(sidecar.events)
    assert "secret prompt text" not in everything
    assert "stand-in says hello" not in everything


def test_refused_request_is_counted(sidecar: Sidecar) -> None:
    sidecar.send_token(None, None)
    try:
        before = len(sidecar.request_events())
        assert chat(sidecar).status_code == 401
    finally:
        sidecar.send_token(*fresh_token())
    event = sidecar.wait_event(
        lambda e: e in sidecar.request_events()[before:] and e.get("status") == 401
    )
    assert event["model"] == INTERNAL_MODEL
    assert "error" in event


@pytest.mark.parametrize(
    "extra",
    [
        {"metadata": {"tags": ["a"]}},
        {"user": "someone"},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
        {"tools": [{"type": "function", "function": {"name": "f", "strict": True}}]},
    ],
    ids=["metadata", "user", "content-parts", "strict-tool"],
)
def test_requests_litellm_would_change_go_through_litellm(
    sidecar: Sidecar, llm: StandInLLM, extra: dict[str, Any]
) -> None:
    llm.clear()
    response = chat(sidecar, extra=extra)
    assert response.status_code == 200, response.text
    assert LITELLM_MARK in response.headers
    body = only_completion(llm)
    assert verify(body["token"]) is not None
    assert body["project"] == PROJECT


def test_models_outside_the_fast_path_still_work(sidecar: Sidecar) -> None:
    response = chat(sidecar, DEMO_MODEL)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "demo says hello"


def test_upstream_errors_are_retried_then_reported(sidecar: Sidecar, llm: StandInLLM) -> None:
    llm.clear()
    before = len(sidecar.request_events())
    llm.inject_fault("error", count=10)
    try:
        response = chat(sidecar)
    finally:
        llm.clear()
    assert response.status_code == 500
    assert "error" in response.json()
    # Events of earlier requests may still arrive (LiteLLM logs them late): pick this one.
    event = sidecar.wait_event(
        lambda e: e in sidecar.request_events()[before:] and e.get("status") == 500
    )
    assert event["error"] == "InternalServerError"
    llm.inject_fault("error", count=1)
    try:
        assert chat(sidecar).status_code == 200  # one failure: the retry answers
    finally:
        llm.clear()


def test_drain_closes_kept_alive_connections_and_waits_for_streams(
    sidecar: Sidecar, llm: StandInLLM
) -> None:
    # Last in this module: it ends the shared sidecar.
    llm.clear()
    llm.inject_fault("hold")
    lines: list[str] = []
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
                    lines.append(line)
        except BaseException as exc:  # reported in the main thread
            failure.append(exc)

    reader = threading.Thread(target=stream)
    reader.start()
    deadline = time.monotonic() + 30
    while not any("stand-in" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=sidecar.url, headers=sidecar.auth, timeout=60) as kept:
            # Opened just before the drain: it must not reach uvicorn's keep-alive timeout.
            demo = {"model": DEMO_MODEL, "messages": MESSAGES}
            assert kept.post("/v1/chat/completions", json=demo).status_code == 200
            os.kill(sidecar.pid, signal.SIGTERM)
            sidecar.wait_event(lambda e: e.get("event") == "draining", 30)
            assert sidecar.proc.poll() is None, "exited while a stream was in flight"
            # The kept-alive connection still reaches this sidecar: told to close.
            during = kept.post(
                "/v1/chat/completions", json={"model": INTERNAL_MODEL, "messages": MESSAGES}
            )
    finally:
        llm.release()
    reader.join(30)
    assert failure == []
    assert "data: [DONE]" in lines
    assert during.status_code == 200, during.text
    assert LITELLM_MARK not in during.headers
    assert during.headers.get("connection") == "close"
    assert sidecar.wait(30) == 0
