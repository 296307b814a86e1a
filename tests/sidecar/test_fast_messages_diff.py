"""``/v1/messages`` on the fast path against LiteLLM as the oracle.

Two sidecars with the same config, one with the fast path and one without: every request
must reach the stand-in as the same body and come back as the same answer (the same JSON, or
the same stream events in the same order), made-up ids aside (``tests.sidecar.differential``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sidecar.common import PROJECT
from tests.sidecar.differential import (
    MODEL,
    Pair,
    compact_json,
    compare,
    event_fields,
    normalise,
    send,
    start_pair,
    write_config,
)
from tests.standins.llm import TOOL_TRIGGER, StandInLLM
from tests.standins.tokens import verify

pytestmark = pytest.mark.timeout(600)

PATH = "/v1/messages"
READ_FILE = {
    "name": "read_file",
    "description": "Read a file of the workspace",
    "input_schema": {
        "type": "object",
        "properties": {"path": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["path"],
    },
}
LIST_DIR = {
    "name": "list_dir",
    "input_schema": {"type": "object", "properties": {}},
    "cache_control": {"type": "ephemeral"},
}
TOOL_TURNS = [
    {"role": "user", "content": "read notes"},
    {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Reading it."},
            {"type": "tool_use", "id": "toolu_01", "name": "read_file", "input": {"path": "a"}},
        ],
    },
    {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "line one"}],
    },
]
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAw"
    "S2OUAAAAABJRU5ErkJggg=="
)

CASES: dict[str, dict[str, Any]] = {
    "plain": {"messages": [{"role": "user", "content": "hello there"}]},
    "system-text": {"system": "Be brief.", "messages": [{"role": "user", "content": "hi"}]},
    "system-blocks": {
        "system": [
            {"type": "text", "text": "You are a coding agent."},
            {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    },
    "stop-sequences": {
        "messages": [{"role": "user", "content": "count"}],
        "stop_sequences": ["\n\nHuman:", "END"],
        "temperature": 0.3,
        "top_p": 0.9,
    },
    "max-tokens-reached": {"messages": [{"role": "user", "content": "talk"}], "max_tokens": 2},
    "metadata": {
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"user_id": "user_abc_account_def_session_123"},
    },
    "tools-auto": {
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [READ_FILE, LIST_DIR],
        "tool_choice": {"type": "auto"},
    },
    "tool-call-reply": {
        "messages": [{"role": "user", "content": f"please {TOOL_TRIGGER}"}],
        "tools": [READ_FILE],
    },
    "tool-choice-tool": {
        "messages": [{"role": "user", "content": f"{TOOL_TRIGGER} now"}],
        "tools": [READ_FILE, LIST_DIR],
        "tool_choice": {"type": "tool", "name": "read_file"},
    },
    "tool-choice-any-no-parallel": {
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [READ_FILE],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
    },
    "tool-results": {"messages": TOOL_TURNS, "tools": [READ_FILE]},
    "tool-result-blocks-error-and-text": {
        "messages": [
            *TOOL_TURNS[:2],
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01",
                        "content": [{"type": "text", "text": "no such file"}],
                        "is_error": True,
                    },
                    {"type": "text", "text": f"then {TOOL_TRIGGER} again"},
                ],
            },
        ],
        "tools": [READ_FILE],
    },
    "image-base64": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
                    },
                    {"type": "text", "text": "what is this?"},
                ],
            }
        ]
    },
    "image-url": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
                    {"type": "text", "text": "and this?"},
                ],
            }
        ]
    },
    "claude-code-shape": {
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332;"},
            {"type": "text", "text": "You are an agent.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "<system-reminder>x"}]},
            {
                "role": "system",
                "content": [{"type": "text", "text": "# Environment"}],
                "output_config": {"effort": "medium"},
            },
            {"role": "user", "content": [{"type": "text", "text": "say hi"}]},
        ],
        "tools": [READ_FILE, {**LIST_DIR, "defer_loading": True}],
        "metadata": {"user_id": '{"device_id":"d1","account_uuid":"","session_id":"s-1"}'},
        "max_tokens": 64000,
        "thinking": {"type": "adaptive", "display": "omitted"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "medium"},
    },
    "thinking-enabled-with-earlier-thinking": {
        "messages": [
            {"role": "user", "content": "one"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "text", "text": "two"},
                ],
            },
            {"role": "user", "content": f"three {TOOL_TRIGGER}"},
        ],
        "tools": [READ_FILE],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
    },
    "multi-turn": {
        "messages": [
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "two"},
            {"role": "user", "content": [{"type": "text", "text": "three"}]},
        ]
    },
}
STREAMING = pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory, llm: StandInLLM) -> Path:
    return write_config(tmp_path_factory.mktemp("messages-diff"), llm)


@pytest.fixture(scope="module")
def pair(config_path: Path) -> Iterator[Pair]:
    yield from start_pair(config_path)


def body_of(case: dict[str, Any], stream: bool) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 64, **case, "stream": stream}


@STREAMING
@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_matches_litellm(pair: Pair, llm: StandInLLM, name: str, stream: bool) -> None:
    ours, _ = compare(pair, llm, PATH, body_of(CASES[name], stream), "anthropic")
    (upstream,) = ours.upstream
    assert verify(upstream["token"]) is not None
    assert upstream["project"] == PROJECT
    assert upstream["model"] == "internal-model"
    assert ours.status == 200


@STREAMING
def test_claude_codes_query_string_is_served(pair: Pair, llm: StandInLLM, stream: bool) -> None:
    body = body_of(CASES["claude-code-shape"], stream)
    compare(pair, llm, PATH + "?beta=true", body, "anthropic")


def test_stream_events_carry_tool_use_and_stop_reason(pair: Pair, llm: StandInLLM) -> None:
    # The comparison above holds for these too; this names what the stream must contain.
    ours, _ = compare(pair, llm, PATH, body_of(CASES["tool-call-reply"], True), "anthropic")
    kinds = [e["event"] for e in ours.answer]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    starts = [
        e["data"]["content_block"] for e in ours.answer if e["event"] == "content_block_start"
    ]
    assert any(block["type"] == "tool_use" and block["name"] == "read_file" for block in starts)
    (delta,) = [e["data"] for e in ours.answer if e["event"] == "message_delta"]
    assert delta["delta"]["stop_reason"] == "tool_use"
    assert delta["usage"]["output_tokens"] == 1


def test_client_copies_and_transport_fields_are_removed(pair: Pair, llm: StandInLLM) -> None:
    body = body_of(CASES["plain"], False)
    body.update({"token": "client-token", "project": "client-project"})
    ours, _ = compare(pair, llm, PATH, body, "anthropic")
    assert "client" not in json.dumps(ours.upstream)
    with_headers = {**body_of(CASES["plain"], True), "extra_headers": {"X-Client": "1"}}
    compare(pair, llm, PATH, with_headers, "anthropic")
    assert all("x-client" not in r.headers for r in llm.completions())


@STREAMING
def test_no_token_is_the_same_401(pair: Pair, llm: StandInLLM, stream: bool) -> None:
    for sidecar in (pair.fast, pair.litellm):
        sidecar.send_token(None, None)
    try:
        ours = send(pair.fast, llm, PATH, body_of(CASES["plain"], stream), "anthropic")
        oracle = send(pair.litellm, llm, PATH, body_of(CASES["plain"], stream), "anthropic")
    finally:
        from tests.sidecar.common import fresh_token

        token = fresh_token()
        for sidecar in (pair.fast, pair.litellm):
            sidecar.send_token(*token)
    assert (ours.status, ours.answer) == (oracle.status, oracle.answer)
    assert ours.status == 401
    assert ours.upstream == [] and not ours.served_by_litellm


def test_client_credentials_are_refused_alike(pair: Pair, llm: StandInLLM) -> None:
    body = {**body_of(CASES["plain"], False), "api_base": "http://elsewhere.test"}
    ours = send(pair.fast, llm, PATH, body, "anthropic")
    oracle = send(pair.litellm, llm, PATH, body, "anthropic")
    assert (ours.status, ours.answer) == (oracle.status, oracle.answer) == (400, oracle.answer)
    assert ours.upstream == []


@STREAMING
def test_upstream_errors_are_retried_and_reported_alike(
    pair: Pair, llm: StandInLLM, stream: bool
) -> None:
    results = []
    for sidecar in (pair.fast, pair.litellm):
        llm.clear()
        llm.inject_fault("error", count=10)
        try:
            body = body_of(CASES["plain"], stream)
            results.append(send(sidecar, llm, PATH, body, "anthropic", clear=False))
            attempts = len(llm.completions())
        finally:
            llm.clear()
        assert attempts == 3  # two retries, like LiteLLM's router
    ours, oracle = results
    assert ours.status == oracle.status == 500
    assert ours.answer["type"] == oracle.answer["type"] == "error"
    assert ours.answer["error"]["type"] == oracle.answer["error"]["type"]


@pytest.mark.parametrize(
    "extra",
    [
        {"context_management": {"edits": [{"type": "compact_20260112"}]}},
        {"output_format": {"type": "json_schema", "schema": {"type": "object"}}},
        {"top_k": 5},
        {"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
        {"messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]},
    ],
    ids=["compaction", "output-format", "top_k", "server-tool", "document"],
)
def test_requests_outside_the_rules_go_to_litellm(
    pair: Pair, llm: StandInLLM, extra: dict[str, Any]
) -> None:
    body = {**body_of(CASES["plain"], False), **extra}
    ours = send(pair.fast, llm, PATH, body, "anthropic")
    assert ours.served_by_litellm


def test_request_event_of_the_fast_path(pair: Pair, llm: StandInLLM) -> None:
    before = len(pair.fast.request_events())
    ours = send(pair.fast, llm, PATH, body_of(CASES["plain"], True), "anthropic")
    assert not ours.served_by_litellm
    # Late events of earlier LiteLLM requests (not streamed) may arrive meanwhile.
    event = pair.fast.wait_event(
        lambda e: (
            e in pair.fast.request_events()[before:]
            and e.get("route") == PATH
            and e.get("stream") is True
        )
    )
    assert event["model"] == MODEL
    assert event["status"] == 200
    assert event["tokens_in"] == 2 and event["tokens_out"] == 3
    assert "error" not in event
    assert "hello there" not in json.dumps(pair.fast.events)


# -- property-based: bodies drawn from everything the fast path admits --------------------

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20
)
_text_block = st.builds(lambda t: {"type": "text", "text": t}, _text)
_tool_use = st.builds(
    lambda i, p: {
        "type": "tool_use",
        "id": f"toolu_{i}",
        "name": "read_file",
        "input": {"path": p},
    },
    st.integers(0, 99),
    _text,
)
_tool_result = st.builds(
    lambda i, c, e: {
        "type": "tool_result",
        "tool_use_id": f"toolu_{i}",
        "content": c,
        "is_error": e,
    },
    st.integers(0, 99),
    st.one_of(_text, st.lists(_text_block, min_size=1, max_size=2)),
    st.booleans(),
)
_user = st.builds(
    lambda c: {"role": "user", "content": c},
    st.one_of(
        _text,
        st.lists(st.one_of(_text_block, _tool_result), min_size=1, max_size=3),
    ),
)
_assistant = st.builds(
    lambda c: {"role": "assistant", "content": c},
    st.one_of(_text, st.lists(st.one_of(_text_block, _tool_use), min_size=1, max_size=3)),
)
_messages = st.builds(
    lambda first, rest, last: [first, *rest, last],
    _user,
    st.lists(st.one_of(_user, _assistant), max_size=3),
    st.one_of(
        _user, st.builds(lambda t: {"role": "user", "content": f"{t} {TOOL_TRIGGER}"}, _text)
    ),
)
_optional: dict[str, Any] = {
    "system": st.one_of(_text, st.lists(_text_block, min_size=1, max_size=2)),
    "stop_sequences": st.lists(_text, min_size=1, max_size=2),
    "temperature": st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 2)),
    "top_p": st.sampled_from([0.5, 1.0]),
    "tools": st.sampled_from([[READ_FILE], [READ_FILE, LIST_DIR]]),
    "tool_choice": st.sampled_from([{"type": "auto"}, {"type": "any"}]),
    "metadata": st.builds(lambda t: {"user_id": t}, _text),
    "thinking": st.sampled_from(
        [
            {"type": "adaptive", "display": "omitted"},
            {"type": "enabled", "budget_tokens": 1024},
            {"type": "disabled"},
        ]
    ),
    "output_config": st.sampled_from([{"effort": "low"}, {"effort": "high"}]),
    "context_management": st.just({"edits": [{"type": "clear_thinking_20251015"}]}),
}
_bodies = st.builds(
    lambda messages, max_tokens, stream, extra: {
        "model": MODEL,
        "messages": messages,
        "max_tokens": max_tokens,
        "stream": stream,
        **extra,
    },
    _messages,
    st.integers(1, 100),
    st.booleans(),
    st.fixed_dictionaries({}, optional=_optional),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(body=_bodies)
def test_drawn_requests_match_litellm(pair: Pair, llm: StandInLLM, body: dict[str, Any]) -> None:
    ours = send(pair.fast, llm, PATH, body, "anthropic")
    oracle = send(pair.litellm, llm, PATH, body, "anthropic")
    assert ours.upstream == oracle.upstream, f"{ours.upstream}\n!=\n{oracle.upstream}"
    assert ours.status == oracle.status, (ours.answer, oracle.answer)
    if ours.status == 200:
        assert not ours.served_by_litellm
        mine, theirs = normalise(ours.answer), normalise(oracle.answer)
        assert mine == theirs, f"{mine}\n!=\n{theirs}"


def test_the_upstream_bytes_tell_the_paths_apart(pair: Pair, llm: StandInLLM) -> None:
    seen = []
    for sidecar in (pair.fast, pair.litellm):
        llm.clear()
        send(sidecar, llm, PATH, body_of(CASES["system-text"], True), "anthropic", clear=False)
        (request,) = llm.completions()
        seen.append(compact_json(request.raw))
    assert seen == [True, False]


# -- wildcard names: the templates' "*" and "claude-*" deployments ---------------------------
# differential.write_config has "claude-*" onto internal-model and "*" onto hosted_vllm/*.
WILDCARD_NAMES = pytest.mark.parametrize(
    "name, upstream",
    [
        ("claude-opus-5-5", "internal-model"),
        ("claude-", "internal-model"),
        ("gpt-6.2-sol", "gpt-6.2-sol"),
        ("corp/coder-7b", "corp/coder-7b"),
    ],
)


@STREAMING
@WILDCARD_NAMES
def test_wildcard_names_match_litellm(
    pair: Pair, llm: StandInLLM, name: str, upstream: str, stream: bool
) -> None:
    body = {**body_of(CASES["tool-call-reply"], stream), "model": name}
    ours, _ = compare(pair, llm, PATH, body, "anthropic")
    (sent,) = ours.upstream
    assert sent["model"] == upstream
    assert verify(sent["token"]) is not None and sent["project"] == PROJECT


@WILDCARD_NAMES
def test_wildcard_request_events_are_the_same(
    pair: Pair, llm: StandInLLM, name: str, upstream: str
) -> None:
    ours, oracle = event_fields(
        pair, llm, PATH, {**body_of(CASES["plain"], True), "model": name}, "anthropic"
    )
    assert ours == oracle
    assert ours["model"] == name
