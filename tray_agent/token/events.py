"""What the token package tells the agent core: a new token, a new token status.

Defined here, next to what posts them, so the token package does not depend on the core; the
core's event union (:mod:`tray_agent.core.events`) includes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class TokenChanged:
    """The token the sidecar should inject from now on (None: signed out or expired)."""

    token: str | None
    expires_at: float | None


@dataclass
class TokenStateChanged:
    """The token status for status and the tray (``TokenStatus.to_dict()``, no secret)."""

    status: Any
