"""ASGI wrapper around the LiteLLM app: warm-up before accepting, closing when draining."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from sidecar import metrics

if TYPE_CHECKING:
    from sidecar.fast_path import FastPath

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BridgeApp:
    """Wraps the proxy app.

    * ``on_started`` runs after the app finished its own start-up and before uvicorn is told
      so; uvicorn opens the listening socket only after that, so no client waits on a cold
      process.
    * Once ``draining`` is set, every response that starts carries ``Connection: close``: the
      client learns not to reuse the connection instead of finding it reset later.
    * ``fast_path``, when given, serves the chat requests that need no translation (see
      ``sidecar.fast_path``) behind the same metrics and draining; the rest reach the app.
    """

    def __init__(
        self,
        app: ASGIApp,
        on_started: Callable[[], Awaitable[None]],
        fast_path: FastPath | None = None,
    ) -> None:
        self.app = app
        self.on_started = on_started
        self.fast_path = fast_path
        self.draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._lifespan_send(send))
        elif scope["type"] == "http":
            path = str(scope.get("path", ""))
            if not metrics.is_counted(path):
                await self.app(scope, receive, self._http_send(send, None))
                return
            record = metrics.begin(path)
            try:
                send = self._http_send(send, record)
                if self.fast_path is not None:
                    passed_on = await self.fast_path.handle(scope, receive, send, record)
                    if passed_on is None:
                        return
                    receive = passed_on
                await self.app(scope, receive, send)
            finally:
                metrics.finish(record)
        else:
            await self.app(scope, receive, send)

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
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type" and value.startswith(b"text/event-stream"):
                        record.stream = True
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
