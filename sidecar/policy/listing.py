"""``/v1/models`` without the models the policy does not allow.

LiteLLM writes the listing; the bridge buffers that one small JSON answer and removes every
entry whose ``id`` is not allowed, so a client never offers a model it would be refused.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
# A listing larger than this is not a model list the bridge knows: it is refused instead.
_MAX_LISTING_BYTES = 8 << 20
_NOT_A_LISTING = (
    b'{"error":{"message":"model listing not understood","type":"api_error",'
    b'"param":null,"code":"502"}}'
)


def filter_listing(data: bytes, allowed: Callable[[str], bool]) -> bytes | None:
    """The listing without refused entries, or None when it is not a listing."""
    try:
        listing = json.loads(data)
    except ValueError:
        return None
    if not isinstance(listing, dict) or not isinstance(listing.get("data"), list):
        return None
    listing["data"] = [
        entry
        for entry in listing["data"]
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and allowed(entry["id"])
    ]
    return json.dumps(listing, separators=(",", ":")).encode()


def filtered_listing(send: Send, allowed: Callable[[str], bool]) -> Send:
    start: Message | None = None
    chunks: list[bytes] = []
    size = 0
    finished = False

    async def wrapped(message: Message) -> None:
        nonlocal start, size, finished
        if finished and message["type"] == "http.response.body":
            return  # the rest of a listing too large to be one: already answered
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body" or start is None:
            await send(message)
            return
        chunk = bytes(message.get("body", b""))
        chunks.append(chunk)
        size += len(chunk)
        if message.get("more_body", False) and size <= _MAX_LISTING_BYTES:
            return
        data = b"".join(chunks)
        status = int(start.get("status", 200))
        filtered = filter_listing(data, allowed) if status == 200 else data
        if filtered is None:
            # Not a listing the bridge can filter: never pass unfiltered names on.
            status, filtered = 502, _NOT_A_LISTING
        headers = [
            (name, value)
            for name, value in start.get("headers", [])
            if name.lower() not in (b"content-length", b"content-encoding")
        ]
        headers.append((b"content-length", str(len(filtered)).encode()))
        await send({**start, "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": filtered, "more_body": False})
        start, finished = None, True

    return wrapped
