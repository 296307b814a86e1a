"""LiteLLM's own translations, called directly: Anthropic Messages to chat completions.

The fast path (``sidecar.fast_path``) serves ``/v1/messages`` for a chat-completions upstream
by calling the same functions LiteLLM's proxy calls on that route, without its auth, router
and logging layers:

* request: the route's message preparation (``prepare_native_messages``), LiteLLM's Anthropic
  adapter (``_prepare_completion_kwargs``), then ``litellm.completion``'s validation steps and
  the provider's own ``map_openai_params`` and ``transform_request``;
* response: the upstream JSON becomes LiteLLM's ``ModelResponse`` the way LiteLLM parses it
  (``convert_to_model_response_object``), then the adapter turns it into the route's format;
* stream: each upstream SSE chunk goes through the provider's chunk parser, the resulting
  chunks through the adapter's stream wrapper (Anthropic events).

Nothing is re-implemented here: a LiteLLM upgrade changes both paths alike, and the
differential tests (``tests/sidecar/test_fast_messages_diff.py``,
``tests/sidecar/test_fast_responses_diff.py``) compare them. ``/v1/responses`` goes through
LiteLLM's Responses-to-chat bridge (``sidecar.fast_responses``). Imports are lazy: only a
sidecar with LiteLLM loaded calls these.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["messages", "responses"]

# The Anthropic handler's keyword parameters: every other body field reaches it as an extra
# keyword (``fast_routes`` admits none that would change the translation).
_MESSAGES_ARGS = (
    "max_tokens",
    "metadata",
    "stop_sequences",
    "temperature",
    "thinking",
    "tool_choice",
    "tools",
    "top_p",
)


@dataclass
class Translated:
    """A chat body for the upstream, and what turning its answer back needs."""

    kind: Kind
    body: dict[str, Any]
    stream: bool
    # The model name the client is told: the model group it asked for, as LiteLLM's proxy
    # reports it (the translation fills in the upstream's until the caller sets it).
    model: str
    tool_name_mapping: dict[str, str] = field(default_factory=dict)
    # LiteLLM's context-management result (a ``PolyfillResult``) or None.
    polyfill: Any = None
    # For /v1/responses: the request its answer echoes (``fast_responses.ResponsesRequest``).
    responses: Any = None


@functools.cache
def _provider_config(provider: str) -> Any:
    """The provider's chat config; one per provider (the configs keep no request state, and
    making one costs a twentieth of a millisecond per request)."""
    from litellm.llms.hosted_vllm.chat.transformation import HostedVLLMChatConfig
    from litellm.llms.openai.chat.gpt_transformation import OpenAIGPTConfig

    return HostedVLLMChatConfig() if provider == "hosted_vllm" else OpenAIGPTConfig()


def chat_body(provider: str, upstream_model: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The upstream JSON body LiteLLM builds from chat kwargs for this provider.

    The steps of ``litellm.completion`` for these kwargs, in its order: its message, tool,
    tool choice and stop validation, then the provider's parameter mapping and request
    transformation. Parameters the provider does not support are left out, as LiteLLM
    leaves them out (``user`` from Anthropic's ``metadata.user_id`` for ``hosted_vllm``).
    """
    from litellm.utils import (
        validate_and_fix_openai_messages,
        validate_and_fix_openai_tools,
        validate_chat_completion_tool_choice,
        validate_openai_optional_params,
    )

    config = _provider_config(provider)
    params = {k: v for k, v in kwargs.items() if k not in ("model", "messages")}
    messages = validate_and_fix_openai_messages([dict(m) for m in kwargs.get("messages") or []])
    # ``developer`` turns (the Responses bridge keeps them) become ``system`` for this provider.
    messages = config.translate_developer_role_to_system_role(messages=messages)
    if "tools" in params:
        params["tools"] = validate_and_fix_openai_tools(params["tools"])
    if "tool_choice" in params:
        params["tool_choice"] = validate_chat_completion_tool_choice(
            params["tool_choice"], f"{provider}/{upstream_model}"
        )
    if "stop" in params:
        params["stop"] = validate_openai_optional_params(stop=params["stop"])
    params = {k: v for k, v in params.items() if v is not None}
    supported = set(config.get_supported_openai_params(upstream_model))
    optional = config.map_openai_params(
        {k: v for k, v in params.items() if k in supported}, {}, upstream_model, drop_params=True
    )
    body: dict[str, Any] = config.transform_request(upstream_model, messages, optional, {}, {})
    return body


