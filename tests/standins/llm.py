"""Stand-in for the company's internal LLM API (OpenAI-compatible, token in the request body).

It answers ``POST /v1/chat/completions`` (streaming with SSE or not), ``POST /v1/completions``
and ``POST /v1/embeddings`` (not streaming) and ``GET /v1/models``, refuses with 401 any
completion or embedding request whose body lacks a currently valid token (see
``tests.standins.tokens``) or, when required, the project field, records every request it
receives, and misbehaves on demand (slow answers, 500s, malformed JSON, mid-stream disconnects).

Answers are deterministic, so two paths sending the same request get the same answer: a
request with ``tools`` whose last message mentions ``call_tool`` gets a call of the first tool
(``finish_reason: tool_calls``), and ``max_tokens`` below the reply's word count cuts the reply
to that many words (``finish_reason: length``).

In-process::

    llm = StandInLLM().start()
    ...  # llm.url, llm.requests, llm.inject_fault("error")
    llm.stop()

Standalone: ``python -m tests.standins.llm --port 8011``; faults then go through
``POST /_standin/fault`` with ``{"kind": ..., "count": ..., "delay": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.standins.tokens import DEFAULT_KEY, verify

FaultKind = Literal["slow", "error", "malformed", "disconnect", "hold"]
FAULT_KINDS: tuple[str, ...] = ("slow", "error", "malformed", "disconnect", "hold")
# A held answer gives up waiting for release() after this long.
HOLD_LIMIT_SECONDS = 600.0


@dataclass
class RecordedRequest:
    """One request as the stand-in received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    query: str = ""
    # The bytes as sent: how the sender serialised its JSON shows who sent it.
    raw: bytes = b""


@dataclass
class Fault:
    kind: FaultKind
    delay: float = 0.0


@dataclass
class _Faults:
    queue: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def push(self, fault: Fault, count: int) -> None:
        with self.lock:
            self.queue.extend([fault] * count)

    def pop(self) -> Fault | None:
        with self.lock:
            return self.queue.pop(0) if self.queue else None

    def clear(self) -> None:
        with self.lock:
            self.queue.clear()


TOOL_TRIGGER = "call_tool"


def _last_text(messages: Any) -> str:
    if not isinstance(messages, list) or not messages:
        return ""
    return json.dumps(messages[-1])


def _tool_call(body: dict[str, Any]) -> dict[str, Any] | None:
    """The tool call a request asks for (see the module docstring), or None."""
    tools = body.get("tools")
    if (
        not isinstance(tools, list)
        or not tools
        or TOOL_TRIGGER not in _last_text(body.get("messages"))
    ):
        return None
    function = tools[0].get("function", {}) if isinstance(tools[0], dict) else {}
    name = str(function.get("name", "tool"))
    return {
        "id": "call_" + uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(body.get("messages"))).hex[:16],
        "type": "function",
        "function": {"name": name, "arguments": json.dumps({"path": "notes.txt", "n": 2})},
    }


def _count_words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_count_words(v) for v in value)
    if isinstance(value, dict):
        return _count_words(value.get("content")) + _count_words(value.get("text"))
    return 0


