"""What a client holding (or missing) the master key can reach and change through the sidecar.

One sidecar serves two models in front of the stand-in: ``internal-model`` has configured
upstream headers, one of them a secret env value (so LiteLLM serves it), ``fast-model`` has
none (so the fast path serves its plain chat requests). Every LiteLLM route outside the
allowlist must answer 404 from the bridge itself; served routes need the key; no answer
carries the secret; client-sent upstream headers never arrive.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sidecar import allowlist
from tests.helpers.sidecar import PROJECT_ROOT, Sidecar, chat_model, write_effective_config
from tests.sidecar.common import (
    GEMINI_BODY,
    INTERNAL_MODEL,
    MESSAGES,
    PROJECT,
    ROUTES,
    Route,
    call,
    fresh_token,
    start,
)
from tests.standins.llm import StandInLLM
from tests.standins.tokens import verify

pytestmark = pytest.mark.timeout(600)

FAST_MODEL = "fast-model"
SPEC = {"token": ["token"], "literal": {"project": PROJECT}}
INJECT = {INTERNAL_MODEL: SPEC, FAST_MODEL: SPEC}
# LiteLLM masks secrets in some answers as their first and last four characters: both ends
# are checked too, and neither can occur by chance in hex ids.
SECRET = "zq" + secrets.token_hex(12) + "xw"
SECRET_PARTS = (SECRET, SECRET[:4], SECRET[-4:])
CONFIGURED_HEADERS = {"X-Api-Key": "os.environ/CORP_SECRET", "X-Fixed": "configured"}
KEY_MESSAGE = 'missing or wrong API key: use the key from "litellm-bridge key"'
NOT_SERVED = "is not served by the bridge"
# Every answer LiteLLM gives carries this header (its security-headers middleware).
LITELLM_MARK = "x-frame-options"
FAST_PATH_MARK = "x-litellm-call-id"  # only LiteLLM's own chat answers carry it


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory, llm: StandInLLM) -> Path:
    directory = tmp_path_factory.mktemp("boundary")
    models = [
        chat_model(INTERNAL_MODEL, llm.url + "/v1", extra_headers=dict(CONFIGURED_HEADERS)),
        chat_model(FAST_MODEL, llm.url + "/v1"),
    ]
    return write_effective_config(directory, models)


@pytest.fixture(scope="module")
def sidecar(config_path: Path) -> Iterator[Sidecar]:
    running = start(
        config_path,
        inject=INJECT,
        extra_env={"CORP_SECRET": SECRET, "LITELLM_BRIDGE_FAST_PATH": "on"},
    )
    running.send_token(*fresh_token())
    yield running
    running.stop()


def assert_no_secret(response: httpx.Response, what: str) -> None:
    text = response.text + json.dumps(dict(response.headers))
    for part in SECRET_PARTS:
        assert part not in text, f"{what} reveals (part of) the secret env value"


# -- every LiteLLM route ----------------------------------------------------------------------

_ENUMERATE = r"""
import json, os, sys
from sidecar.entry import prepare_environment
prepare_environment(os.environ)
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount, WebSocketRoute
from fastapi.routing import APIWebSocketRoute
from litellm.proxy.proxy_server import app
from litellm.proxy._lazy_features import LAZY_FEATURES, register_all_features

register_all_features(app)  # the optional routers LiteLLM otherwise loads on first use
routes = []
for context in iter_route_contexts(app.routes):
    original = context.original_route
    if isinstance(original, (WebSocketRoute, APIWebSocketRoute)):
        kind = "websocket"
    elif isinstance(original, Mount):
        kind = "mount"
    else:
        kind = "http"
    methods = sorted(getattr(context, "methods", None) or ["GET"])
    routes.append({"path": context.path, "methods": methods, "kind": kind})
for feature in LAZY_FEATURES:
    for prefix in feature.path_prefixes:
        routes.append({"path": prefix, "methods": ["GET", "POST"], "kind": "mount"})
