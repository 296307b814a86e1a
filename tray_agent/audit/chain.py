"""One audit line: its fields, its bytes, and the hash the next line points to.

A line is one JSON object in compact form, ASCII only, keys in a fixed order: ``seq``
(1, 2, 3, ... over the whole log, across files), ``time`` (UTC, milliseconds), ``event``,
the event's own fields, and ``prev``: the SHA-256 (hex) of the previous line's bytes
(without its newline; ``GENESIS`` before the first line). Changing, removing, inserting or
swapping a line breaks the chain at that point; a signed checkpoint (``keys.py``) fixes the
head so the whole chain cannot simply be recomputed after an edit.
"""

from __future__ import annotations

import hashlib
import json
import time as _time
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
CHECKPOINT = "audit.checkpoint"
RESERVED = ("seq", "time", "event", "prev")
MAX_LINE_BYTES = 64 * 1024  # far above any event; a longer line is not ours


def line_hash(line: bytes) -> str:
    """The hash the next line's ``prev`` holds (``line`` without its newline)."""
    return hashlib.sha256(line).hexdigest()


def stamp(now: float | None = None) -> str:
    """``2026-12-02T01:50:00.123Z``."""
    moment = datetime.fromtimestamp(_time.time() if now is None else now, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_stamp(text: str) -> float:
    """Epoch seconds of a ``stamp`` (or any ISO 8601 time with a zone; naive means UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def encode(seq: int, time: str, event: str, fields: dict[str, Any], prev: str) -> bytes:
    """The line's bytes (no newline). ``fields`` may not use the reserved keys."""
    body: dict[str, Any] = {"seq": seq, "time": time, "event": event}
    for key, value in fields.items():
        if key not in RESERVED:
            body[key] = value
    body["prev"] = prev
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def decode(line: bytes) -> dict[str, Any]:
    """The line's object; ``ValueError`` when it is not a well-formed audit line."""
    if len(line) > MAX_LINE_BYTES:
        raise ValueError("longer than any audit line")
    value = json.loads(line.decode("ascii"))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    seq, prev = value.get("seq"), value.get("prev")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValueError("no valid seq")
    if not isinstance(prev, str) or len(prev) != 64:
        raise ValueError("no valid prev")
    if not isinstance(value.get("event"), str) or not isinstance(value.get("time"), str):
        raise ValueError("no event or time")
    return value
