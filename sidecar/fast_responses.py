"""LiteLLM's own Responses API bridge, called directly: ``/v1/responses`` to chat completions.

For a deployment with ``use_chat_completions_api`` (what the agent renders for every
``hosted_vllm/`` model), LiteLLM's ``responses()`` hands the request to its
chat-completion bridge (``litellm.responses.litellm_completion_transformation``). The fast
path calls the same pieces, in the same order, without the proxy's auth, router and logging:

* request: the optional parameters as ``responses()`` filters them
  (``get_requested_response_api_optional_param``), Codex's ``additional_tools`` input items
  hoisted into ``tools`` (``hoist_additional_tools``), then
  ``transform_responses_api_request_to_chat_completion_request``; its chat kwargs go through
  ``sidecar.fast_translate.chat_body`` like the ``/v1/messages`` ones;
* answer: ``transform_chat_completion_response_to_responses_api_response``;
* stream: LiteLLM's own ``LiteLLMCompletionStreamingIterator``. It reads chunks from a
  ``CustomStreamWrapper``; here it reads the provider parser's chunks from ``_Chunks``,
  which offers the two things the iterator uses (``__anext__`` and ``logging_obj``, None:
  the fast path logs through its own request record, and LiteLLM's builder takes None).

Imports are lazy: only a sidecar with LiteLLM loaded calls these.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

# Body fields that are not Responses parameters but reach LiteLLM's bridge as keyword
# arguments the chat call receives (``responses_eligible`` admits no others).
_CHAT_KWARGS = ("prompt_cache_key",)


@dataclass(frozen=True)
class ResponsesRequest:
    """What turning the chat answer back into a Responses answer needs."""

    input: Any
    params: Mapping[str, Any]
    # What LiteLLM's router names the model in the events it makes itself (the stream's
    # first two); the proxy stamps the model group on every event's top level only.
    upstream_model: str


def responses_request(
    body: Mapping[str, Any], provider: str, upstream_model: str
) -> tuple[dict[str, Any], ResponsesRequest]:
    """LiteLLM's chat kwargs for a Responses body, and the request its answer echoes."""
    from litellm.responses.additional_tools import hoist_additional_tools
    from litellm.responses.litellm_completion_transformation.transformation import (
        LiteLLMCompletionResponsesConfig,
    )
    from litellm.responses.utils import ResponsesAPIRequestUtils

    model = f"{provider}/{upstream_model}"
    stream = body.get("stream") is True
    named = {k: v for k, v in body.items() if k not in ("model", "input", *_CHAT_KWARGS)}
    params: Any = ResponsesAPIRequestUtils.get_requested_response_api_optional_param(
        {**named, "stream": body.get("stream"), "custom_llm_provider": provider}
    )
    hoisted = hoist_additional_tools(body["input"], params.get("tools"))
    if hoisted.hoisted:
        params = {**params, "tools": list(hoisted.tools)}
    extra = {k: body[k] for k in _CHAT_KWARGS if k in body}
    kwargs: dict[str, Any] = dict(
        LiteLLMCompletionResponsesConfig.transform_responses_api_request_to_chat_completion_request(
            model=model,
            input=hoisted.input,
            responses_api_request=params,
            custom_llm_provider=provider,
            stream=stream,
            **extra,
        )
    )
    kwargs.update(extra)
    for name in ("custom_llm_provider", "extra_headers", "metadata"):
        kwargs.pop(name, None)
    return kwargs, ResponsesRequest(hoisted.input, params, upstream_model)


def _dump(value: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = value.model_dump(exclude_none=False)
    return dumped


def answer(request: ResponsesRequest, response: Any, model: str) -> bytes:
    """The client's JSON for LiteLLM's ``ModelResponse`` of the upstream answer."""
    from litellm.responses.litellm_completion_transformation.transformation import (
        LiteLLMCompletionResponsesConfig,
    )

    config = LiteLLMCompletionResponsesConfig
    out = config.transform_chat_completion_response_to_responses_api_response(
        request_input=request.input,
        responses_api_request=request.params,  # type: ignore[arg-type]
        chat_completion_response=response,
    )
    data = _dump(out)
    data["model"] = model
    return json.dumps(data, separators=(",", ":"), default=str).encode()


class _Chunks:
    """The provider parser's chunks, as LiteLLM's Responses stream iterator reads them."""

    logging_obj: Any = None

    def __init__(self, chunks: AsyncIterator[Any]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> Any:
        return await self._chunks.__anext__()


async def event_stream(
    request: ResponsesRequest, chunks: AsyncIterator[Any], model: str
) -> AsyncIterator[bytes]:
    """The client's SSE bytes: LiteLLM's Responses events for the upstream's chunks."""
    from litellm.responses.litellm_completion_transformation.streaming_iterator import (
        LiteLLMCompletionStreamingIterator,
    )

    events = LiteLLMCompletionStreamingIterator(
        model=request.upstream_model,
        litellm_custom_stream_wrapper=_Chunks(chunks),  # type: ignore[arg-type]
        request_input=request.input,
        responses_api_request=request.params,  # type: ignore[arg-type]
        custom_llm_provider=None,
        litellm_metadata={},
    )
    async for event in events:
        yield sse(event, model)
    yield b"data: [DONE]\n\n"


def sse(event: Any, model: str) -> bytes:
    """One event as LiteLLM's proxy writes it: the model group stamped on a copy, then
    ``model_dump_json`` without unset or null fields."""
    if getattr(event, "model", None) != model:
        event = event.model_copy(update={"model": model})
    data: str = event.model_dump_json(exclude_none=True, exclude_unset=True)
    return b"data: " + data.encode() + b"\n\n"