json.dump(routes, sys.stdout)
"""


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    kind: str
    body: dict[str, Any] = field(default_factory=dict)


def _concrete(path: str) -> str:
    # A model name where a parameter goes: if anything got through, it would reach upstream.
    return re.sub(r"\{[^}]+\}", INTERNAL_MODEL, path)


def litellm_probes() -> list[Probe]:
    """One request per method of every route of the LiteLLM proxy app, lazy ones included."""
    done = subprocess.run(
        [sys.executable, "-c", _ENUMERATE],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    routes = json.loads(done.stdout)
    assert len(routes) > 300, "LiteLLM's route table looks incomplete"
    body = {"model": INTERNAL_MODEL, "messages": MESSAGES, "input": "x", "prompt": "x"}
    seen: set[tuple[str, str, str]] = set()
    for route in routes:
        path = _concrete(route["path"])
        if route["kind"] == "mount":
            path = path.rstrip("/") + "/probe"
        for method in route["methods"]:
            seen.add(("GET" if method in ("HEAD", "OPTIONS") else method, path, route["kind"]))
    return [
        Probe(method, path, kind, body if method != "GET" else {})
        for method, path, kind in sorted(seen, key=lambda p: (p[1], p[0]))
    ]


def websocket_status(sidecar: Sidecar, path: str) -> str:
    """The status line the sidecar answers a WebSocket upgrade with."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {sidecar.master_key}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", sidecar.port), timeout=10) as sock:
        sock.sendall(request.encode())
        return sock.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def test_every_litellm_route_outside_the_allowlist_is_404_and_reaches_nothing(
    sidecar: Sidecar, llm: StandInLLM
) -> None:
    probes = litellm_probes()
    llm.clear()
    served = 0
    wrong: list[str] = []
    with httpx.Client(base_url=sidecar.url, headers=sidecar.auth, timeout=10) as client:
        for probe in probes:
            if probe.kind == "websocket":
                status = websocket_status(sidecar, probe.path)
                if " 403 " not in status + " ":
                    wrong.append(f"websocket {probe.path}: {status}")
                continue
            if allowlist.match(probe.method, probe.path) is not None:
                served += 1
                continue  # served routes: see the tests below
            try:
                response = client.request(
                    probe.method, probe.path, json=probe.body if probe.body else None
                )
            except httpx.HTTPError as exc:  # it must answer at once: nothing runs behind it
                wrong.append(f"{probe.method} {probe.path}: {type(exc).__name__}")
                continue
            assert_no_secret(response, f"{probe.method} {probe.path}")
            problem = None
            if response.status_code != 404:
                problem = f"status {response.status_code}"
            elif LITELLM_MARK in response.headers:
                problem = "answered by LiteLLM"
            elif NOT_SERVED not in response.json()["error"]["message"]:
                problem = response.text[:200]
            if problem is not None:
                wrong.append(f"{probe.method} {probe.path}: {problem}")
    assert wrong == [], f"{len(wrong)} of {len(probes)} routes: " + "\n".join(wrong[:40])
    assert llm.requests == []
    assert served >= 10  # the client routes are in LiteLLM's table: the probes cover them


def test_the_info_routes_that_stay_reveal_no_secret(sidecar: Sidecar, llm: StandInLLM) -> None:
    llm.clear()
    variants: list[tuple[str, dict[str, str]]] = [
        (path + query, headers)
        for path in ("/v1/models", "/models")
        for query in (
            "",
            "?include_metadata=true",
            "?client_version=0.99.0",
            "?return_wildcard_routes=true&include_model_access_groups=true",
            "?scope=expand",
        )
        for headers in ({}, {"anthropic-version": "2023-06-01"})
    ]
    variants += [("/health/liveliness", {}), ("/health/readiness", {})]
    for path, headers in variants:
        response = httpx.get(sidecar.url + path, headers={**sidecar.auth, **headers}, timeout=30)
        assert response.status_code == 200, (path, response.text)
        assert_no_secret(response, path)
    assert INTERNAL_MODEL in httpx.get(sidecar.url + "/v1/models", headers=sidecar.auth).text
    assert llm.requests == []


def test_upstream_errors_reveal_no_secret(sidecar: Sidecar, llm: StandInLLM) -> None:
    llm.inject_fault("error", count=10)
    try:
        response = call(sidecar, ROUTES[0])
    finally:
        llm.clear()
    assert response.status_code >= 500
    assert_no_secret(response, "an upstream error")


