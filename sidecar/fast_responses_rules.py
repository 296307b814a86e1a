"""Which ``/v1/responses`` requests may skip LiteLLM: the fast path's rules for that route.

``sidecar.fast_routes`` has the config, model, chat and ``/v1/messages`` rules; these are the
body rules of ``/v1/responses``, decided in the same place (``FastPath.handle``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# -- translated route: /v1/responses -------------------------------------------------------
# LiteLLM's Responses-to-chat bridge translates it (``sidecar.fast_responses``), for a
# ``hosted_vllm/`` deployment with ``use_chat_completions_api`` (the agent sets it). The rules
# admit what the differential tests compare (tests/sidecar/test_fast_responses_diff.py) and
# what Codex sends; anything that needs state (``previous_response_id``, background mode,
# stored prompts, server-side compaction), server tools (web search, file search, MCP) or
# files goes to LiteLLM.
RESPONSES_PATHS = frozenset({"/v1/responses", "/responses"})
_RESPONSES_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "stream",
        "temperature",
        "top_p",
        "max_output_tokens",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "store",
        "reasoning",
        "include",
        "text",
        "prompt_cache_key",
        "client_metadata",
        "user",
        "metadata",
    }
)
_INPUT_ROLES = frozenset({"user", "assistant", "system", "developer"})
_INPUT_PARTS = frozenset({"input_text", "output_text"})
_FUNCTION_TOOL = frozenset({"type", "name", "description", "parameters", "strict"})
_CUSTOM_TOOL = frozenset({"type", "name", "description", "format"})
_TOOL_CHOICE_STRINGS = frozenset({"auto", "none", "required"})
_INCLUDES = frozenset({"reasoning.encrypted_content"})


def _text_part(part: Any) -> bool:
    return (
        isinstance(part, Mapping)
        and part.get("type") in _INPUT_PARTS
        and isinstance(part.get("text"), str)
        and set(part) <= {"type", "text", "annotations"}
        and part.get("annotations") in (None, [])
    )


def _responses_tool(tool: Any, nested: bool = False) -> bool:
    if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
        return False
    kind = tool.get("type")
    if kind == "function":
        return set(tool) <= _FUNCTION_TOOL and isinstance(tool.get("parameters", {}), Mapping)
    if kind == "custom":
        return set(tool) <= _CUSTOM_TOOL and isinstance(tool.get("format", {}), Mapping)
    if kind == "namespace" and not nested:
        tools = tool.get("tools")
        return (
            set(tool) <= {"type", "name", "description", "tools"}
            and isinstance(tools, list)
            and all(_responses_tool(t, nested=True) for t in tools)
        )
    return False


def _input_item(item: Any) -> bool:
    if not isinstance(item, Mapping):
        return False
    kind = item.get("type", "message")
    if kind == "message":
        content = item.get("content")
        return (
            set(item) <= {"type", "id", "role", "content", "status"}
            and item.get("role") in _INPUT_ROLES
            and (
                isinstance(content, str)
                or (isinstance(content, list) and all(map(_text_part, content)))
            )
        )
    if kind in ("function_call", "custom_tool_call"):
        payload = "arguments" if kind == "function_call" else "input"
        return (
            set(item) <= {"type", "id", "call_id", "name", payload, "status"}
            and isinstance(item.get("call_id"), str)
            and isinstance(item.get("name"), str)
            and isinstance(item.get(payload), str)
        )
    if kind in ("function_call_output", "custom_tool_call_output"):
        output = item.get("output")
        return (
            set(item) <= {"type", "id", "call_id", "output", "status"}
            and isinstance(item.get("call_id"), str)
            and (
                isinstance(output, str)
                or (isinstance(output, list) and all(map(_text_part, output)))
            )
        )
    if kind == "additional_tools":
        tools = item.get("tools")
        return (
            set(item) <= {"type", "id", "role", "tools"}
            and isinstance(tools, list)
            and all(map(_responses_tool, tools))
        )
    return False


def _reasoning(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and set(value) <= {"effort", "summary", "context"}
        and value.get("effort") in (None, "none", "minimal", "low", "medium", "high", "xhigh")
        and value.get("summary") in (None, "auto", "concise", "detailed", "none")
        and isinstance(value.get("context", ""), str)
    )


def _text_param(value: Any) -> bool:
    if not isinstance(value, Mapping) or not set(value) <= {"format", "verbosity"}:
        return False
    fmt = value.get("format")
    return (fmt is None or (isinstance(fmt, Mapping) and fmt == {"type": "text"})) and (
        value.get("verbosity") in (None, "low", "medium", "high")
    )


def _tool_choice(value: Any) -> bool:
    if isinstance(value, str):
        return value in _TOOL_CHOICE_STRINGS
    return (
        isinstance(value, Mapping)
        and value.get("type") == "function"
        and set(value) == {"type", "name"}
        and isinstance(value.get("name"), str)
    )


def _optional(body: Mapping[str, Any], name: str, kind: Any) -> bool:
    """The field is absent, null or of that type (a bool is no number here)."""
    value = body.get(name)
    if value is None:
        return True
    if kind is bool:
        return isinstance(value, bool)
    return isinstance(value, kind) and not isinstance(value, bool)


def responses_eligible(body: Mapping[str, Any], injected: frozenset[str]) -> bool:
    """True when LiteLLM's Responses-to-chat bridge alone decides what goes upstream."""
    if not set(body) <= _RESPONSES_FIELDS | injected:
        return False
    items = body.get("input")
    if not (
        isinstance(items, str)
        or (isinstance(items, list) and items and all(map(_input_item, items)))
    ):
        return False
    tools = body.get("tools")
    if tools is not None and not (isinstance(tools, list) and all(map(_responses_tool, tools))):
        return False
    checks = (
        _optional(body, "instructions", str),
        _optional(body, "stream", bool),
        _optional(body, "store", bool),
        _optional(body, "parallel_tool_calls", bool),
        _optional(body, "temperature", (int, float)),
        _optional(body, "top_p", (int, float)),
        _optional(body, "max_output_tokens", int),
        _optional(body, "prompt_cache_key", str),
        _optional(body, "user", str),
        _optional(body, "client_metadata", Mapping),
        _optional(body, "metadata", Mapping),
    )
    if not all(checks):
        return False
    max_tokens = body.get("max_output_tokens")
    if max_tokens is not None and max_tokens < 1:
        return False
    include = body.get("include")
    if include is not None and not (isinstance(include, list) and set(include) <= _INCLUDES):
        return False
    if "reasoning" in body and body["reasoning"] is not None and not _reasoning(body["reasoning"]):
        return False
    if "text" in body and body["text"] is not None and not _text_param(body["text"]):
        return False
    return (
        "tool_choice" not in body
        or body["tool_choice"] is None
        or _tool_choice(body["tool_choice"])
    )
