"""``/v1/responses`` on the fast path against LiteLLM as the oracle.

Two sidecars with the same config (a ``hosted_vllm/`` model with ``use_chat_completions_api``,
as the agent renders it), one with the fast path and one without: every request must reach
the stand-in as the same chat body and come back as the same Responses answer (the same JSON,
or the same stream events in the same order), made-up ids aside (``tests.sidecar.differential``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sidecar.common import PROJECT, fresh_token
from tests.sidecar.differential import (
    MODEL,
    Pair,
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

PATH = "/v1/responses"
READ_FILE = {
    "type": "function",
    "name": "read_file",
    "description": "Read a file of the workspace",
    "parameters": {
        "type": "object",
        "properties": {"path": {"type": "string"}},
        "required": ["path"],
    },
    "strict": False,
}
EXEC = {
    "type": "custom",
    "name": "exec",
    "description": "Run code",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
}
# The shape Codex 0.171 sends: its tools in an ``additional_tools`` input item, in namespaces.
CODEX_TOOLS = {
    "type": "additional_tools",
    "id": "at_0001",
    "role": "developer",
    "tools": [
        {"type": "namespace", "name": "functions", "description": "", "tools": [EXEC, READ_FILE]},
    ],
}
CALL_TURNS: list[dict[str, Any]] = [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "read a"}]},
    {
        "type": "function_call",
        "call_id": "call_01",
        "name": "read_file",
        "arguments": '{"path": "a"}',
    },
    {"type": "function_call_output", "call_id": "call_01", "output": "line one"},
]

CASES: dict[str, dict[str, Any]] = {
    "text-input": {"input": "hello there"},
    "instructions": {"instructions": "Be brief.", "input": "hi"},
    "message-items": {
        "input": [
            {"type": "message", "role": "developer", "content": "You are a coding agent."},
            {"role": "user", "content": [{"type": "input_text", "text": "one"}]},
            {"role": "assistant", "content": [{"type": "output_text", "text": "two"}]},
            {"role": "user", "content": "three"},
        ]
    },
    "sampling": {"input": "count", "temperature": 0.3, "top_p": 0.9, "max_output_tokens": 50},
    "max-tokens-reached": {"input": "talk", "max_output_tokens": 2},
    "tools-auto": {"input": "hi", "tools": [READ_FILE], "tool_choice": "auto"},
    "tool-call-reply": {"input": f"please {TOOL_TRIGGER}", "tools": [READ_FILE]},
    "tool-choice-function": {
        "input": f"{TOOL_TRIGGER} now",
        "tools": [READ_FILE],
        "tool_choice": {"type": "function", "name": "read_file"},
        "parallel_tool_calls": False,
    },
    "function-call-outputs": {"input": CALL_TURNS, "tools": [READ_FILE]},
    "function-call-output-again": {
        "input": [
            *CALL_TURNS,
            {"role": "user", "content": f"then {TOOL_TRIGGER} again"},
        ],
        "tools": [READ_FILE],
    },
    "codex-shape": {
        "instructions": "You are Codex.",
        "input": [
            CODEX_TOOLS,
            {
                "type": "message",
                "id": "msg_0001",
                "role": "developer",
                "content": [{"type": "input_text", "text": "<permissions>read-only"}],
            },
            {
                "type": "message",
                "id": "msg_0002",
                "role": "user",
                "content": [{"type": "input_text", "text": "say hi"}],
            },
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning": {"effort": "low", "context": "all_turns"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "0001-session",
        "text": {"verbosity": "low"},
        "client_metadata": {"turn_id": "t-1", "session_id": "s-1"},
    },
    "reasoning-summary": {"input": "hi", "reasoning": {"effort": "high", "summary": "auto"}},
    "text-format": {"input": "hi", "text": {"format": {"type": "text"}}},
    "store-user-metadata": {"input": "hi", "store": True, "user": "u1", "metadata": {"a": "b"}},
    "tool-choice-required": {"input": "hi", "tools": [READ_FILE], "tool_choice": "required"},
    "tool-choice-none": {"input": "hi", "tools": [READ_FILE], "tool_choice": "none"},
    "system-turn": {
        "input": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]
    },
    "custom-tool-call-output": {
        "input": [
            {"role": "user", "content": "run it"},
            {"type": "custom_tool_call", "call_id": "call_02", "name": "exec", "input": "1+1"},
            {"type": "custom_tool_call_output", "call_id": "call_02", "output": "2"},
        ],
        "tools": [EXEC],
    },
}
STREAMING = pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory, llm: StandInLLM) -> Path:
    return write_config(tmp_path_factory.mktemp("responses-diff"), llm)


@pytest.fixture(scope="module")
def pair(config_path: Path) -> Iterator[Pair]:
    yield from start_pair(config_path)


def body_of(case: dict[str, Any], stream: bool) -> dict[str, Any]:
    return {"model": MODEL, **case, "stream": stream}


@STREAMING
@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_matches_litellm(pair: Pair, llm: StandInLLM, name: str, stream: bool) -> None:
    ours, _ = compare(pair, llm, PATH, body_of(CASES[name], stream), "openai")
    (upstream,) = ours.upstream
    assert verify(upstream["token"]) is not None
    assert upstream["project"] == PROJECT
    assert upstream["model"] == "internal-model"
    assert ours.status == 200


def test_stream_events_carry_the_function_call(pair: Pair, llm: StandInLLM) -> None:
    # The comparison holds for these too; this names what the stream must contain.
    ours, _ = compare(pair, llm, PATH, body_of(CASES["tool-call-reply"], True), "openai")
    kinds = [e["data"]["type"] for e in ours.answer if isinstance(e["data"], dict)]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.function_call_arguments.done" in kinds
    (done,) = [e["data"] for e in ours.answer if e["data"] == e["data"] and _is(e, "completed")]
    calls = [o for o in done["response"]["output"] if o["type"] == "function_call"]
    assert calls and calls[0]["name"] == "read_file"
    assert done["response"]["usage"]["output_tokens"] == 1


def _is(event: dict[str, Any], kind: str) -> bool:
    data = event["data"]
    return isinstance(data, dict) and data.get("type") == f"response.{kind}"


def test_previous_response_id_goes_to_litellm(pair: Pair, llm: StandInLLM) -> None:
    body = {**body_of(CASES["text-input"], False), "previous_response_id": "resp_abc"}
    ours = send(pair.fast, llm, PATH, body, "openai")
    assert ours.served_by_litellm


@pytest.mark.parametrize(
    "extra",
    [
        {"tools": [{"type": "web_search"}]},
        {"background": True},
        {"text": {"format": {"type": "json_schema", "name": "x", "schema": {}}}},
        {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f1"}]}]},
    ],
    ids=["web-search", "background", "json-schema", "file"],
)
def test_requests_outside_the_rules_go_to_litellm(
    pair: Pair, llm: StandInLLM, extra: dict[str, Any]
) -> None:
    body = {**body_of(CASES["text-input"], False), **extra}
    ours = send(pair.fast, llm, PATH, body, "openai")
    assert ours.served_by_litellm


def test_client_copies_and_transport_fields_are_removed(pair: Pair, llm: StandInLLM) -> None:
    body = body_of(CASES["text-input"], False)
    body.update({"token": "client-token", "project": "client-project"})
    ours, _ = compare(pair, llm, PATH, body, "openai")
    assert "client" not in json.dumps(ours.upstream)
    with_headers = {
        **body_of(CASES["text-input"], True),
        "extra_headers": {"X-Client": "1"},
        "extra_query": {"x": "1"},
    }
    compare(pair, llm, PATH, with_headers, "openai")
    assert all("x-client" not in r.headers for r in llm.completions())


@STREAMING
def test_no_token_is_the_same_401(pair: Pair, llm: StandInLLM, stream: bool) -> None:
    for sidecar in (pair.fast, pair.litellm):
        sidecar.send_token(None, None)
    try:
        ours = send(pair.fast, llm, PATH, body_of(CASES["text-input"], stream), "openai")
        oracle = send(pair.litellm, llm, PATH, body_of(CASES["text-input"], stream), "openai")
    finally:
        token = fresh_token()
        for sidecar in (pair.fast, pair.litellm):
            sidecar.send_token(*token)
    assert (ours.status, ours.answer) == (oracle.status, oracle.answer)
    assert ours.status == 401
    assert ours.upstream == [] and not ours.served_by_litellm


def test_client_credentials_are_refused_alike(pair: Pair, llm: StandInLLM) -> None:
    body = {**body_of(CASES["text-input"], False), "api_key": "sk-client"}
    ours = send(pair.fast, llm, PATH, body, "openai")
    oracle = send(pair.litellm, llm, PATH, body, "openai")
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
            body = body_of(CASES["text-input"], stream)
            results.append(send(sidecar, llm, PATH, body, "openai", clear=False))
            attempts = len(llm.completions())
        finally:
            llm.clear()
        assert attempts == 3  # two retries, like LiteLLM's router
    ours, oracle = results
    assert ours.status == oracle.status == 500
    assert ours.answer["error"]["type"] == oracle.answer["error"]["type"]
    assert ours.answer["error"]["code"] == oracle.answer["error"]["code"]


def test_request_event_of_the_fast_path(pair: Pair, llm: StandInLLM) -> None:
    before = len(pair.fast.request_events())
    ours = send(pair.fast, llm, PATH, body_of(CASES["text-input"], True), "openai")
    assert not ours.served_by_litellm
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
_part = st.builds(lambda t: {"type": "input_text", "text": t}, _text)
_message = st.builds(
    lambda role, content: {"type": "message", "role": role, "content": content},
    st.sampled_from(["user", "developer", "system"]),
    st.one_of(_text, st.lists(_part, min_size=1, max_size=2)),
)
_assistant = st.builds(
    lambda t: {"role": "assistant", "content": [{"type": "output_text", "text": t}]}, _text
)
_call_pair = st.builds(
    lambda i, out: [
        {
            "type": "function_call",
            "call_id": f"call_{i}",
            "name": "read_file",
            "arguments": json.dumps({"path": out}),
        },
        {"type": "function_call_output", "call_id": f"call_{i}", "output": out},
    ],
    st.integers(0, 99),
    _text,
)
_input = st.one_of(
    _text,
    st.builds(
        lambda first, middle, last: [first, *[i for group in middle for i in group], last],
        _message,
        st.lists(
            st.one_of(_message.map(lambda m: [m]), _assistant.map(lambda m: [m]), _call_pair),
            max_size=3,
        ),
        st.one_of(
            _message,
            st.builds(lambda t: {"role": "user", "content": f"{t} {TOOL_TRIGGER}"}, _text),
        ),
    ),
)
_optional: dict[str, Any] = {
    "instructions": _text,
    "temperature": st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 2)),
    "top_p": st.sampled_from([0.5, 1.0]),
    "max_output_tokens": st.integers(1, 100),
    "tools": st.sampled_from([[READ_FILE], [READ_FILE, EXEC]]),
    "tool_choice": st.sampled_from(["auto", "required", "none"]),
    "parallel_tool_calls": st.booleans(),
    "store": st.booleans(),
    "reasoning": st.sampled_from([{"effort": "low"}, {"effort": "high", "summary": "auto"}]),
    "text": st.sampled_from([{"verbosity": "low"}, {"format": {"type": "text"}}]),
    "prompt_cache_key": _text,
}
_bodies = st.builds(
    lambda items, stream, extra: {"model": MODEL, "input": items, "stream": stream, **extra},
    _input,
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
    ours = send(pair.fast, llm, PATH, body, "openai")
    oracle = send(pair.litellm, llm, PATH, body, "openai")
    assert ours.upstream == oracle.upstream, f"{ours.upstream}\n!=\n{oracle.upstream}"
    assert ours.status == oracle.status, (ours.answer, oracle.answer)
    if ours.status == 200:
        assert not ours.served_by_litellm
        mine, theirs = normalise(ours.answer), normalise(oracle.answer)
        assert mine == theirs, f"{mine}\n!=\n{theirs}"


# -- wildcard names: the templates' "*" and "claude-*" deployments ---------------------------
# differential.write_config has "claude-*" onto internal-model and "*" onto hosted_vllm/*.
WILDCARD_NAMES = pytest.mark.parametrize(
    "name, upstream",
    [("gpt-6.2-sol", "gpt-6.2-sol"), ("claude-x", "internal-model"), ("o9", "o9")],
)


@STREAMING
@WILDCARD_NAMES
def test_wildcard_names_match_litellm(
    pair: Pair, llm: StandInLLM, name: str, upstream: str, stream: bool
) -> None:
    body = {**body_of(CASES["codex-shape"], stream), "model": name}
    ours, _ = compare(pair, llm, PATH, body, "openai")
    (sent,) = ours.upstream
    assert sent["model"] == upstream
    assert verify(sent["token"]) is not None and sent["project"] == PROJECT


@WILDCARD_NAMES
def test_wildcard_request_events_are_the_same(
    pair: Pair, llm: StandInLLM, name: str, upstream: str
) -> None:
    body = {**body_of(CASES["text-input"], True), "model": name}
    ours, oracle = event_fields(pair, llm, PATH, body, "openai")
    assert ours == oracle
    assert ours["model"] == name


def test_chat_on_a_wildcard_onto_another_model_goes_to_litellm(pair: Pair, llm: StandInLLM) -> None:
    # The chat fast path relays the upstream's answer, which names the upstream's model.
    body = {"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}
    assert send(pair.fast, llm, "/v1/chat/completions", body, "openai").served_by_litellm
    # Passed on as it is: the fast path sends what LiteLLM sends (its answer is the
    # upstream's own bytes, as for every chat request, docs/FAST_PATH.md).
    passed_on = {**body, "model": "gpt-6.2-sol"}
    ours = send(pair.fast, llm, "/v1/chat/completions", passed_on, "openai")
    oracle = send(pair.litellm, llm, "/v1/chat/completions", passed_on, "openai")
    assert not ours.served_by_litellm
    assert ours.upstream == oracle.upstream
    assert ours.upstream[0]["model"] == ours.answer["model"] == oracle.answer["model"]
