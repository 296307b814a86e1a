"""When to refresh: after ~2/3 of the remaining lifetime, and how long to back off on failure.

Pure functions of (now, expiry, random source): the manager and its tests feed them a fake
clock. Jitter spreads the refreshes of many machines that signed in at the same moment.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RefreshPolicy:
    fraction: float = 2 / 3
    """Refresh once this share of the remaining lifetime has passed..."""
    jitter: float = 0.1
    """...minus up to this share of that delay, chosen at random (never later)."""
    safety_margin: float = 30.0
    """Never refresh later than this many seconds before expiry..."""
    safety_share: float = 0.25
    """...or than this share of the remaining lifetime, for short-lived tokens."""
    backoff_initial: float = 1.0
    backoff_factor: float = 2.0
    backoff_max: float = 60.0
    max_retry_after: float = 600.0


DEFAULT_POLICY = RefreshPolicy()


def refresh_at(
    now: float, expires_at: float, rng: random.Random, policy: RefreshPolicy = DEFAULT_POLICY
) -> float:
    """The time to refresh a token expiring at ``expires_at``; ``now`` when already due."""
    remaining = expires_at - now
    if remaining <= 0:
        return now
    delay = remaining * policy.fraction * (1.0 - rng.uniform(0.0, policy.jitter))
    margin = min(policy.safety_margin, remaining * policy.safety_share)
    return now + max(0.0, min(delay, remaining - margin))


def refresh_window(
    now: float, expires_at: float, policy: RefreshPolicy = DEFAULT_POLICY
) -> tuple[float, float]:
    """The bounds :func:`refresh_at` stays within (for callers and tests)."""
    remaining = max(0.0, expires_at - now)
    margin = min(policy.safety_margin, remaining * policy.safety_share)
    latest = now + max(0.0, min(remaining * policy.fraction, remaining - margin))
    earliest = now + max(
        0.0, min(remaining * policy.fraction * (1 - policy.jitter), remaining - margin)
    )
    return earliest, latest


def backoff_delay(
    attempt: int,
    rng: random.Random,
    retry_after: float | None = None,
    policy: RefreshPolicy = DEFAULT_POLICY,
) -> float:
    """Delay before retry number ``attempt`` (1 = first retry) after a transient failure.

    Capped exponential with "equal jitter" (half fixed, half random), so retries never
    collapse to zero and never exceed the cap; a server's Retry-After wins when longer.
    """
    exp = policy.backoff_initial * policy.backoff_factor ** max(0, attempt - 1)
    capped = min(policy.backoff_max, exp)
    delay = capped / 2 + rng.uniform(0.0, capped / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_retry_after))
    return delay
