"""The agent's stdin channel: token updates, drain requests, and EOF meaning "agent gone".

The reader starts before litellm is imported so that a sidecar whose agent died during the
slow start-up exits instead of lingering.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import BinaryIO

from sidecar import wire
from sidecar.events import EVENTS
from sidecar.handoff import SHARED, SharedSocket
from sidecar.state import STATE, BridgeState

DrainHandler = Callable[[float], None]

# What a drain waits for at most when the agent gives no timeout (and on SIGTERM).
DEFAULT_DRAIN_TIMEOUT = 30.0


def _log(message: str) -> None:
    print(f"litellm-bridge-sidecar: {message}", file=sys.stderr, flush=True)


class StdinChannel:
    """Reads JSON lines from the agent and applies them."""

    def __init__(
        self,
        state: BridgeState = STATE,
        on_eof: Callable[[], None] | None = None,
        shared: SharedSocket = SHARED,
    ) -> None:
        self._state = state
        self._shared = shared
        self._on_eof = on_eof or _exit_now
        self._lock = threading.Lock()
        self._drain_handler: DrainHandler | None = None
        self._pending_drain: float | None = None
        self._thread: threading.Thread | None = None

    def start(self, stream: BinaryIO | None = None) -> None:
        source = stream if stream is not None else sys.stdin.buffer
        self._thread = threading.Thread(
            target=self._run, args=(source,), name="sidecar-stdin", daemon=True
        )
        self._thread.start()

    def set_drain_handler(self, handler: DrainHandler) -> None:
        """Install the drain procedure; a drain asked for earlier runs now."""
        with self._lock:
            self._drain_handler = handler
            pending, self._pending_drain = self._pending_drain, None
        if pending is not None:
            handler(pending)

    def request_drain(self, timeout: float) -> None:
        with self._lock:
            handler = self._drain_handler
            if handler is None:
                self._pending_drain = timeout
                return
        handler(timeout)

    @property
    def drain_pending(self) -> bool:
        with self._lock:
            return self._pending_drain is not None

    def handle_line(self, line: bytes) -> None:
        """Apply one message; malformed lines are reported and ignored."""
        try:
            message = wire.parse_message(line)
            if message is None:
                return
            if message["type"] == wire.LISTEN_SOCKET:
                self._shared.offer(wire.shared_socket_bytes(message))
                return
        except wire.BadMessage as exc:
            _log(str(exc))
            return
        kind = message["type"]
        if kind == wire.TOKEN:
            token = message.get("token")
            expires_at = message.get("expires_at")
            if token is not None and not isinstance(token, str):
                _log("ignored a token message whose token is not a string")
                return
            if expires_at is not None and not isinstance(expires_at, int | float):
                _log("ignored a token message whose expires_at is not a number")
                return
            self._state.set_token(token, None if expires_at is None else float(expires_at))
            # An acknowledgement without the secret: the agent (and tests) can wait for it.
            EVENTS.emit(wire.TOKEN_APPLIED, present=bool(token), expires_at=expires_at)
        elif kind == wire.POLICY:
            policy = message.get("policy")
            if policy is not None and not isinstance(policy, dict):
                _log("ignored a policy message whose policy is not an object")
                return
            self._state.set_policy(policy)
        elif kind == wire.USAGE:
            usage = message.get("usage")
            if usage is not None and not isinstance(usage, dict):
                _log("ignored a usage message whose usage is not an object")
                return
            self._state.set_usage(usage)
        elif kind == wire.AUDIT:
            blocked = message.get("blocked")
            if blocked is not None and not isinstance(blocked, str):
                _log("ignored an audit message whose blocked is not a string")
                return
            self._state.audit_blocked = blocked[:500] if blocked else None
        elif kind == wire.DRAIN:
            timeout = message.get("timeout", DEFAULT_DRAIN_TIMEOUT)
            if not isinstance(timeout, int | float) or timeout < 0:
                timeout = DEFAULT_DRAIN_TIMEOUT
            self.request_drain(float(timeout))

    def _run(self, source: BinaryIO) -> None:
        try:
            for line in source:
                self.handle_line(line)
        except (OSError, ValueError):
            pass
        self._on_eof()


def _exit_now() -> None:
    # The agent is gone: no drain, no cleanup that could hang; stderr is flushed first so the
    # reason reaches a log if anyone still reads it.
    try:
        sys.stderr.write("litellm-bridge-sidecar: stdin closed, the agent is gone; exiting\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(0)


CHANNEL = StdinChannel()
