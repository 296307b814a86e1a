"""The organization policy is enforced by the real sidecar on every route and both paths.

One sidecar serves ``internal-model`` (fast path), ``internal-model-litellm`` (the same
upstream through LiteLLM, see test_fast_path.py) and ``blocked-model`` (an upstream model a
policy denies). Policies and usage arrive over stdin as the agent sends them; the token sent
after them is acknowledged only once the lines before it were applied.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.sidecar import Sidecar, chat_model, mock_model, write_effective_config
from tests.sidecar.common import (
    DEMO_MODEL,
    INTERNAL_MODEL,
    MESSAGES,
    PROJECT,
    ROUTES,
    Route,
    fresh_token,
    start,
)
from tests.standins.llm import StandInLLM

pytestmark = pytest.mark.timeout(360)

TWIN_MODEL = "internal-model-litellm"
BLOCKED_MODEL = "blocked-model"
BLOCKED_ID = "blocked-deployment-id"  # its model_info.id: LiteLLM routes that name too
SPEC = {"token": ["token"], "literal": {"project": PROJECT}}
INJECT = {INTERNAL_MODEL: SPEC, TWIN_MODEL: SPEC, BLOCKED_MODEL: SPEC}
LITELLM_MARK = "x-litellm-call-id"
POLICY_TEXT = "not allowed by your organization's policy"


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory, llm: StandInLLM) -> Path:
    directory = tmp_path_factory.mktemp("policy")
    twin = chat_model(TWIN_MODEL, llm.url + "/v1", rpm=100000)
    twin["litellm_params"]["model"] = f"hosted_vllm/{INTERNAL_MODEL}"
    models = [
        chat_model(INTERNAL_MODEL, llm.url + "/v1"),
        twin,
        {
            **chat_model(BLOCKED_MODEL, llm.url + "/v1"),
            "model_info": {"id": "blocked-deployment-id"},
        },
        mock_model(DEMO_MODEL),
    ]
    return write_effective_config(directory, models)


@pytest.fixture(scope="module")
def sidecar(config_path: Path) -> Iterator[Sidecar]:
    running = start(config_path, inject=INJECT, extra_env={"LITELLM_BRIDGE_FAST_PATH": "on"})
    running.send_token(*fresh_token())
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_policy_afterwards(sidecar: Sidecar) -> Iterator[None]:
    yield
    apply(sidecar, None)


def finished_requests(sidecar: Sidecar) -> int:
    """Requests that ended so far, from the ordered ``load`` events (each end lowers it)."""
    ended, previous = 0, 0
    for event in list(sidecar.events):
        if event.get("event") == "load":
            ended += event["in_flight"] < previous
            previous = event["in_flight"]
    return ended


def quiesce(sidecar: Sidecar) -> int:
    """Wait until no request is in flight and every ended request's event is out; the number
    of request events. (A client has its answer before the sidecar ends the request: the
    last ``load`` event may still say 1.)"""

    def idle(_: object) -> bool:
        loads = [e for e in list(sidecar.events) if e.get("event") == "load"]
        return not loads or loads[-1]["in_flight"] == 0

    sidecar.wait_event(idle)
    ended = finished_requests(sidecar)
    sidecar.wait_event(lambda _: len(sidecar.request_events()) >= ended)
    return len(sidecar.request_events())


def apply(
    sidecar: Sidecar, policy: dict[str, Any] | None, usage: dict[str, Any] | None = None
) -> None:
    """Send usage and policy as the agent does; return once the sidecar applied them."""
    if usage is not None:
        sidecar.send({"type": "usage", "usage": usage})
    sidecar.send({"type": "policy", "policy": policy})
    sidecar.send_token(*fresh_token())


def post(
    sidecar: Sidecar, route: Route, model: str, extra: dict[str, Any] | None = None
) -> httpx.Response:
    path = route.path.replace(INTERNAL_MODEL, model)
    body = dict(route.body)
    if not path.startswith("/v1beta"):
        body["model"] = model
    body.update(extra or {})
    return httpx.post(
        sidecar.url + path, json=body, headers=route.headers(sidecar.master_key), timeout=60
    )


def route(name: str) -> Route:
    return next(r for r in ROUTES if r.name == name)


def listed(sidecar: Sidecar) -> set[str]:
    response = httpx.get(sidecar.url + "/v1/models", headers=sidecar.auth, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-length"] == str(len(response.content))
    return {entry["id"] for entry in response.json()["data"]}


def wait_refused(sidecar: Sidecar, start: int, reason: str) -> dict[str, Any]:
    """The request event of a refusal after the first ``start`` request events.

    Events are not in request order (a served request's comes when LiteLLM logged it).
    """

    def found() -> dict[str, Any] | None:
        later = sidecar.request_events()[start:]
        return next((e for e in later if e.get("refused") == reason), None)

    sidecar.wait_event(lambda _: found() is not None)
    event = found()
    assert event is not None
    return event


# -- models ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ROUTES, ids=[r.name for r in ROUTES])
def test_denied_model_is_403_on_every_route_with_nothing_upstream(
    sidecar: Sidecar, llm: StandInLLM, case: Route
) -> None:
    apply(sidecar, {"models": {"allow": None, "deny": ["blocked-*"]}})
    llm.clear()
    seen = len(sidecar.request_events())
    response = post(sidecar, case, BLOCKED_MODEL)
    assert response.status_code == 403, response.text
    payload = response.json()
    if case.name.startswith("messages"):
        assert payload["type"] == "error"
        assert payload["error"]["type"] == "permission_error"
        message = payload["error"]["message"]
    else:
        assert payload["error"]["code"] == "403"
        message = payload["error"]["message"]
    assert POLICY_TEXT in message and BLOCKED_MODEL in message
    assert llm.requests == [], "nothing may reach the upstream"
    event = wait_refused(sidecar, seen, "model_denied")
    assert event["status"] == 403
    assert event["error"] == "PolicyRefused" and event["model"] == BLOCKED_MODEL
    # The same route still serves an allowed model.
    assert post(sidecar, case, INTERNAL_MODEL).status_code == 200


@pytest.mark.parametrize(
    ("how", "path", "content"),
    [
        # LiteLLM prefers an Azure-style ?model= over the body's model.
        ("query", "/v1/chat/completions?model=blocked-model", None),
        ("encoded query", "/v1/embeddings?mod%65l=blocked-model", None),
        # A comma-separated model runs as a batch over each model.
        ("list", "/v1/chat/completions", {"model": "internal-model,blocked-model"}),
        # LiteLLM's router fallbacks named in the body.
        (
            "fallbacks",
            "/v1/chat/completions",
            {"context_window_fallbacks": [{"internal-model": ["blocked-model"]}]},
        ),
        (
            "fallbacks",
            "/v1/chat/completions",
            {"content_policy_fallbacks": [{"internal-model": ["blocked-model"]}]},
        ),
    ],
)
def test_a_denied_model_cannot_be_reached_another_way(
    sidecar: Sidecar, llm: StandInLLM, how: str, path: str, content: dict[str, Any] | None
) -> None:
    apply(sidecar, {"models": {"allow": None, "deny": ["blocked-*"]}})
    llm.clear()
    body: dict[str, Any] = {"model": INTERNAL_MODEL, "messages": [{"role": "user", "content": "x"}]}
    if path.startswith("/v1/embeddings"):
        body = {"model": INTERNAL_MODEL, "input": "x"}
    body.update(content or {})
    response = httpx.post(sidecar.url + path, json=body, headers=sidecar.auth, timeout=60)
    assert response.status_code in (400, 403), (how, response.status_code, response.text)
    assert llm.requests == [], f"{how}: nothing may reach the upstream"


def test_a_body_the_policy_cannot_read_a_model_from_is_refused(
    sidecar: Sidecar, llm: StandInLLM
) -> None:
    apply(sidecar, {"models": {"allow": None, "deny": ["blocked-*"]}})
    llm.clear()
    response = httpx.post(
        sidecar.url + "/v1/embeddings",
        content=b"model=blocked-model&input=hi",
        headers={**sidecar.auth, "content-type": "application/x-www-form-urlencoded"},
        timeout=60,
    )
    assert response.status_code == 400, response.text
    assert (
        'checked on the JSON body\'s one \\"model\\"' in response.text or "model" in response.text
    )
    assert llm.requests == []


@pytest.mark.parametrize("path", ["/v1/completions", "/v1/embeddings", "/v1/responses"])
def test_a_body_that_is_json_and_a_form_cannot_name_two_models(
    sidecar: Sidecar, llm: StandInLLM, path: str
) -> None:
    # Valid JSON naming an allowed model, and a valid form naming a denied one: the policy
    # reads the JSON, so LiteLLM must too (the body is declared JSON before it sees it).
    apply(sidecar, {"models": {"allow": None, "deny": ["blocked-*"]}})
    llm.clear()
    form = f"&model={BLOCKED_MODEL}&prompt=hello&input=hello&"
    body = json.dumps({"model": INTERNAL_MODEL, "prompt": "x", "input": "x", "z": form})
    httpx.post(
        sidecar.url + path,
        content=body.encode(),
        headers={**sidecar.auth, "content-type": "application/x-www-form-urlencoded"},
        timeout=60,
    )
    reached = {str((r.body or {}).get("model")) for r in llm.requests if isinstance(r.body, dict)}
    assert not any(BLOCKED_MODEL in m for m in reached), reached


@pytest.mark.parametrize("name", [f"hosted_vllm/{BLOCKED_MODEL}", BLOCKED_ID])
def test_a_denied_model_named_by_its_deployment_is_refused(
    sidecar: Sidecar, llm: StandInLLM, name: str
) -> None:
    # LiteLLM's router serves a request naming a deployment's litellm_params.model or its
    # model_info.id; the policy resolves both to the model_name and refuses what it cannot.
    apply(sidecar, {"models": {"allow": None, "deny": ["blocked-*"]}})
    llm.clear()
    response = post(sidecar, route("chat"), name)
    assert response.status_code == 403, response.text
    assert llm.requests == []
    unknown = post(sidecar, route("chat"), "no-such-deployment")
    assert unknown.status_code == 403 and "not one of the configured models" in unknown.text


def test_models_listing_leaves_out_denied_models(sidecar: Sidecar) -> None:
    assert BLOCKED_MODEL in listed(sidecar)
    apply(sidecar, {"models": {"allow": ["internal-*", DEMO_MODEL], "deny": [TWIN_MODEL]}})
    assert listed(sidecar) == {INTERNAL_MODEL, DEMO_MODEL}
    short = httpx.get(sidecar.url + "/models", headers=sidecar.auth, timeout=30)
    assert {entry["id"] for entry in short.json()["data"]} == {INTERNAL_MODEL, DEMO_MODEL}


def test_allow_list_refuses_every_other_model_on_both_paths(sidecar: Sidecar) -> None:
    apply(sidecar, {"models": {"allow": [INTERNAL_MODEL], "deny": []}})
    chat = route("chat")
    fast = post(sidecar, chat, INTERNAL_MODEL)
    assert fast.status_code == 200 and LITELLM_MARK not in fast.headers
    assert post(sidecar, chat, TWIN_MODEL).status_code == 403
    assert post(sidecar, chat, DEMO_MODEL).status_code == 403


def test_without_a_policy_nothing_changes(sidecar: Sidecar, llm: StandInLLM) -> None:
    apply(sidecar, {"models": {"allow": [], "deny": []}})
    assert post(sidecar, route("chat"), BLOCKED_MODEL).status_code == 403
    apply(sidecar, None)
    llm.clear()
    response = post(sidecar, route("chat"), BLOCKED_MODEL)
    assert response.status_code == 200, response.text
    assert len(llm.completions()) == 1
    assert BLOCKED_MODEL in listed(sidecar)


# -- rate limits -----------------------------------------------------------------------------

# (route, model, which path answers): each case gets a limit of its own, so fresh buckets.
LIMIT_CASES = [
    ("chat", INTERNAL_MODEL, "fast"),
    ("chat", TWIN_MODEL, "litellm"),
    ("chat-stream", INTERNAL_MODEL, "fast"),
    ("chat-stream", TWIN_MODEL, "litellm"),
    ("messages", INTERNAL_MODEL, "fast"),
    ("messages-stream", TWIN_MODEL, "litellm"),
]
LIMIT_IDS = [f"{name}-{path}" for name, _, path in LIMIT_CASES]


def assert_answered_by(response: httpx.Response, path: str) -> None:
    assert response.status_code == 200, response.text
    assert (LITELLM_MARK in response.headers) == (path == "litellm"), dict(response.headers)


def assert_rate_limited(response: httpx.Response, case: str, limit_word: str) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    payload = response.json()
    error = payload["error"]
    if case.startswith("messages"):
        assert payload["type"] == "error" and error["type"] == "rate_limit_error"
    else:
        assert error["code"] == "429"
    assert limit_word in error["message"] and "policy" in error["message"]


@pytest.mark.parametrize(("index", "case"), list(enumerate(LIMIT_CASES)), ids=LIMIT_IDS)
def test_rpm_is_429_with_retry_after_and_openai_headers(
    sidecar: Sidecar, llm: StandInLLM, index: int, case: tuple[str, str, str]
) -> None:
    name, model, path = case
    rpm = index + 2
    apply(sidecar, {"limits": {"rpm": rpm}})
    for _ in range(rpm):
        assert_answered_by(post(sidecar, route(name), model), path)
    llm.clear()
    seen = len(sidecar.request_events())
    refused = post(sidecar, route(name), model)
    assert_rate_limited(refused, name, f"{rpm} requests per minute")
    assert refused.headers["x-ratelimit-limit-requests"] == str(rpm)
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-reset-requests"].endswith("s")
    assert llm.requests == []
    assert wait_refused(sidecar, seen, "rpm")["status"] == 429


def test_per_model_rpm_limits_only_that_model(sidecar: Sidecar) -> None:
    apply(sidecar, {"limits": {"per_model": {TWIN_MODEL: {"rpm": 1}}}})
    chat = route("chat")
    assert post(sidecar, chat, TWIN_MODEL).status_code == 200
    seen = len(sidecar.request_events())
    refused = post(sidecar, chat, TWIN_MODEL)
    assert_rate_limited(refused, "chat", f"for model {TWIN_MODEL!r}")
    assert wait_refused(sidecar, seen, "model_rpm")["model"] == TWIN_MODEL
    assert post(sidecar, chat, INTERNAL_MODEL).status_code == 200


@pytest.mark.parametrize(("index", "case"), list(enumerate(LIMIT_CASES)), ids=LIMIT_IDS)
def test_tpm_is_429_once_a_request_spent_the_tokens(
    sidecar: Sidecar, llm: StandInLLM, index: int, case: tuple[str, str, str]
) -> None:
    name, model, path = case
    tpm = index + 1  # no more than any one answer uses (the fewest: 3 in, 3 out)
    # Earlier tests' requests are charged when their usage is known, which on a busy machine
    # can be after they answered: wait for all of them before the new bucket starts counting.
    seen = quiesce(sidecar)
    apply(sidecar, {"limits": {"tpm": tpm}})
    assert_answered_by(post(sidecar, route(name), model), path)
    # Tokens are charged when the request's usage is known, before its event goes out.
    (spent,) = sidecar.wait_request_events(seen, 1)
    assert (spent["tokens_in"] or 0) + (spent["tokens_out"] or 0) >= tpm, spent
    llm.clear()
    refused = post(sidecar, route(name), model)
    assert_rate_limited(refused, name, f"{tpm} tokens per minute")
    assert refused.headers["x-ratelimit-limit-tokens"] == str(tpm)
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"
    assert llm.requests == []
    assert wait_refused(sidecar, seen, "tpm")["status"] == 429


def test_max_parallel_refuses_while_a_stream_is_open(sidecar: Sidecar, llm: StandInLLM) -> None:
    apply(sidecar, {"limits": {"max_parallel": 1}})
    llm.clear()
    llm.inject_fault("hold")
    body = {"model": INTERNAL_MODEL, "messages": MESSAGES, "stream": True}
    first: dict[str, Any] = {}

    def open_stream() -> None:
        with httpx.stream(
            "POST",
            sidecar.url + "/v1/chat/completions",
            json=body,
            headers=sidecar.auth,
            timeout=60,
        ) as response:
            first["status"] = response.status_code
            first["text"] = b"".join(response.iter_bytes()).decode()

    thread = threading.Thread(target=open_stream)
    thread.start()
    deadline = time.monotonic() + 30
    while not llm.completions() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert llm.completions(), "the held stream never reached the upstream"
    try:
        refused = post(sidecar, route("messages"), INTERNAL_MODEL)
        assert refused.status_code == 429, refused.text
        assert "at most 1 at a time" in refused.json()["error"]["message"]
        assert refused.headers["retry-after"] == "1"
    finally:
        llm.release()
        thread.join(60)
    assert first["status"] == 200 and "[DONE]" in first["text"]
    # The stream's end freed its place.
    assert post(sidecar, route("chat"), INTERNAL_MODEL).status_code == 200


# -- quotas ----------------------------------------------------------------------------------


def usage(requests_today: int = 0, tokens_today: int = 0, tokens_month: int = 0) -> dict[str, Any]:
    now = time.time()
    return {
        "employee_id": "employee-1",
        "period": {
            "day": time.strftime("%Y-%m-%d"),
            "month": time.strftime("%Y-%m"),
            "timezone": "UTC",
        },
        "requests_today": requests_today,
        "tokens_today": tokens_today,
        "tokens_month": tokens_month,
        "resets": {"day": now + 3600, "month": now + 7 * 86400},
    }


def test_request_quota_counts_the_agents_usage_and_this_sidecars_own(
    sidecar: Sidecar, llm: StandInLLM
) -> None:
    quota = {"quota": {"requests_per_day": 5, "timezone": "UTC"}}
    apply(sidecar, quota, usage(requests_today=5))
    llm.clear()
    seen = len(sidecar.request_events())
    refused = post(sidecar, route("chat"), INTERNAL_MODEL)
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["type"] == "insufficient_quota"
    assert "daily request quota of 5 requests reached" in error["message"]
    assert "resets at" in error["message"]
    assert 3000 <= int(refused.headers["retry-after"]) <= 3601
    assert llm.requests == []
    assert wait_refused(sidecar, seen, "requests_per_day")["status"] == 429
    # The agent's new count: one left, which this sidecar counts itself.
    apply(sidecar, quota, usage(requests_today=4))
    assert post(sidecar, route("chat"), INTERNAL_MODEL).status_code == 200
    assert post(sidecar, route("chat"), TWIN_MODEL).status_code == 429


def test_monthly_token_quota_refuses_messages_in_anthropic_shape(sidecar: Sidecar) -> None:
    apply(sidecar, {"quota": {"tokens_per_month": 1000}}, usage(tokens_month=1000))
    refused = post(sidecar, route("messages"), INTERNAL_MODEL)
    assert refused.status_code == 429, refused.text
    payload = refused.json()
    assert payload["type"] == "error" and payload["error"]["type"] == "rate_limit_error"
    assert "monthly token quota of 1000 tokens" in payload["error"]["message"]
    apply(sidecar, {"quota": {"tokens_per_month": 1000}}, usage(tokens_month=10))
    assert post(sidecar, route("messages"), INTERNAL_MODEL).status_code == 200
