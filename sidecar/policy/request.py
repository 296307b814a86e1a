"""What the policy reads of a request: its body (read once, then handed on) and model name."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]

PARSED_BODY = "litellm_bridge.parsed_body"
"""Scope key under which the parsed JSON body is handed to the fast path (not parsed twice)."""
_GEMINI_PREFIX = "/v1beta/models/"


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client went away first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the body already read on, then the real channel."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replayed


def gemini_model(path: str) -> str | None:
    """The model of a ``/v1beta/models/<model>:<method>`` path."""
    if not path.startswith(_GEMINI_PREFIX):
        return None
    name, colon, _ = path[len(_GEMINI_PREFIX) :].rpartition(":")
    return name if colon and name else None


def body_model(raw: bytes) -> tuple[str | None, Any]:
    """The ``model`` of a JSON body and the parsed body (None, None when not JSON)."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None, None
    if isinstance(parsed, dict) and isinstance(parsed.get("model"), str):
        return parsed["model"], parsed
    return None, parsed


def content_length(headers: Any) -> int:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return max(0, int(value))
            except ValueError:
                return 0
    return 0


def scope_headers(scope: Mapping[str, Any]) -> Any:
    return scope.get("headers", ())


def query_names_model(scope: Mapping[str, Any]) -> bool:
    """True when the query string carries a ``model`` parameter (in any encoding)."""
    from urllib.parse import parse_qsl

    raw = scope.get("query_string") or b""
    if not raw:
        return False
    text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    return any(key.strip() == "model" for key, _ in parse_qsl(text, keep_blank_values=True))