def test_the_probes_need_no_key(sidecar: Sidecar) -> None:
    for path in ("/health/liveliness", "/health/readiness"):
        assert httpx.get(sidecar.url + path, timeout=30).status_code == 200


# -- the key on every served route ------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None
    style: str = "openai"

    def send(self, sidecar: Sidecar, headers: dict[str, str], query: str = "") -> httpx.Response:
        separator = "&" if "?" in self.path else "?"
        url = sidecar.url + self.path + (separator + query if query else "")
        return httpx.request(self.method, url, json=self.body, headers=headers, timeout=60)


CHAT = {"model": INTERNAL_MODEL, "messages": MESSAGES}
ANTHROPIC = {**CHAT, "max_tokens": 16}
GEMINI = f"/v1beta/models/{INTERNAL_MODEL}"
SERVED = [
    Served("chat", "POST", "/v1/chat/completions", CHAT),
    Served("chat-no-v1", "POST", "/chat/completions", CHAT),
    Served("chat-fast-path", "POST", "/v1/chat/completions", {**CHAT, "model": FAST_MODEL}),
    Served("completions", "POST", "/v1/completions", {"model": INTERNAL_MODEL, "prompt": "hi"}),
    Served("completions-no-v1", "POST", "/completions", {"model": INTERNAL_MODEL, "prompt": "x"}),
    Served("embeddings", "POST", "/v1/embeddings", {"model": INTERNAL_MODEL, "input": "hi"}),
    Served("embeddings-no-v1", "POST", "/embeddings", {"model": INTERNAL_MODEL, "input": "x"}),
    Served("responses", "POST", "/v1/responses", {"model": INTERNAL_MODEL, "input": "hi"}),
    Served("responses-no-v1", "POST", "/responses", {"model": INTERNAL_MODEL, "input": "hi"}),
    Served("models", "GET", "/v1/models", None),
    Served("models-no-v1", "GET", "/models", None),
    Served("messages", "POST", "/v1/messages?beta=true", ANTHROPIC, "anthropic"),
    Served("messages-stream", "POST", "/v1/messages", {**ANTHROPIC, "stream": True}, "anthropic"),
    Served("count-tokens", "POST", "/v1/messages/count_tokens", CHAT, "anthropic"),
    Served("gemini", "POST", f"{GEMINI}:generateContent", GEMINI_BODY),
    Served("gemini-stream", "POST", f"{GEMINI}:streamGenerateContent?alt=sse", GEMINI_BODY),
    Served("gemini-count", "POST", f"{GEMINI}:countTokens", GEMINI_BODY),
]
LLM_ROUTES = [s for s in SERVED if s.method == "POST"]
WRONG = "sk-" + "0" * 48


def wrong_credentials(route: Served, key: str) -> list[tuple[str, dict[str, str], str]]:
    """(case, headers, query) that must all be refused: none, wrong, or right beside wrong."""
    cases = [
        ("no-key", {}, ""),
        ("wrong-bearer", {"Authorization": f"Bearer {WRONG}"}, ""),
        ("not-bearer", {"Authorization": key}, ""),
        ("wrong-x-api-key", {"x-api-key": WRONG}, ""),
        ("wrong-goog-key", {"x-goog-api-key": WRONG}, ""),
        ("right-and-wrong", {"Authorization": f"Bearer {key}", "x-api-key": WRONG}, ""),
    ]
    if route.path.startswith("/v1beta"):
        cases.append(("wrong-query-key", {}, f"key={WRONG}"))
    return cases


def right_credentials(route: Served, key: str) -> list[tuple[str, dict[str, str], str]]:
    cases = [
        ("bearer", {"Authorization": f"Bearer {key}"}, ""),
        ("x-api-key", {"x-api-key": key}, ""),
        ("goog-key", {"x-goog-api-key": key}, ""),
        ("both", {"Authorization": f"Bearer {key}", "x-api-key": key}, ""),
    ]
    if ":countTokens" not in route.path and route.path.startswith("/v1beta"):
        cases.append(("query-key", {}, f"key={key}"))  # LiteLLM reads it there only
    return cases


