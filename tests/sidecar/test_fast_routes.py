"""Eligibility rules of the fast path and its SSE relay (no sidecar needed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sidecar.fast_path import _EventFilter
from sidecar.fast_routes import HOOK_CALLBACK, load_routes, request_eligible
from sidecar.metrics import RequestRecord

UPSTREAM = "http://127.0.0.1:9/v1"


def config(*models: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {
        "model_list": list(models),
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
        "litellm_settings": {"callbacks": [HOOK_CALLBACK]},
        "router_settings": {"disable_cooldowns": True},
        **sections,
    }


def model(name: str, provider_model: str | None = None, **params: Any) -> dict[str, Any]:
    litellm_params = {
        "model": provider_model or f"hosted_vllm/{name}",
        "api_base": UPSTREAM,
        "api_key": "none",
        **params,
    }
    return {"model_name": name, "litellm_params": litellm_params}


def test_plain_openai_compatible_models_are_eligible() -> None:
    routes = load_routes(
        config(
            model("a", use_chat_completions_api=True, timeout=30),
            model("b", "openai/gpt-4.1-mini", api_key="os.environ/B_KEY"),
        ),
        {"B_KEY": "secret"},
    )
    assert routes.disabled is None
    assert set(routes.models) == {"a", "b"}
    assert routes.models["a"].url == UPSTREAM + "/chat/completions"
    assert routes.models["a"].timeout == 30
    assert routes.models["b"].upstream_model == "gpt-4.1-mini"
    assert routes.models["b"].api_key == "secret"


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (model("w-*", rpm=10), "rpm"),
        (model("r", rpm=10), "rpm"),
        (model("m", mock_response="hi"), "mock_response"),
        (model("x", extra_body={"k": 1}), "extra_body"),
        (model("c", "anthropic/claude"), "provider"),
        (model("o", "openai/o3-mini"), "rewrites"),
        (model("k", api_key="os.environ/UNSET_KEY"), "api_key"),
        ({"model_name": "n", "litellm_params": {"model": "hosted_vllm/n"}}, "api_base"),
    ],
)
def test_models_needing_litellm_are_skipped(entry: dict[str, Any], reason: str) -> None:
    routes = load_routes(config(entry), {})
    assert routes.models == {}
    assert reason in routes.skipped[entry["model_name"]]


def test_a_group_of_several_deployments_is_skipped() -> None:
    routes = load_routes(config(model("a"), model("a"), model("b")), {})
    assert set(routes.models) == {"b"}
    assert "several" in routes.skipped["a"]


@pytest.mark.parametrize(
    "sections",
    [
        {"router_settings": {"fallbacks": [{"a": ["b"]}]}},
        {"router_settings": {"num_retries": 5}},
        {"router_settings": {"model_group_alias": {"x": "a"}}},
        {"litellm_settings": {"callbacks": [HOOK_CALLBACK, "langfuse"]}},
        {"litellm_settings": {"callbacks": [HOOK_CALLBACK], "cache": True}},
        {"general_settings": {"master_key": "k", "max_parallel_requests": 2}},
        {"include": ["more.yaml"]},
    ],
)
def test_config_features_only_litellm_applies_turn_the_fast_path_off(
    sections: dict[str, Any],
) -> None:
    routes = load_routes(config(model("a"), **sections), {})
    assert routes.disabled is not None
    assert routes.models == {}


def test_tls_settings_in_the_environment_turn_the_fast_path_off() -> None:
    assert load_routes(config(model("a")), {"SSL_VERIFY": "false"}).disabled is not None


MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
INJECTED = frozenset({"token", "project"})


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"stream": True, "stream_options": {"include_usage": True}},
        {"temperature": 0.1, "max_tokens": 5, "stop": ["x"], "seed": 1},
        {"token": "client copy", "extra_body": {"project": "p", "tag": 1}},
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]},
        {"response_format": {"type": "json_object"}},
    ],
)
def test_requests_litellm_passes_unchanged_are_eligible(extra: dict[str, Any]) -> None:
    assert request_eligible({"model": "a", "messages": MESSAGES, **extra}, INJECTED)


@pytest.mark.parametrize(
    "extra",
    [
        {"metadata": {"a": 1}},
        {"user": "u"},
        {"mock_response": "hi"},
        {"fallbacks": ["b"]},
        {"api_base": "http://elsewhere"},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
        {"messages": [{"role": "user", "content": "hi", "cache_control": {}}]},
        {"messages": []},
        {"tools": [{"type": "function", "function": {"name": "f", "strict": True}}]},
        {
            "tools": [
                {"type": "function", "function": {"parameters": {"additionalProperties": False}}}
            ]
        },
        {"tools": [{"type": "custom", "custom": {"name": "f"}}]},
        {"response_format": {"type": "json_schema", "json_schema": {}}},
        {"extra_body": {"model": "other"}},
        {"stream": "yes"},
    ],
)
def test_requests_litellm_would_change_are_not_eligible(extra: dict[str, Any]) -> None:
    assert not request_eligible({"model": "a", "messages": MESSAGES, **extra}, INJECTED)


def chunk(payload: dict[str, Any], end: bytes = b"\n\n") -> bytes:
    return b"data: " + json.dumps(payload).encode() + end


@pytest.mark.parametrize("end", [b"\n\n", b"\r\n\r\n"], ids=["lf", "crlf"])
def test_stream_relay_reads_usage_and_drops_the_chunk_nobody_asked_for(end: bytes) -> None:
    record = RequestRecord(route="/v1/chat/completions")
    relay = _EventFilter(record, drop_usage=True)
    words = chunk({"choices": [{"delta": {"content": "hi"}}]}, end)
    usage = chunk({"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2}}, end)
    done = b"data: [DONE]" + end
    stream = words + usage + done
    # Split at awkward places: events must come out whole and in order.
    out = b"".join(relay.feed(stream[i : i + 7]) for i in range(0, len(stream), 7))
    out += relay.flush()
    assert out == words + done
    assert (record.tokens_in, record.tokens_out) == (4, 2)


def test_stream_relay_keeps_the_usage_chunk_when_asked() -> None:
    record = RequestRecord(route="/v1/chat/completions")
    relay = _EventFilter(record, drop_usage=False)
    usage = chunk({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 3}})
    assert relay.feed(usage) + relay.flush() == usage
    assert record.tokens_out == 3
