"""The sidecar's side of the agent<->sidecar wire, defined once for this program.

The agent's copy is ``tray_agent/wire.py`` (the sidecar never imports the agent:
it is a separate frozen executable); ``tests/supervisor/test_wire.py`` checks that the two
agree on every name and that each side parses what the other writes.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

# -- environment given by the agent -------------------------------------------------------
CONFIG_ENV: Final = "LITELLM_BRIDGE_CONFIG"
MASTER_KEY_ENV: Final = "LITELLM_MASTER_KEY"
INJECT_ENV: Final = "LITELLM_BRIDGE_INJECT"
HOST_ENV: Final = "LITELLM_BRIDGE_HOST"
PORT_ENV: Final = "LITELLM_BRIDGE_PORT"
LISTEN_FD_ENV: Final = "LITELLM_BRIDGE_LISTEN_FD"
LISTEN_SHARED_ENV: Final = "LITELLM_BRIDGE_LISTEN_SHARED"
EVENTS_FD_ENV: Final = "LITELLM_BRIDGE_EVENTS_FD"
FAST_PATH_ENV: Final = "LITELLM_BRIDGE_FAST_PATH"
WARMUP_ENV: Final = "LITELLM_BRIDGE_WARMUP"
READ_ENV: Final = frozenset(
    {
        CONFIG_ENV,
        MASTER_KEY_ENV,
        INJECT_ENV,
        HOST_ENV,
        PORT_ENV,
        LISTEN_FD_ENV,
        LISTEN_SHARED_ENV,
        EVENTS_FD_ENV,
        FAST_PATH_ENV,
        WARMUP_ENV,
    }
)

# -- stdin messages --------------------------------------------------------------------------
TOKEN: Final = "token"
DRAIN: Final = "drain"
LISTEN_SOCKET: Final = "listen_socket"
POLICY: Final = "policy"
USAGE: Final = "usage"
AUDIT: Final = "audit"
MESSAGE_TYPES: Final = frozenset({TOKEN, DRAIN, LISTEN_SOCKET, POLICY, USAGE, AUDIT})


class BadMessage(ValueError):
    """A stdin line the sidecar ignores; the message says why (for its stderr)."""


def parse_message(line: bytes) -> dict[str, Any] | None:
    """One stdin line as a message with a known ``type``; None for a blank line."""
    if not line.strip():
        return None
    try:
        message = json.loads(line)
    except json.JSONDecodeError:
        raise BadMessage("ignored a stdin line that is not JSON") from None
    if not isinstance(message, dict):
        raise BadMessage("ignored a stdin message that is not an object")
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        raise BadMessage(f"ignored a stdin message of unknown type {kind!r}")
    return message


def shared_socket_bytes(message: dict[str, Any]) -> bytes:
    """The ``socket.share`` bytes of a LISTEN_SOCKET message."""
    try:
        return base64.b64decode(str(message.get("share", "")), validate=True)
    except (binascii.Error, ValueError):
        raise BadMessage("ignored a listen_socket message that is not base64") from None


# -- events ------------------------------------------------------------------------------------
READY: Final = "ready"
TOKEN_APPLIED: Final = "token_applied"
REQUEST: Final = "request"
LOAD: Final = "load"
DRAINING: Final = "draining"
EVENTS: Final = frozenset({READY, TOKEN_APPLIED, REQUEST, LOAD, DRAINING})


def event_line(event: str, **fields: Any) -> bytes:
    """One events-pipe line."""
    return (json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n").encode()