def error_message(response: httpx.Response, style: str) -> str:
    body = response.json()
    if style == "anthropic":
        assert body["type"] == "error"
        assert body["error"]["type"] == "authentication_error"
    else:
        assert body["error"]["type"] == "authentication_error"
        assert body["error"]["code"] == "401"
    return str(body["error"]["message"])


@pytest.mark.parametrize("route", SERVED, ids=lambda r: r.name)
def test_a_missing_or_wrong_key_is_a_clear_401_and_nothing_goes_upstream(
    sidecar: Sidecar, llm: StandInLLM, route: Served
) -> None:
    llm.clear()
    for case, headers, query in wrong_credentials(route, sidecar.master_key):
        response = route.send(sidecar, headers, query)
        assert response.status_code == 401, (case, response.text)
        assert error_message(response, route.style) == KEY_MESSAGE, case
        assert LITELLM_MARK not in response.headers, case
    assert llm.requests == []


@pytest.mark.parametrize("route", SERVED, ids=lambda r: r.name)
def test_the_key_is_accepted_the_way_each_client_sends_it(
    sidecar: Sidecar, llm: StandInLLM, route: Served
) -> None:
    for case, headers, query in right_credentials(route, sidecar.master_key):
        llm.clear()
        response = route.send(sidecar, headers, query)
        assert response.status_code == 200, (case, response.text)
        assert_no_secret(response, route.name)
        for seen in llm.requests:
            assert verify(seen.body["token"]) is not None, case
            assert seen.body["project"] == PROJECT, case
    if route.name.startswith(("models", "count-tokens", "gemini-count")):
        assert llm.requests == []  # answered by the proxy itself
    else:
        assert len(llm.requests) == 1


# -- parameters the bridge refuses --------------------------------------------------------------


@pytest.mark.parametrize("param", ["api_base", "base_url"])
@pytest.mark.parametrize("route", LLM_ROUTES, ids=lambda r: r.name)
def test_a_banned_parameter_is_a_400_with_the_reason(
    sidecar: Sidecar, llm: StandInLLM, route: Served, param: str
) -> None:
    llm.clear()
    assert route.body is not None
    body = {**route.body, param: "http://127.0.0.1:9/collect"}
    response = httpx.post(sidecar.url + route.path, json=body, headers=sidecar.auth, timeout=60)
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert f"{param} is not allowed" in message
    assert "remove it" in message
    assert llm.requests == []


# -- client-sent upstream headers and query parameters ----------------------------------------

OVERRIDES: dict[str, Any] = {
    "extra_headers": {"X-Fixed": "client", "X-Api-Key": "client", "X-Client": "client"},
    "headers": {"X-Fixed": "client", "X-Client": "client"},
    "extra_query": {"client": "1"},
    "provider_specific_header": {
        "custom_llm_provider": "hosted_vllm",
        "extra_headers": {"X-Fixed": "client", "X-Client": "client"},
    },
    "extra_body": {"extra_headers": {"X-Client": "client"}, "extra_query": {"client": "1"}},
}


def only_request(llm: StandInLLM) -> Any:
    seen = llm.requests
    assert len(seen) == 1, [(r.path, r.body) for r in seen]
    return seen[0]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_configured_upstream_headers_arrive_unchanged_and_client_ones_do_not(
    sidecar: Sidecar, llm: StandInLLM, route: Route
) -> None:
    llm.clear()
    response = call(sidecar, route, OVERRIDES)
    assert response.status_code == 200, response.text
    seen = only_request(llm)
    assert seen.headers["x-fixed"] == "configured"
    assert seen.headers["x-api-key"] == SECRET
    assert "x-client" not in seen.headers
    assert seen.query == ""
    assert "client" not in json.dumps(seen.body)
    assert verify(seen.body["token"]) is not None
    assert seen.body["project"] == PROJECT


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_the_fast_path_strips_client_upstream_headers_too(
    sidecar: Sidecar, llm: StandInLLM, stream: bool
) -> None:
    llm.clear()
    overrides = {
        **OVERRIDES,
        "extra_headers": {"Authorization": "Bearer client", "X-Client": "client"},
    }
    body = {"model": FAST_MODEL, "messages": MESSAGES, "stream": stream, **overrides}
    response = httpx.post(
        sidecar.url + "/v1/chat/completions", json=body, headers=sidecar.auth, timeout=60
    )
    assert response.status_code == 200, response.text
    assert FAST_PATH_MARK not in response.headers  # served by the fast path
    seen = only_request(llm)
    assert seen.headers["authorization"] == "Bearer none"
    assert "x-client" not in seen.headers
    assert seen.query == ""
    assert "client" not in json.dumps(seen.body)
    assert verify(seen.body["token"]) is not None


