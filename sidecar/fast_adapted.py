"""The fast path's translated route: ``/v1/messages`` to chat-completions upstreams.

``sidecar.fast_path`` decides (with the rules in ``sidecar.fast_routes``) and hands an
eligible request here. The request is translated by LiteLLM's own functions
(``sidecar.fast_translate``), sent with the chat fast path's sender (same retries, same
headers, same timeouts) and the answer translated back the same way. Errors are answered in
the route's format, with LiteLLM's status codes and error types (the message text differs:
it names the upstream answer instead of LiteLLM's exception chain).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from sidecar.fast_translate import Kind, Translated, answer, chunks, event_stream
from sidecar.upstream_http import UpstreamError, UpstreamResponse

if TYPE_CHECKING:
    from sidecar.metrics import RequestRecord

Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]

# Anthropic's error types by status (what LiteLLM's /v1/messages answers).
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
# OpenAI-style error types LiteLLM's /v1/responses answers by status.
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_denied_error",
    404: "not_found_error",
    408: "timeout_error",
    429: "rate_limit_error",
}


def error_body(kind: Kind, status: int, message: str) -> bytes:
    """An error answer in the format the route's clients parse."""
    payload: dict[str, Any]
    if kind == "messages":
        kind_name = _ANTHROPIC_TYPES.get(status, "api_error")
        payload = {"type": "error", "error": {"type": kind_name, "message": message}}
    else:
        default = "internal_server_error" if status >= 500 else "invalid_request_error"
        error = {
            "message": message,
            "type": _OPENAI_TYPES.get(status, default),
            "param": None,
            "code": str(status),
        }
        payload = {"error": error}
    return json.dumps(payload, separators=(",", ":")).encode()


def refusal_body(message: str) -> bytes:
    """A refused client field, as LiteLLM's hook answers it on every route."""
    error = {"message": message, "type": "auth_error", "param": "None", "code": "400"}
    return json.dumps({"error": error}, separators=(",", ":")).encode()


def usage_into(record: RequestRecord, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    tokens_in, tokens_out = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(tokens_in, int):
        record.tokens_in = tokens_in
    if isinstance(tokens_out, int):
        record.tokens_out = tokens_out


def upstream_failure(status: int, data: bytes) -> str:
    text = data.decode(errors="replace")[:2000]
    return f"upstream answered {status}: {text}"


async def relay_whole(
    translated: Translated,
    response: UpstreamResponse,
    send: Send,
    record: RequestRecord,
    send_whole: Callable[[Send, int, str, bytes], Any],
) -> None:
    try:
        data = await response.aread()
    except UpstreamError as exc:
        record.error = "APIConnectionError"
        message = f"upstream answer broke off: {exc}"
        await send_whole(send, 500, "application/json", error_body(translated.kind, 500, message))
        return
    status = response.status_code
    if status >= 400:
        record.error = _error_class(status)
        body = error_body(translated.kind, status, upstream_failure(status, data))
        await send_whole(send, status, "application/json", body)
        return
    try:
        parsed = json.loads(data)
        if not isinstance(parsed, dict):
            raise ValueError("not an object")
        usage_into(record, parsed.get("usage"))
        out = answer(translated, parsed)
    except Exception as exc:  # a malformed upstream answer: LiteLLM answers 500 too
        record.error = "InternalServerError"
        message = f"cannot read the upstream answer: {type(exc).__name__}"
        await send_whole(send, 500, "application/json", error_body(translated.kind, 500, message))
        return
    await send_whole(send, 200, "application/json", out)


def _error_class(status: int) -> str:
    from sidecar.fast_path import error_class

    return error_class(status)


async def _sse_chunks(
    response: UpstreamResponse, record: RequestRecord
) -> AsyncIterator[dict[str, Any]]:
    """The upstream's chat chunks, parsed; usage counted on the way."""
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            # Read on to the end: a body left unread closes the upstream connection.
            continue
        chunk = json.loads(data)
        if isinstance(chunk, dict):
            usage_into(record, chunk.get("usage"))
            yield chunk


async def relay_stream(
    translated: Translated,
    response: UpstreamResponse,
    receive: Receive,
    send: Send,
    record: RequestRecord,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-cache"),
                (b"x-accel-buffering", b"no"),
            ],
        }
    )
    events = event_stream(translated, chunks(_sse_chunks(response, record)))
    # The route's opening event (``message_start``, ``response.created``) needs no upstream
    # chunk: it goes out at once, as LiteLLM sends it once the upstream's headers are in.
    # After it, the events made from what arrived together go out in one write.
    pending: list[bytes] = []
    ready = asyncio.Event()
    finished = False

    async def produce() -> None:
        nonlocal finished
        opened = False
        try:
            async for data in events:
                if data:
                    pending.append(data)
                    ready.set()
                    if not opened:
                        opened = True
                        await asyncio.sleep(0)  # let the pump write it before reading on
        except (UpstreamError, ValueError):
            # The stream broke off or went bad upstream: end it here, unfinished.
            record.error = "APIConnectionError"
        finally:
            finished = True
            ready.set()

    async def pump() -> None:
        producer = asyncio.ensure_future(produce())
        try:
            while True:
                await ready.wait()
                ready.clear()
                if pending:
                    out = b"".join(pending)
                    pending.clear()
                    await send({"type": "http.response.body", "body": out, "more_body": True})
                if finished and not pending:
                    break
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    await relay_until_disconnect(pump(), receive, record)


async def relay_until_disconnect(
    pump: Coroutine[Any, Any, None], receive: Any, record: RequestRecord
) -> None:
    """Run ``pump`` (a relay to the client) until it ends or the client goes away; then
    nothing keeps reading upstream for nobody (``record.error`` says which happened)."""

    async def client_gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    relay = asyncio.ensure_future(pump)
    watch = asyncio.ensure_future(client_gone())
    try:
        done, _ = await asyncio.wait({relay, watch}, return_when=asyncio.FIRST_COMPLETED)
        if relay not in done:
            record.error = "ClientDisconnected"
    finally:
        for task in (relay, watch):
            task.cancel()
        for task in (relay, watch):
            with contextlib.suppress(asyncio.CancelledError):
                await task
