"""ASGI wrapper around the LiteLLM app: served routes, the key and the organization policy,
warm-up before accepting, closing when draining."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from sidecar import allowlist, metrics
from sidecar.policy import Admission, PolicyGate, Refusal
from sidecar.policy.refusal import POLICY_ERROR

if TYPE_CHECKING:
    from sidecar.fast_path import FastPath

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BridgeApp:
    """Wraps the proxy app.

    * Only the routes in ``sidecar.allowlist`` reach the app or the fast path; any other
      answers 404 (a WebSocket is refused, 403) before LiteLLM runs anything. A served route
      without the master key answers 401, before anything can go upstream; with it, the
      credential headers are rewritten into the form LiteLLM parses.
    * The organization policy (``sidecar.policy``) is checked here, once, for every route
      and both paths: a model it does not allow answers 403, a spent limit or quota 429,
      before the fast path or LiteLLM runs; ``/v1/models`` lists only allowed models.
    * ``on_started`` runs after the app finished its own start-up and before uvicorn is told
      so; uvicorn opens the listening socket only after that, so no client waits on a cold
      process.
    * Once ``draining`` is set, every response that starts carries ``Connection: close``: the
      client learns not to reuse the connection instead of finding it reset later.
    * ``fast_path``, when given, serves the chat and ``/v1/messages`` requests its rules take
      (``sidecar.fast_routes``) behind the same policy, metrics and draining; the rest reach
      the app.
    """

    def __init__(
        self,
        app: ASGIApp,
        on_started: Callable[[], Awaitable[None]],
        master_key: str,
        fast_path: FastPath | None = None,
        policy: PolicyGate | None = None,
    ) -> None:
        self.app = app
        self._key = master_key.encode()
        self.on_started = on_started
        self.fast_path = fast_path
        self.policy = policy if policy is not None else PolicyGate()
        self.draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._lifespan_send(send))
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            # No served route is a WebSocket: closing before accepting answers 403.
            await receive()
            await send({"type": "websocket.close", "code": 1008})
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        method = str(scope.get("method", ""))
        route = allowlist.match(method, path)
        if route is None:
            message = allowlist.not_served_message(method, path)
            body = allowlist.error_body("openai", 404, message, "not_found_error")
            await _send_json(self._http_send(send, None), 404, body)
            return
        record = metrics.begin(path) if metrics.is_counted(path) else None
        if record is not None:
            record.client = metrics.client_of(scope.get("headers"))
        admission: Admission | None = None
        try:
            send = self._http_send(send, record)
            if route.needs_key and not allowlist.authorized(scope, self._key, route):
                if record is not None:
                    # Not the upstream's AuthenticationError: the client's key was wrong.
                    record.error = allowlist.CLIENT_KEY_ERROR
                body = allowlist.error_body(
                    route.style, 401, allowlist.KEY_MESSAGE, "authentication_error"
                )
                await _send_json(send, 401, body)
                return
            if route.needs_key:
                # The wrapper owns the scope: LiteLLM sees the key the way it parses it.
                scope["headers"] = allowlist.canonical_headers(scope.get("headers", ()), self._key)
            policy = self.policy.current() if route.needs_key else None
            if policy is not None:
                outcome = await self.policy.admit(policy, scope, receive, route, record)
                if outcome is None:
                    return  # the client went away while its body was read
                if isinstance(outcome, Refusal):
                    await _refuse(send, outcome, route, record)
                    return
                admission, receive = outcome, outcome.receive
                if route.name == "models":
                    send = self.policy.listing_filter(policy, send)
            if self.fast_path is not None and record is not None:
                passed_on = await self.fast_path.handle(scope, receive, send, record)
                if passed_on is None:
                    return
                receive = passed_on
            await self.app(scope, receive, send)
        finally:
            if admission is not None:
                admission.release()
            if record is not None:
                metrics.finish(record)

    def _lifespan_send(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                await self.on_started()
            await send(message)

        return wrapped

    def _http_send(self, send: Send, record: metrics.RequestRecord | None) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start" and record is not None:
                record.status = int(message.get("status", 0))
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (b"x-request-id", record.request_id.encode()),
                    ],
                }
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type" and value.startswith(b"text/event-stream"):
                        record.stream = True
            elif message["type"] == "http.response.body" and record is not None:
                record.bytes_out += len(message.get("body", b""))
            if message["type"] == "http.response.start" and self.draining:
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"connection"
                ]
                headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        return wrapped


async def _refuse(
    send: Send, refusal: Refusal, route: allowlist.ServedRoute, record: metrics.RequestRecord | None
) -> None:
    if record is not None:
        record.error = POLICY_ERROR
        record.refused = refusal.reason
    await _send_json(send, refusal.status, refusal.body(route.style), refusal.response_headers())


async def _send_json(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