# -- client-sent credentials and endpoints ------------------------------------------------------

ATTACKER_KEY = "sk-attacker-" + secrets.token_hex(8)
# The routes a credential could ride upstream on, streaming too, on both paths. The two
# count-tokens routes are not: LiteLLM reads only the model and the content from their body
# (``TokenCountRequest``) and counts with the deployment's own settings.
CREDENTIAL_ROUTES = [
    *(r for r in LLM_ROUTES if not r.name.startswith(("count-tokens", "gemini-count"))),
    Served("chat-stream", "POST", "/v1/chat/completions", {**CHAT, "stream": True}),
    Served(
        "chat-fast-path-stream",
        "POST",
        "/v1/chat/completions",
        {**CHAT, "model": FAST_MODEL, "stream": True},
    ),
    Served("responses-stream", "POST", "/v1/responses", {**CHAT, "input": "x", "stream": True}),
]
# (field, value): the reported one, then one of each family LiteLLM honours from a body.
CREDENTIALS = [
    ("api_key", ATTACKER_KEY),
    ("api_version", "2099-01-01"),
    ("organization", "org-attacker"),
    ("aws_access_key_id", ATTACKER_KEY),
    ("vertex_credentials", "{}"),
    ("azure_ad_token", ATTACKER_KEY),
]


@pytest.mark.parametrize("nested", [False, True], ids=["top-level", "extra_body"])
@pytest.mark.parametrize("route", CREDENTIAL_ROUTES, ids=lambda r: r.name)
def test_a_client_credential_is_a_400_naming_it_and_nothing_goes_upstream(
    sidecar: Sidecar, llm: StandInLLM, route: Served, nested: bool
) -> None:
    assert route.body is not None
    for name, value in CREDENTIALS:
        llm.clear()
        where = f"extra_body.{name}" if nested else name
        extra = {"extra_body": {name: value}} if nested else {name: value}
        body = {**route.body, **extra}
        response = httpx.post(sidecar.url + route.path, json=body, headers=sidecar.auth, timeout=60)
        assert response.status_code == 400, (where, response.text)
        message = response.json()["error"]["message"]
        # LiteLLM refuses the fields on its own list first, naming them without the nesting.
        assert f"{name} is not allowed in request body" in message, message
        assert "remove it" in message
        assert ATTACKER_KEY not in response.text
        assert llm.requests == [], where


# (field, value): LiteLLM call settings that would send the configured key to another host,
# turn off TLS checks of the upstream, route elsewhere or answer without the upstream.
CALL_SETTINGS: list[tuple[str, Any]] = [
    ("custom_llm_provider", "replicate"),
    ("custom_llm_provider", "anthropic"),
    ("ssl_verify", False),
    ("use_litellm_proxy", True),
    ("fallbacks", [{"model": "gpt-4o"}]),
    ("litellm_credential_name", "other"),
    ("model_alias_map", {INTERNAL_MODEL: "gpt-4o"}),
    ("auto_router_config", "{}"),
    ("tags", ["other"]),
    ("num_retries", 50),
]
MOCK = "mocked-" + secrets.token_hex(4)


