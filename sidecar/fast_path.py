"""The fast path: chat requests that need no translation, and ``/v1/messages``, skip LiteLLM.

``/v1/messages`` is translated by LiteLLM's own functions, called directly
(``sidecar.fast_translate``, ``sidecar.fast_adapted``); docs/FAST_PATH.md lists the rules.

LiteLLM spends 10-15 ms of CPU on every request (auth, router, logging, middleware). For a
chat request to an OpenAI-compatible upstream that LiteLLM would send on unchanged
(``sidecar.fast_routes`` decides), the sidecar forwards it itself with the same guarantees:

* the master key, checked by the ASGI wrapper for every route (``sidecar.allowlist``) and
  again here, the same way (any header a client sends it in, constant-time compare);
* the same injection and stripping (``sidecar.inject``: token, project, client-sent
  upstream headers and query parameters), the same 400 for client-sent credentials and
  endpoints and the same 401 without a token, before anything goes upstream;
* the same ``request`` metric, token counts included (``stream_options.include_usage`` is
  asked upstream as LiteLLM does, and the usage chunk is dropped when the client did not ask);
* ``Connection: close`` while draining (the ASGI wrapper adds it to every response);
* retries like LiteLLM's router defaults: 2 more attempts on connection errors, 408, 409,
  429 and 5xx, only before anything was sent to the client.

Not done here (such requests or models go to LiteLLM, see ``sidecar.fast_routes``): aliases,
wildcards, load balancing, fallbacks, budgets, rate limits, caching, guardrails, other
callbacks, parameter translation. Responses are the upstream's bytes, not LiteLLM's
re-serialisation (no ``x-litellm-*`` headers; stream chunks as the upstream framed them).

Switch: ``LITELLM_BRIDGE_FAST_PATH=on|off``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

from sidecar import allowlist, fast_adapted
from sidecar.fast_responses_rules import RESPONSES_PATHS, responses_eligible
from sidecar.fast_routes import (
    MESSAGES_PATHS,
    MESSAGES_QUERY,
    FastRoutes,
    Upstream,
    messages_eligible,
    request_eligible,
    translated_eligible,
)
from sidecar.fast_translate import Kind, Translated, translate_messages, translate_responses
from sidecar.inject import (
    TOKEN_MISSING_MESSAGE,
    ModelInjection,
    enforce_client_boundary,
    inject_extra_body,
    lookup,
    refuses,
    strip_fields,
)
from sidecar.metrics import RequestRecord
from sidecar.policy.request import PARSED_BODY, read_body, replay
from sidecar.state import STATE, BridgeState
from sidecar.upstream_http import UpstreamClient, UpstreamError, UpstreamResponse, UpstreamTimeout

FAST_PATH_ENV = "LITELLM_BRIDGE_FAST_PATH"
FAST_PATH_DEFAULT = "on"
CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
RETRIES = 2
_RETRY_AFTER_CAP_SECONDS = 10.0
_CONNECT_TIMEOUT_SECONDS = 30.0

Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]

_ERROR_CLASSES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    408: "Timeout",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
    503: "ServiceUnavailableError",
}


def enabled(environ: Mapping[str, str]) -> bool:
    value = environ.get(FAST_PATH_ENV) or FAST_PATH_DEFAULT
    return value.strip().lower() not in ("0", "off", "false", "no")


def error_class(status: int) -> str:
    """The LiteLLM exception name a request event carries for an upstream status."""
    if status in _ERROR_CLASSES:
        return _ERROR_CLASSES[status]
    return "InternalServerError" if status >= 500 else "APIError"


def _should_retry(status: int) -> bool:
    return status in (408, 409, 429) or status >= 500


def _retry_delay(attempt: int, response: UpstreamResponse | None) -> float:
    retry_after = None if response is None else response.headers.get("retry-after")
    if retry_after is not None:
        with contextlib.suppress(ValueError):
            return min(_RETRY_AFTER_CAP_SECONDS, max(0.0, float(retry_after)))
    return 0.5 * (2**attempt)


def _error_body(status: int, message: str, kind: str | None = None) -> bytes:
    error = {"message": message, "type": kind, "param": None, "code": str(status)}
    return json.dumps({"error": error}, separators=(",", ":")).encode()


def _user_agent() -> str:
    try:
        return f"litellm/{metadata.version('litellm')}"
    except metadata.PackageNotFoundError:
        return "litellm-bridge"


def _usage_into(record: RequestRecord, usage: Any) -> None:
    if not isinstance(usage, Mapping):
        return
    tokens_in, tokens_out = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(tokens_in, int):
        record.tokens_in = tokens_in
    if isinstance(tokens_out, int):
        record.tokens_out = tokens_out


class _EventFilter:
    """Passes SSE bytes through; reads the usage chunk and drops it if the client did not ask.

    Events end with a blank line (``\n\n`` or ``\r\n\r\n``); a partial event waits for its
    end, but never more than ``_MAX_PENDING`` bytes: past that it is passed on as it is.
    """

    _MAX_PENDING = 1 << 20

    def __init__(self, record: RequestRecord, drop_usage: bool) -> None:
        self.record = record
        self.drop_usage = drop_usage
        self._buffer = b""

    def feed(self, data: bytes) -> bytes:
        self._buffer += data
        out: list[bytes] = []
        while True:
            end = _event_end(self._buffer)
            if end < 0:
                break
            event, self._buffer = self._buffer[:end], self._buffer[end:]
            out.append(self._event(event))
        if len(self._buffer) > self._MAX_PENDING:
            out.append(self.flush())
        return b"".join(out)

    def flush(self) -> bytes:
        rest, self._buffer = self._buffer, b""
        return rest

    def _event(self, event: bytes) -> bytes:
        if b'"usage"' not in event or not event.startswith(b"data:"):
            return event
        try:
            chunk = json.loads(event[5:])
        except ValueError:
            return event
        if not isinstance(chunk, dict):
            return event
        _usage_into(self.record, chunk.get("usage"))
        if self.drop_usage and chunk.get("usage") and not chunk.get("choices"):
            return b""
        return event


def _event_end(buffer: bytes) -> int:
    """Where the first complete SSE event ends (after its blank line), or -1."""
    ends = [i + len(sep) for sep in (b"\n\n", b"\r\n\r\n") if (i := buffer.find(sep)) >= 0]
    return min(ends) if ends else -1


class FastPath:
    """Serves eligible chat requests; hands every other request back to LiteLLM."""

    def __init__(
        self,
        routes: FastRoutes,
        master_key: str,
        spec: Callable[[], Mapping[str, ModelInjection]],
        state: BridgeState = STATE,
    ) -> None:
        self.routes = routes
        self._key = master_key.encode()
        self._spec = spec
        self.state = state
        self._user_agent = _user_agent()
        self.client = UpstreamClient(self._user_agent)

    def _authorized(self, scope: Mapping[str, Any]) -> bool:
        route = allowlist.match("POST", str(scope.get("path", "")))
        return route is not None and allowlist.authorized(scope, self._key, route)

    async def handle(
        self, scope: Mapping[str, Any], receive: Receive, send: Send, record: RequestRecord
    ) -> Receive | None:
        """Serve the request and return None, or return the ``receive`` LiteLLM must use.

        The one place that decides, per request, fast path or LiteLLM: the route, then the
        model (``FastRoutes``), then the body (``fast_routes`` rules for the route), then,
        for translated routes, what LiteLLM's translation made of it.
        """
        path = scope.get("path")
        kind: Kind | None = None
        if path in MESSAGES_PATHS:
            kind = "messages"
        elif path in RESPONSES_PATHS:
            kind = "responses"
        if (
            scope.get("method") != "POST"
            or (kind is None and path not in CHAT_PATHS)
            or not _query_served(kind, scope.get("query_string"))
            or self.state.warming
            or not self.routes
            or not self._authorized(scope)
        ):
            return receive
        raw = await read_body(receive)
        if raw is None:
            return None  # the client is gone; nothing to answer
        replayed = replay(raw, receive)
        # The policy check may have parsed the body already (it only reads, never edits it).
        body = scope.get(PARSED_BODY)
        if body is None:
            try:
                body = json.loads(raw)
            except ValueError:
                return replayed
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return replayed
        upstream = self.routes.upstream(body["model"])
        if upstream is None:
            return replayed
        if kind is None and upstream.upstream_model != body["model"]:
            # The chat answer is the upstream's, naming its model; LiteLLM would name the
            # requested one (a wildcard name mapped onto another model).
            return replayed
        if kind is not None:
            body = dict(body)  # the policy's parsed copy stays as the client sent it
        refusal = enforce_client_boundary(body)
        if refusal is not None:
            record.model = upstream.model_name
            record.error = "BadRequestError"
            if kind == "messages":
                body_bytes = fast_adapted.refusal_body(refusal)
            else:  # LiteLLM answers chat and /v1/responses refusals alike
                body_bytes = _error_body(400, refusal, "invalid_request_error")
            await _send_whole(send, 400, "application/json", body_bytes)
            record.settled()
            return None
        injection = lookup(self._spec(), upstream.model_name)
        names = injection.field_names if injection is not None else frozenset()
        if kind is not None:
            translated = await _translated(kind, body, names, upstream)
            if translated is None:
                return replayed
            record.model = upstream.model_name
            record.stream = translated.stream
            try:
                await self._serve_translated(upstream, injection, translated, receive, send, record)
            finally:
                record.settled()
            return None
        if not request_eligible(body, names):
            return replayed
        record.model = upstream.model_name
        record.stream = body.get("stream") is True
        try:
            await self._serve(upstream, injection, body, receive, send, record)
        finally:
            record.settled()
        return None

    async def _serve_translated(
        self,
        upstream: Upstream,
        injection: ModelInjection | None,
        translated: Translated,
        receive: Receive,
        send: Send,
        record: RequestRecord,
    ) -> None:
        token = self.state.usable_token()
        kind = translated.kind
        if injection is not None and refuses(injection, token):
            record.error = "HTTPException"
            body_bytes = fast_adapted.error_body(kind, 401, TOKEN_MISSING_MESSAGE)
            await _send_whole(send, 401, "application/json", body_bytes)
            return
        body = translated.body
        if injection is not None:
            # After the client's fields, as LiteLLM flattens the hook's extra_body.
            body.update(injection.fields(token))
        body["model"] = upstream.upstream_model
        response = await self._send_upstream(upstream, body, translated.stream, record)
        if isinstance(response, bytes):
            status = 408 if record.error == "Timeout" else 500
            message = json.loads(response)["error"]["message"]
            await _send_whole(
                send, status, "application/json", fast_adapted.error_body(kind, status, message)
            )
            return
        try:
            if translated.stream and response.status_code < 400:
                await fast_adapted.relay_stream(translated, response, receive, send, record)
            else:
                await fast_adapted.relay_whole(translated, response, send, record, _send_whole)
        finally:
            await response.aclose()

    async def _serve(
        self,
        upstream: Upstream,
        injection: ModelInjection | None,
        body: dict[str, Any],
        receive: Receive,
        send: Send,
        record: RequestRecord,
    ) -> None:
        token = self.state.usable_token()
        if injection is not None and refuses(injection, token):
            record.error = "HTTPException"
            body_bytes = _error_body(401, TOKEN_MISSING_MESSAGE, "authentication_error")
            await _send_whole(send, 401, "application/json", body_bytes)
            return
        if injection is not None:
            inject_extra_body(body, injection, token)
        body.update(body.pop("extra_body", None) or {})
        body["model"] = upstream.upstream_model
        stream = body.get("stream") is True
        client_wants_usage = False
        if stream:
            options = dict(body.get("stream_options") or {})
            client_wants_usage = options.get("include_usage") is True
            body["stream_options"] = {**options, "include_usage": True}
        else:
            body["stream"] = False
        response = await self._send_upstream(upstream, body, stream, record)
        if isinstance(response, bytes):
            status = 408 if record.error == "Timeout" else 500
            await _send_whole(send, status, "application/json", response)
            return
        try:
            if stream and response.status_code < 400:
                await self._relay_stream(response, receive, send, record, client_wants_usage)
            else:
                await self._relay_whole(response, send, record)
        finally:
            await response.aclose()

    async def _send_upstream(
        self, upstream: Upstream, body: dict[str, Any], stream: bool, record: RequestRecord
    ) -> UpstreamResponse | bytes:
        """The upstream response (headers read), or an error body after the last retry."""
        content = json.dumps(body, separators=(",", ":")).encode()
        headers = {
            "Authorization": f"Bearer {upstream.api_key}",
            "Content-Type": "application/json",
        }
        seconds = upstream.stream_timeout if stream else upstream.timeout
        connect = min(seconds, _CONNECT_TIMEOUT_SECONDS)
        failure = b""
        for attempt in range(RETRIES + 1):
            last = attempt == RETRIES
            response: UpstreamResponse | None = None
            try:
                response = await self.client.post(
                    upstream.url, content, headers, read_timeout=seconds, connect_timeout=connect
                )
            except UpstreamTimeout as exc:
                record.error = "Timeout"
                failure = _error_body(408, f"upstream timed out: {exc}", "timeout")
            except UpstreamError as exc:
                record.error = "APIConnectionError"
                failure = _error_body(500, f"cannot reach {upstream.url}: {exc}", "api_error")
            else:
                if last or not _should_retry(response.status_code):
                    record.error = None
                    return response
                await response.aclose()
            if not last:
                await asyncio.sleep(_retry_delay(attempt, response))
        return failure

    async def _relay_whole(
        self, response: UpstreamResponse, send: Send, record: RequestRecord
    ) -> None:
        try:
            data = await response.aread()
        except UpstreamError as exc:
            record.error = "APIConnectionError"
            message = f"upstream answer broke off: {exc}"
            await _send_whole(send, 500, "application/json", _error_body(500, message))
            return
        status = response.status_code
        content_type = response.headers.get("content-type", "application/json")
        if status >= 400:
            record.error = error_class(status)
            if not _is_error_json(data):
                text = data.decode(errors="replace")[:2000]
                data = _error_body(status, f"upstream answered {status}: {text}")
                content_type = "application/json"
        else:
            with contextlib.suppress(ValueError):
                parsed = json.loads(data)
                if isinstance(parsed, dict):
                    _usage_into(record, parsed.get("usage"))
        await _send_whole(send, status, content_type, data)

    async def _relay_stream(
        self,
        response: UpstreamResponse,
        receive: Receive,
        send: Send,
        record: RequestRecord,
        client_wants_usage: bool,
    ) -> None:
        events = _EventFilter(record, drop_usage=not client_wants_usage)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )

        async def pump() -> None:
            try:
                async for data in response.aiter_bytes():
                    out = events.feed(data)
                    if out:
                        await send({"type": "http.response.body", "body": out, "more_body": True})
            except UpstreamError:
                # The stream broke off upstream: end it here, the client sees no [DONE].
                record.error = "APIConnectionError"
            await send({"type": "http.response.body", "body": events.flush(), "more_body": False})

        await fast_adapted.relay_until_disconnect(pump(), receive, record)


def _is_error_json(data: bytes) -> bool:
    try:
        parsed = json.loads(data)
    except ValueError:
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get("error"), dict | str)


async def _send_whole(send: Send, status: int, content_type: str, data: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode("latin-1")),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data, "more_body": False})


def _query_served(kind: Kind | None, query: Any) -> bool:
    """No query string, or Claude Code's ``?beta=true`` on /v1/messages (LiteLLM ignores it)."""
    return not query or (kind == "messages" and query == MESSAGES_QUERY)


async def _translated(
    kind: Kind, body: dict[str, Any], injected: frozenset[str], upstream: Upstream
) -> Translated | None:
    """LiteLLM's translation of an eligible body, or None: LiteLLM serves it."""
    # For openai/ LiteLLM sends /v1/messages to the Responses API, not to chat completions.
    if upstream.provider != "hosted_vllm":
        return None
    if kind == "messages":
        if not messages_eligible(body, injected):
            return None
    # Without use_chat_completions_api LiteLLM forwards /v1/responses upstream as it is.
    elif not upstream.chat_bridge or not responses_eligible(body, injected):
        return None
    strip_fields(body, injected)  # client copies of injected fields, as the hook strips them
    translate = translate_messages if kind == "messages" else translate_responses
    try:
        translated = await translate(body, upstream.provider, upstream.upstream_model)
    except Exception:  # whatever LiteLLM's translation refuses, LiteLLM answers itself
        return None
    translated.model = upstream.model_name
    return translated if translated_eligible(translated.body) else None