async def messages_request(
    body: Mapping[str, Any], provider: str, upstream_model: str
) -> tuple[dict[str, Any], dict[str, str], Any]:
    """LiteLLM's chat kwargs for an Anthropic Messages body, its tool name mapping and the
    context-management result (applied edits, reported back in the answer), as its async
    handler makes them."""
    from litellm.llms.anthropic.pass_through.adapters.handler import (
        LiteLLMMessagesToCompletionTransformationHandler as Handler,
    )
    from litellm.llms.anthropic.pass_through.adapters.handler import (
        _prepare_context_managed_request,
    )
    from litellm.llms.anthropic.pass_through.messages.handler import (
        validate_anthropic_api_metadata,
    )
    from litellm.llms.anthropic.pass_through.messages.utils import prepare_native_messages

    model = f"{provider}/{upstream_model}"
    args = {name: body[name] for name in _MESSAGES_ARGS if name in body}
    # What LiteLLM's /v1/messages entry does first: empty blocks out, tool ids sanitised.
    messages: Any
    system: Any
    messages, system = prepare_native_messages(
        [dict(m) for m in body["messages"]],
        body.get("system"),
        {},
        model=model,
        custom_llm_provider=provider,
        tools=body.get("tools"),
    )
    if "metadata" in args:
        args["metadata"] = validate_anthropic_api_metadata(args["metadata"])
    # The context-management edits (clear thinking, clear tool uses) and client compaction
    # history, without a router: the rules admit no edit that needs a model call.
    polyfill = await _prepare_context_managed_request(
        model=model,
        messages=messages,
        tools=body.get("tools"),
        system=system,
        context_management_spec=body.get("context_management"),
        litellm_metadata=None,
        additional_drop_params=None,
        llm_router=None,
    )
    args["messages"] = polyfill.messages if polyfill is not None else messages
    system = polyfill.system if polyfill is not None else system
    args.pop("system", None)
    if system:
        args["system"] = system
    extra: dict[str, Any] = {"custom_llm_provider": provider}
    if "output_config" in body:
        extra["output_config"] = body["output_config"]
    prepared, mapping = Handler._prepare_completion_kwargs(
        model=model, stream=body.get("stream") is True, extra_kwargs=extra, **args
    )
    kwargs: dict[str, Any] = dict(prepared)
    kwargs.pop("custom_llm_provider", None)
    return kwargs, dict(mapping or {}), polyfill


async def translate_messages(
    body: Mapping[str, Any], provider: str, upstream_model: str
) -> Translated:
    kwargs, mapping, polyfill = await messages_request(body, provider, upstream_model)
    stream = body.get("stream") is True
    return Translated(
        kind="messages",
        body=chat_body(provider, upstream_model, kwargs),
        stream=stream,
        model=upstream_model,
        tool_name_mapping=mapping,
        polyfill=polyfill,
    )


async def translate_responses(
    body: Mapping[str, Any], provider: str, upstream_model: str
) -> Translated:
    from sidecar.fast_responses import responses_request

    kwargs, request = responses_request(body, provider, upstream_model)
    return Translated(
        kind="responses",
        body=chat_body(provider, upstream_model, kwargs),
        stream=body.get("stream") is True,
        model=upstream_model,
        responses=request,
    )


def _model_response(data: Mapping[str, Any]) -> Any:
    from litellm.litellm_core_utils.llm_response_utils.convert_dict_to_response import (
        convert_to_model_response_object,
    )
    from litellm.types.utils import ModelResponse

    return convert_to_model_response_object(
        response_object=dict(data), model_response_object=ModelResponse()
    )


def _dump(value: Any, model: str) -> bytes:
    if hasattr(value, "model_dump"):
        value = value.model_dump(exclude_none=False)
    if isinstance(value, dict) and "model" in value:
        value["model"] = model
    return json.dumps(value, separators=(",", ":"), default=str).encode()


def answer(translated: Translated, data: Mapping[str, Any]) -> bytes:
    """The client's JSON answer for the upstream's chat completion ``data``."""
    response = _model_response(data)
    if translated.kind == "messages":
        from litellm.llms.anthropic.pass_through.adapters.handler import ANTHROPIC_ADAPTER

        anthropic = ANTHROPIC_ADAPTER.translate_completion_output_params(
            response,
            tool_name_mapping=translated.tool_name_mapping,
            polyfill_result=translated.polyfill,
        )
        return _dump(anthropic, translated.model)
    from sidecar import fast_responses

    return fast_responses.answer(translated.responses, response, translated.model)


async def chunks(lines: AsyncIterator[dict[str, Any]]) -> AsyncIterator[Any]:
    """LiteLLM's stream chunks for the upstream's parsed SSE chunks (the provider's parser)."""
    from litellm.llms.openai.chat.gpt_transformation import OpenAIChatCompletionStreamingHandler

    parser = OpenAIChatCompletionStreamingHandler(
        streaming_response=None, sync_stream=False, json_mode=False
    )
    async for chunk in lines:
        yield parser.chunk_parser(chunk)


def event_stream(translated: Translated, stream: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    """The client's SSE bytes for LiteLLM's chunks, by the route's own stream wrapper."""
    if translated.kind == "messages":
        from litellm.llms.anthropic.pass_through.adapters.handler import ANTHROPIC_ADAPTER

        wrapped = ANTHROPIC_ADAPTER.translate_completion_output_params_streaming(
            stream,
            model=translated.model,
            tool_name_mapping=translated.tool_name_mapping,
            polyfill_result=translated.polyfill,
            is_async=True,
        )
        assert wrapped is not None
        return wrapped  # type: ignore[return-value]
    from sidecar import fast_responses

    return fast_responses.event_stream(translated.responses, stream, translated.model)