@pytest.mark.parametrize("nested", [False, True], ids=["top-level", "extra_body"])
@pytest.mark.parametrize("route", CREDENTIAL_ROUTES, ids=lambda r: r.name)
def test_a_client_call_setting_is_a_400_naming_it_and_nothing_goes_upstream(
    sidecar: Sidecar, llm: StandInLLM, route: Served, nested: bool
) -> None:
    assert route.body is not None
    for name, value in [*CALL_SETTINGS, ("mock_response", MOCK)]:
        llm.clear()
        where = f"extra_body.{name}" if nested else name
        extra = {"extra_body": {name: value}} if nested else {name: value}
        body = {**route.body, **extra}
        response = httpx.post(sidecar.url + route.path, json=body, headers=sidecar.auth, timeout=60)
        fast_path = route.body.get("model") == FAST_MODEL
        if name == "mock_response" and not nested and not fast_path and response.is_success:
            # LiteLLM itself drops a client's mock_response on most routes before the bridge
            # hook runs: the upstream answers, never the mock.
            assert MOCK not in response.text
            assert len(llm.requests) == 1
            continue
        assert response.status_code == 400, (where, response.text)
        message = response.json()["error"]["message"]
        # The completions route puts "400: " before the hook's message.
        assert message.removeprefix("400: ") == (
            f"rejected request: {where} is not allowed in request body; remove it "
            "(the bridge's config sets the upstream and its credentials)"
        )
        assert llm.requests == [], where


def test_the_warm_up_is_not_refused(sidecar: Sidecar) -> None:
    # Its mock answer is set after the client check, at the deployment level, where no
    # client field can reach: every warm-up step must still pass.
    log = sidecar.log()
    assert "warm-up took" in log, log[-2000:]
    assert "warm-up requests failed" not in log and "warm-up failed" not in log, log[-2000:]
    assert "gemini stream" in log  # the last step ran


# What the OpenAI, Anthropic and Gemini clients send besides the model and the prompt.
CLIENT_FIELDS: list[Served] = [
    Served(
        "chat",
        "POST",
        "/v1/chat/completions",
        {
            **CHAT,
            "temperature": 0.2,
            "top_p": 0.9,
            "max_tokens": 16,
            "stop": ["\n\n"],
            "seed": 1,
            "user": "someone",
            "metadata": {"session": "x"},
            "stream": True,
            "stream_options": {"include_usage": True},
            "timeout": 600,
        },
    ),
    Served(
        "messages",
        "POST",
        "/v1/messages",
        {
            **ANTHROPIC,
            "system": "be brief",
            "metadata": {"user_id": "user_abc_account_x_session_y"},
            "temperature": 1,
            "stop_sequences": ["END"],
            "stream": True,
        },
        "anthropic",
    ),
    Served(
        "responses",
        "POST",
        "/v1/responses",
        {
            "model": INTERNAL_MODEL,
            "input": "hi",
            "instructions": "be brief",
            "store": False,
            "metadata": {"session": "x"},
            "user": "someone",
            "temperature": 0.2,
        },
    ),
    Served(
        "gemini",
        "POST",
        f"{GEMINI}:generateContent",
        {
            **GEMINI_BODY,
            "systemInstruction": {"parts": [{"text": "be brief"}]},
            "generationConfig": {"temperature": 0.2, "maxOutputTokens": 16},
        },
    ),
]


# Every route through LiteLLM, and chat through the fast path too.
CLIENT_FIELD_CASES = [(route, INTERNAL_MODEL) for route in CLIENT_FIELDS] + [
    (CLIENT_FIELDS[0], FAST_MODEL)
]


@pytest.mark.parametrize(
    ("route", "model"), CLIENT_FIELD_CASES, ids=lambda c: c.name if isinstance(c, Served) else c
)
def test_the_fields_clients_send_still_pass(
    sidecar: Sidecar, llm: StandInLLM, route: Served, model: str
) -> None:
    assert route.body is not None
    llm.clear()
    body = {**route.body, "model": model} if "model" in route.body else route.body
    response = httpx.post(sidecar.url + route.path, json=body, headers=sidecar.auth, timeout=60)
    assert response.status_code == 200, response.text
    seen = only_request(llm)
    assert verify(seen.body["token"]) is not None


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_the_fast_path_itself_refuses_a_client_key(
    sidecar: Sidecar, llm: StandInLLM, stream: bool
) -> None:
    llm.clear()
    body = {**CHAT, "model": FAST_MODEL, "stream": stream, "extra_body": {"api_key": "x"}}
    response = httpx.post(
        sidecar.url + "/v1/chat/completions", json=body, headers=sidecar.auth, timeout=60
    )
    assert response.status_code == 400, response.text
    assert LITELLM_MARK not in response.headers  # answered ahead of LiteLLM
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert llm.requests == []