class StandInLLM:
    """An OpenAI-compatible server that checks the internal token like the real API would."""

    def __init__(
        self,
        reply: str = "stand-in says hello",
        token_field: str = "token",
        project_field: str = "project",
        require_project: bool = True,
        models: tuple[str, ...] = ("internal-model",),
        signing_key: bytes = DEFAULT_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        open_models: tuple[str, ...] = (),
    ) -> None:
        self.reply = reply
        # Models answered without a token or project (an upstream outside the injection spec).
        self.open_models = open_models
        self.token_field = token_field
        self.project_field = project_field
        self.require_project = require_project
        self.models = models
        self.signing_key = signing_key
        self.host = host
        self.port = port
        self.chunk_delay = 0.0
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self._faults = _Faults()
        self._released = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/completions", self._text_completion, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/_standin/fault", self._fault_endpoint, methods=["POST"]),
                Route("/_standin/release", self._release_endpoint, methods=["POST"]),
                Route("/_standin/requests", self._requests_endpoint, methods=["GET"]),
                Route("/_standin/reset", self._reset_endpoint, methods=["POST"]),
            ]
        )

    # -- public API -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far."""
        with self._requests_lock:
            return list(self._requests)

    def completions(self) -> list[RecordedRequest]:
        """The chat completion requests received so far."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def clear(self) -> None:
        """Forget recorded requests and pending faults."""
        with self._requests_lock:
            self._requests.clear()
        self._faults.clear()

    def inject_fault(self, kind: FaultKind, count: int = 1, delay: float = 2.0) -> None:
        """Misbehave on the next ``count`` completion requests.

        ``slow`` waits ``delay`` seconds before answering (spread over the chunks when
        streaming), ``error`` answers 500, ``malformed`` answers 200 with broken JSON,
        ``disconnect`` drops the connection half-way through a stream (or before any
        answer when not streaming), ``hold`` sends the first chunk of a stream (nothing when
        not streaming) and then waits for ``release()``.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {FAULT_KINDS}")
        if kind == "hold":
            self._released.clear()
        self._faults.push(Fault(kind, delay), count)

    def release(self) -> None:
        """Let held answers continue."""
        self._released.set()

    async def _wait_released(self) -> None:
        deadline = time.monotonic() + HOLD_LIMIT_SECONDS
        while not self._released.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    def start(self) -> StandInLLM:
        """Serve in a background thread; returns once the port accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, lifespan="off", log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="standin-llm", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("stand-in LLM did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> StandInLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- handlers ---------------------------------------------------------------------------

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode(errors="replace")
        with self._requests_lock:
            self._requests.append(
                RecordedRequest(
                    request.method,
                    request.url.path,
                    dict(request.headers),
                    body,
                    request.url.query,
                    raw,
                )
            )
        return body

    def _auth_error(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "request body is not a JSON object"
        if body.get("model") in self.open_models:
            return None
        token = body.get(self.token_field)
        if not isinstance(token, str) or verify(token, key=self.signing_key) is None:
            return f"missing, invalid or expired token in field {self.token_field!r}"
        if self.require_project and not body.get(self.project_field):
            return f"missing project in field {self.project_field!r}"
        return None

    async def _models(self, request: Request) -> Response:
        await self._record(request)
        data = [{"id": m, "object": "model", "owned_by": "stand-in"} for m in self.models]
        return JSONResponse({"object": "list", "data": data})

    def _unauthorized(self, problem: str) -> Response:
        return JSONResponse(
            {"error": {"message": problem, "type": "unauthorized", "code": 401}},
            status_code=401,
        )

    async def _text_completion(self, request: Request) -> Response:
        body = await self._record(request)
        problem = self._auth_error(body)
        if problem is not None:
            return self._unauthorized(problem)
        prompt_tokens = _count_words(body.get("prompt"))
        completion_tokens = len(self.reply.split())
        return JSONResponse(
            {
                "id": f"cmpl-{uuid.uuid4().hex[:12]}",
                "object": "text_completion",
                "created": int(time.time()),
                "model": str(body.get("model", self.models[0])),
                "choices": [
                    {"index": 0, "text": self.reply, "finish_reason": "stop", "logprobs": None}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    async def _embeddings(self, request: Request) -> Response:
        body = await self._record(request)
        problem = self._auth_error(body)
        if problem is not None:
            return self._unauthorized(problem)
        inputs = body.get("input")
        count = len(inputs) if isinstance(inputs, list) else 1
        tokens = _count_words(inputs)
        return JSONResponse(
            {
                "object": "list",
                "model": str(body.get("model", self.models[0])),
                "data": [
                    {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                    for i in range(count)
                ],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def _chat(self, request: Request) -> Response:
        body = await self._record(request)
        problem = self._auth_error(body)
        if problem is not None:
            return self._unauthorized(problem)
        fault = self._faults.pop()
        stream = bool(body.get("stream"))
        model = str(body.get("model", self.models[0]))
        usage = {
            "prompt_tokens": _count_words(body.get("messages")),
            "completion_tokens": len(self.reply.split()),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if fault is not None and fault.kind == "error":
            return JSONResponse(
                {"error": {"message": "stand-in internal error", "type": "server_error"}},
                status_code=500,
            )
        if fault is not None and fault.kind == "disconnect" and not stream:
            raise ConnectionAbortedError("stand-in dropped the connection")
        if stream:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            reply, call, finish = self._answer(body)
            usage["completion_tokens"] = len(reply.split()) if reply else 1
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            return StreamingResponse(
                self._stream(model, usage if include_usage else None, fault, reply, call, finish),
                media_type="text/event-stream",
            )
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.kind == "hold":
            await self._wait_released()
        if fault is not None and fault.kind == "malformed":
            return Response('{"id": "broken", "choices": [', media_type="application/json")
        reply, call, finish = self._answer(body)
        message: dict[str, Any] = {"role": "assistant", "content": reply}
        if call is not None:
            message["tool_calls"] = [call]
        usage["completion_tokens"] = len(reply.split()) if reply else 1
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            }
        )

    def _answer(self, body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None, str]:
        """The reply text, tool call and finish reason for a chat request."""
        call = _tool_call(body)
        if call is not None:
            return None, call, "tool_calls"
        words = self.reply.split(" ")
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        if isinstance(limit, int) and 0 < limit < len(words):
            return " ".join(words[:limit]), None, "length"
        return self.reply, None, "stop"

    async def _stream(
        self,
        model: str,
        usage: dict[str, int] | None,
        fault: Fault | None,
        reply: str | None = None,
        call: dict[str, Any] | None = None,
        finish: str = "stop",
    ) -> AsyncIterator[str]:
        chunk_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        reply = self.reply if reply is None and call is None else reply
        words = reply.split(" ") if reply else []
        delay = self.chunk_delay
        if fault is not None and fault.kind == "slow":
            delay = max(delay, fault.delay / max(len(words), 1))

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            payload = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(payload)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        for i, word in enumerate(words):
            if fault is not None and fault.kind == "hold" and i == 1:
                await self._wait_released()
            if delay:
                await asyncio.sleep(delay)
            if fault is not None and fault.kind == "disconnect" and i >= len(words) // 2:
                raise ConnectionAbortedError("stand-in dropped the stream")
            if fault is not None and fault.kind == "malformed" and i == len(words) // 2:
                yield "data: {not json\n\n"
                continue
            yield chunk({"content": word if i == 0 else " " + word})
        if call is not None:
            arguments = call["function"]["arguments"]
            head = {"id": call["id"], "type": "function"}
            function = {"name": call["function"]["name"], "arguments": ""}
            yield chunk({"tool_calls": [{"index": 0, **head, "function": function}]})
            for part in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
        yield chunk({}, finish)
        if usage is not None:
            payload = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [],
                "usage": usage,
            }
            yield f"data: {json.dumps(payload)}\n\n"
        yield "data: [DONE]\n\n"

    async def _fault_endpoint(self, request: Request) -> Response:
        spec = await request.json()
        try:
            self.inject_fault(
                spec["kind"], int(spec.get("count", 1)), float(spec.get("delay", 2.0))
            )
        except (KeyError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    async def _release_endpoint(self, request: Request) -> Response:
        self.release()
        return JSONResponse({"ok": True})

    async def _requests_endpoint(self, request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "method": r.method,
                    "path": r.path,
                    "query": r.query,
                    "headers": r.headers,
                    "body": r.body,
                }
                for r in self.requests
            ]
        )

    async def _reset_endpoint(self, request: Request) -> Response:
        self.clear()
        return JSONResponse({"ok": True})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Stand-in internal LLM API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--reply", default="stand-in says hello")
    parser.add_argument("--token-field", default="token")
    parser.add_argument("--project-field", default="project")
    parser.add_argument("--no-project", action="store_true", help="do not require a project")
    parser.add_argument(
        "--open-model",
        action="append",
        default=[],
        help="a model answered without a token or project (repeatable)",
    )
    args = parser.parse_args(argv)
    llm = StandInLLM(
        reply=args.reply,
        token_field=args.token_field,
        project_field=args.project_field,
        require_project=not args.no_project,
        host=args.host,
        port=args.port,
        open_models=tuple(args.open_model),
    )
    uvicorn.run(llm.app, host=args.host, port=args.port, lifespan="off", log_level="info")


if __name__ == "__main__":
    main()
