"""One ``request`` event per HTTP request: route, model, status, latency, stream, tokens;
a ``load`` event (requests in flight) whenever a request begins or ends.

The ASGI layer owns the record (it sees every request, including the ones the hook refuses
and the ones that fail before LiteLLM calls anything); the hook fills in the model group and
token counts through a context variable. Never any content.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sidecar import wire
from sidecar.events import EVENTS

# Token counts arrive from LiteLLM's logging task, which may finish after the response did.
SETTLE_WAIT_SECONDS = 2.0
# Probes and the UI are not requests anyone needs counted.
_SKIPPED_PREFIXES = ("/health", "/metrics", "/ui", "/favicon")

_CURRENT: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "sidecar_request_record", default=None
)


def _request_id() -> str:
    return uuid.uuid4().hex


@dataclass
class RequestRecord:
    route: str
    started: float = field(default_factory=time.monotonic)
    # Sent back as ``x-request-id`` and kept in the audit log: one answer, one record.
    request_id: str = field(default_factory=_request_id)
    # The client tool, from the User-Agent's first product token (``claude-cli/2.0.1``).
    client: str | None = None
    model: str | None = None
    status: int | None = None
    stream: bool = False
    tokens_in: int | None = None
    tokens_out: int | None = None
    error: str | None = None
    latency_ms: float | None = None
    # Why the organization policy refused the request (``sidecar.policy.refusal`` reasons).
    refused: str | None = None
    # Body sizes: the policy's token estimate when the upstream reports no usage.
    bytes_in: int = 0
    bytes_out: int = 0
    # Called once the token counts are final, before the event goes out (policy counting).
    on_settled: Callable[[RequestRecord], None] | None = None
    _settled: asyncio.Event = field(default_factory=asyncio.Event)

    def settled(self) -> None:
        """LiteLLM finished logging this call (success or failure)."""
        self._settled.set()

    async def wait_settled(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), timeout)

    def as_event(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "request_id": self.request_id,
            "client": self.client,
            "route": self.route,
            "model": self.model,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "stream": self.stream,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
        }
        if self.error is not None:
            fields["error"] = self.error
        if self.refused is not None:
            fields["refused"] = self.refused
        return fields


def current_record() -> RequestRecord | None:
    return _CURRENT.get()


def client_of(headers: Any) -> str | None:
    """The User-Agent's first product token, printable ASCII, at most 80 characters."""
    for name, value in headers or ():
        if bytes(name).lower() == b"user-agent":
            token = bytes(value).split(b" ", 1)[0][:80]
            text = "".join(c for c in token.decode("latin-1") if " " < c < "\x7f")
            return text or None
    return None


def is_counted(path: str) -> bool:
    return not path.startswith(_SKIPPED_PREFIXES)


# Requests between begin() and finish(); every change goes to the agent as a "load" event.
_open = 0


def in_flight() -> int:
    return _open


def _load_changed(delta: int) -> None:
    global _open
    _open += delta
    EVENTS.emit(wire.LOAD, in_flight=_open)


def begin(path: str) -> RequestRecord:
    _load_changed(+1)
    record = RequestRecord(route=path)
    if "streamGenerateContent" in path:
        record.stream = True
    _CURRENT.set(record)
    return record


_pending: set[asyncio.Task[None]] = set()


def finish(record: RequestRecord) -> None:
    """Emit the event once LiteLLM has logged the call (bounded wait, off the request path)."""
    _load_changed(-1)
    record.latency_ms = round((time.monotonic() - record.started) * 1000, 1)
    if record.status is not None and record.status >= 400:
        record.settled()
    if record.model is None:
        record.settled()
    task = asyncio.get_running_loop().create_task(_emit_when_settled(record))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def _emit_when_settled(record: RequestRecord) -> None:
    await record.wait_settled(SETTLE_WAIT_SECONDS)
    if record.on_settled is not None:
        try:
            record.on_settled(record)
        except Exception as exc:  # counting must never cost the event
            print(f"litellm-bridge-sidecar: request accounting failed: {exc!r}", file=sys.stderr)
    EVENTS.emit(wire.REQUEST, **record.as_event())


async def wait_pending(timeout: float) -> None:
    """Let queued metric events out before the process exits."""
    if _pending:
        await asyncio.wait(list(_pending), timeout=timeout)
