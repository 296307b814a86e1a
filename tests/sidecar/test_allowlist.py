"""The served-route list and the key parsing, without a sidecar (see test_client_boundary)."""

from __future__ import annotations

import pytest

from sidecar import allowlist

KEY = b"sk-" + b"a" * 40


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("POST", "/v1/chat/completions", "chat"),
        ("POST", "/chat/completions", "chat"),
        ("POST", "/v1/messages/count_tokens", "count_tokens"),
        ("POST", "/v1beta/models/gemini-2.5-pro:streamGenerateContent", "gemini"),
        ("POST", "/v1beta/models/corp/llama-3:generateContent", "gemini"),
        ("POST", "/v1beta/models/m:countTokens", "gemini_count_tokens"),
        ("GET", "/health/liveliness", "liveliness"),
    ],
)
def test_client_routes_are_served(method: str, path: str, name: str) -> None:
    route = allowlist.match(method, path)
    assert route is not None and route.name == name


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/chat/completions"),
        ("POST", "/v1/chat/completions/"),
        ("GET", "/health"),
        ("GET", "/model/info"),
        ("GET", "/v1/model/info"),
        ("POST", "/openai/deployments/m/chat/completions"),
        ("POST", "/models/m:generateContent"),
        ("POST", "/v1beta/models/m:generateContent/x"),
        ("POST", "/v1beta/models/a:b:generateContent"),
    ],
)
def test_other_routes_are_not(method: str, path: str) -> None:
    assert allowlist.match(method, path) is None


def scope(headers: list[tuple[bytes, bytes]], query: bytes = b"") -> dict[str, object]:
    return {"headers": headers, "query_string": query}


GEMINI = allowlist.match("POST", "/v1beta/models/m:generateContent")
CHAT = allowlist.match("POST", "/v1/chat/completions")


def test_the_key_counts_in_every_way_a_client_sends_it() -> None:
    assert GEMINI is not None and CHAT is not None
    for headers in (
        [(b"authorization", b"Bearer " + KEY)],
        [(b"authorization", b"bearer  " + KEY)],
        [(b"authorization", b"BEARER " + KEY)],
        [(b"authorization", b"Bearer\t" + KEY)],
        [(b"x-api-key", KEY)],
        [(b"x-goog-api-key", KEY)],
        [(b"authorization", b"Bearer " + KEY), (b"x-api-key", KEY)],
    ):
        assert allowlist.authorized(scope(headers), KEY, CHAT), headers
    assert allowlist.authorized(scope([], b"alt=sse&key=" + KEY), KEY, GEMINI)
    # LiteLLM reads ?key= on the Gemini generate routes only: elsewhere it is no key.
    assert not allowlist.authorized(scope([], b"key=" + KEY), KEY, CHAT)


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ([], b""),
        ([(b"authorization", KEY)], b""),  # no scheme: LiteLLM would not take it
        ([(b"authorization", b"Basic " + KEY)], b""),
        ([(b"authorization", b"Bearer " + KEY), (b"x-api-key", b"other")], b""),
        ([(b"x-api-key", KEY), (b"api-key", b"other")], b""),
        ([], b"key=%E2%82%AC%ff"),  # any bytes: refused, never an exception
        ([(b"x-goog-api-key", KEY)], b"key=other"),
    ],
)
def test_a_missing_wrong_or_second_different_key_is_refused(
    headers: list[tuple[bytes, bytes]], query: bytes
) -> None:
    assert GEMINI is not None
    assert not allowlist.authorized(scope(headers, query), KEY, GEMINI)


def test_the_not_served_message_names_the_route_and_is_bounded() -> None:
    message = allowlist.not_served_message("GET", "/key/list")
    assert message.startswith("GET /key/list is not served by the bridge")
    assert len(allowlist.not_served_message("GET", "/" + "x" * 5000)) < 600


def test_an_accepted_key_is_rewritten_into_the_one_form_litellm_parses() -> None:
    headers = [
        (b"host", b"127.0.0.1"),
        (b"Authorization", b"BEARER \t " + KEY),
        (b"x-api-key", KEY),
        (b"content-type", b"application/json"),
    ]
    assert allowlist.canonical_headers(headers, KEY) == [
        (b"host", b"127.0.0.1"),
        (b"Authorization", b"Bearer " + KEY),
        (b"x-api-key", KEY),
        (b"content-type", b"application/json"),
    ]