_LITELLM_LISTS = r"""
import json, os, sys
from sidecar.entry import prepare_environment
prepare_environment(os.environ)
from litellm.proxy.auth.auth_utils import _BANNED_REQUEST_BODY_PARAMS
from litellm.router_utils.clientside_credential_handler import (
    _ADMIN_CONFIG_FIELDS_TO_CLEAR_ON_BASE_OVERRIDE, clientside_credential_keys,
)
from litellm.types.router import CredentialLiteLLMParams
from litellm.types.utils import all_litellm_params
from sidecar.inject import CLIENT_REQUEST_FIELDS, client_credential_fields
litellm = {*_BANNED_REQUEST_BODY_PARAMS, *_ADMIN_CONFIG_FIELDS_TO_CLEAR_ON_BASE_OVERRIDE,
           *clientside_credential_keys, *CredentialLiteLLMParams.model_fields,
           *all_litellm_params}
json.dump({"litellm": sorted(litellm), "bridge": sorted(client_credential_fields()),
           "allowed": sorted(CLIENT_REQUEST_FIELDS)}, sys.stdout)
"""


def test_the_refused_fields_cover_every_list_of_client_credentials_and_call_settings() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LITELLM_LISTS],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lists = json.loads(done.stdout)
    # Removed instead of refused (transport fields) or carrying the injection (extra_body).
    handled = {"extra_body", "extra_headers", "headers", "extra_query", "provider_specific_header"}
    allowed = set(lists["allowed"])
    assert set(lists["litellm"]) - handled - allowed <= set(lists["bridge"])
    # The allow-list stays short, and holds nothing that picks the upstream or fakes it.
    assert len(allowed) <= 12
    assert allowed.isdisjoint({"custom_llm_provider", "ssl_verify", "mock_response", "fallbacks"})
    assert {"use_litellm_proxy", "litellm_credential_name", "input_cost_per_token"} <= set(
        lists["bridge"]
    )
    assert {"api_key", "api_base", "base_url", "api_version", "region_name"} <= set(lists["bridge"])
    assert "aws_secret_access_key" in lists["bridge"] and "vertex_project" in lists["bridge"]


# -- the key in every form a client may write it --------------------------------------------------

ODD_FORMS = ["BEARER {key}", "bearer {key}", "Bearer  {key}", "Bearer\t{key}", "bEaReR \t {key}"]


@pytest.mark.parametrize("form", ODD_FORMS, ids=repr)
@pytest.mark.parametrize("model", [INTERNAL_MODEL, FAST_MODEL], ids=["litellm", "fast-path"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_any_bearer_spelling_of_the_key_reaches_the_model(
    sidecar: Sidecar, llm: StandInLLM, form: str, model: str, stream: bool
) -> None:
    llm.clear()
    headers = {"Authorization": form.format(key=sidecar.master_key)}
    body = {**CHAT, "model": model, "stream": stream}
    response = httpx.post(
        sidecar.url + "/v1/chat/completions", json=body, headers=headers, timeout=60
    )
    assert response.status_code == 200, response.text
    assert (FAST_PATH_MARK in response.headers) is (model == INTERNAL_MODEL)
    seen = only_request(llm)
    assert verify(seen.body["token"]) is not None
    assert seen.headers["authorization"] == "Bearer none"  # the configured upstream key


@pytest.mark.parametrize("form", ODD_FORMS, ids=repr)
def test_any_bearer_spelling_of_the_key_works_on_the_other_routes(
    sidecar: Sidecar, llm: StandInLLM, form: str
) -> None:
    headers = {"Authorization": form.format(key=sidecar.master_key)}
    for route in SERVED:
        if route.name.startswith("chat"):
            continue  # above, on both paths
        response = route.send(sidecar, headers)
        assert response.status_code == 200, (route.name, response.text)
