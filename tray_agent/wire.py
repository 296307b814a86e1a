"""The agent's side of the agent<->sidecar wire, defined once.

Three channels (docs/ARCHITECTURE.md, "Sidecar process contract"): the environment the agent
gives the sidecar, JSON lines the agent writes to the sidecar's stdin, and JSON lines the
sidecar writes to the events pipe. The sidecar has its own copy (``sidecar/wire.py``: it is
another program and never imports ``tray_agent``); ``tests/supervisor/test_wire.py`` checks
that the two agree.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Final

# -- environment ------------------------------------------------------------------------
CONFIG_ENV: Final = "LITELLM_BRIDGE_CONFIG"
MASTER_KEY_ENV: Final = "LITELLM_MASTER_KEY"
INJECT_ENV: Final = "LITELLM_BRIDGE_INJECT"
HOST_ENV: Final = "LITELLM_BRIDGE_HOST"
PORT_ENV: Final = "LITELLM_BRIDGE_PORT"
LISTEN_FD_ENV: Final = "LITELLM_BRIDGE_LISTEN_FD"
# Windows: "1" when the listening socket comes as the first stdin message (LISTEN_SOCKET).
LISTEN_SHARED_ENV: Final = "LITELLM_BRIDGE_LISTEN_SHARED"
EVENTS_FD_ENV: Final = "LITELLM_BRIDGE_EVENTS_FD"
FAST_PATH_ENV: Final = "LITELLM_BRIDGE_FAST_PATH"
WARMUP_ENV: Final = "LITELLM_BRIDGE_WARMUP"
HOME_ENV: Final = "LITELLM_BRIDGE_HOME"

# Every variable the agent sets for the sidecar (the sidecar reads all of them but HOME).
SIDECAR_ENV: Final = frozenset(
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
# The agent's own LITELLM_BRIDGE_* variables stay out of the sidecar, except these switches.
PASSED_THROUGH: Final = (HOME_ENV, FAST_PATH_ENV, WARMUP_ENV)

# -- stdin messages (agent -> sidecar) ---------------------------------------------------
TOKEN: Final = "token"
DRAIN: Final = "drain"
LISTEN_SOCKET: Final = "listen_socket"
POLICY: Final = "policy"
USAGE: Final = "usage"
AUDIT: Final = "audit"
MESSAGE_TYPES: Final = frozenset({TOKEN, DRAIN, LISTEN_SOCKET, POLICY, USAGE, AUDIT})


def token_message(token: str | None, expires_at: float | None) -> dict[str, Any]:
    return {"type": TOKEN, "token": token, "expires_at": expires_at}


def drain_message(timeout: float) -> dict[str, Any]:
    return {"type": DRAIN, "timeout": timeout}


def policy_message(enforced: dict[str, Any] | None) -> dict[str, Any]:
    """The organization policy the sidecar enforces per request (None: no policy)."""
    return {"type": POLICY, "policy": enforced}


def audit_message(blocked: str | None) -> dict[str, Any]:
    """Why the audit log cannot be written while the policy requires it (None: it can):
    the sidecar then refuses every model request with 503."""
    return {"type": AUDIT, "blocked": blocked}


def usage_message(usage: dict[str, Any] | None) -> dict[str, Any]:
    """This employee's quota usage as the agent counted it (persistent, all sidecars)."""
    return {"type": USAGE, "usage": usage}


def listen_socket_message(shared: bytes) -> dict[str, Any]:
    """``socket.share(pid)``'s bytes for the sidecar's ``socket.fromshare`` (Windows)."""
    return {"type": LISTEN_SOCKET, "share": base64.b64encode(shared).decode("ascii")}


def encode(message: dict[str, Any]) -> bytes:
    """One stdin line."""
    return (json.dumps(message) + "\n").encode()


# -- events (sidecar -> agent, on the events pipe) -------------------------------------------
READY: Final = "ready"
TOKEN_APPLIED: Final = "token_applied"
REQUEST: Final = "request"
LOAD: Final = "load"
DRAINING: Final = "draining"
SIDECAR_EVENTS: Final = frozenset({READY, TOKEN_APPLIED, REQUEST, LOAD, DRAINING})

# -- events the agent's SidecarProcess adds for its core (never on the pipe) ----------------
EVENTS_CLOSED: Final = "events_closed"
START_LIMIT: Final = "start_limit"
EXITED: Final = "exited"
AGENT_EVENTS: Final = frozenset({EVENTS_CLOSED, START_LIMIT, EXITED})


def parse_event(raw: bytes) -> dict[str, Any] | None:
    """One events-pipe line as a dict with an ``event`` key, or None when it is not one."""
    try:
        msg = json.loads(raw)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None
