"""In-memory state shared by the stdin channel (writer) and the bridge hook (reader).

The token lives only here: it arrives on stdin and is never written anywhere else.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

# A token this close to its expiry is treated as expired: the request would reach the
# internal API after it lapsed. Short-lived tokens get a proportional margin instead, so the
# margin never eats most of a lifetime (the agent refreshes at about 2/3 of it).
EXPIRY_MARGIN_SECONDS = 5.0
EXPIRY_MARGIN_SHARE = 0.1


@dataclass(frozen=True)
class TokenState:
    token: str | None = None
    expires_at: float | None = None
    received_at: float = 0.0

    def usable(self, now: float) -> str | None:
        """The token if it is known and not about to expire, else None."""
        if not self.token:
            return None
        if self.expires_at is not None:
            lifetime = max(0.0, self.expires_at - self.received_at)
            margin = min(EXPIRY_MARGIN_SECONDS, lifetime * EXPIRY_MARGIN_SHARE)
            if self.expires_at - margin <= now:
                return None
        return self.token


class BridgeState:
    """The current token, the policy and usage, and whether the process is still warming up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token = TokenState()
        self.warming = False
        # The organization policy's enforced part and the agent's usage count, as the agent
        # last sent them (plain dicts, replaced whole; None until the first message).
        self.policy: dict[str, Any] | None = None
        self.usage: dict[str, Any] | None = None
        # Why the audit log the policy requires cannot be written (None: it can, or not
        # required): every model request is refused with 503 meanwhile.
        self.audit_blocked: str | None = None
        self.usage_received_at = 0.0

    def set_policy(self, policy: dict[str, Any] | None) -> None:
        self.policy = policy

    def set_usage(self, usage: dict[str, Any] | None) -> None:
        with self._lock:
            self.usage = usage
            self.usage_received_at = time.time()

    def set_token(self, token: str | None, expires_at: float | None) -> None:
        with self._lock:
            self._token = TokenState(token or None, expires_at, time.time())

    def token(self) -> TokenState:
        with self._lock:
            return self._token

    def usable_token(self, now: float | None = None) -> str | None:
        return self.token().usable(time.time() if now is None else now)


STATE = BridgeState()
