"""Token buckets for requests and tokens per minute.

A bucket holds up to one minute's allowance and refills continuously (``limit / 60`` per
second), so a burst of a full minute's worth is allowed after a quiet minute and the steady
rate never exceeds the limit. A request needs one whole request token; of tokens it holds
its prompt estimate while it runs and is charged the rest when it ends (its usage is only
known then), so the tokens bucket may go into debt by what the answers took.
"""

from __future__ import annotations

import math


class TokenBucket:
    """One limit: ``limit`` per minute."""

    __slots__ = ("capacity", "level", "rate", "stamp")

    def __init__(self, limit: int, now: float) -> None:
        self.capacity = float(limit)
        self.rate = limit / 60.0
        self.level = float(limit)
        self.stamp = now

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait(self, needed: float, now: float) -> float:
        """Seconds until ``needed`` is available (0: now); a zero limit waits a minute."""
        self.refill(now)
        missing = needed - self.level
        if missing <= 0:
            return 0.0
        if self.rate <= 0:
            return 60.0
        return missing / self.rate

    def take(self, amount: float, now: float) -> None:
        self.refill(now)
        self.level -= amount

    def remaining(self) -> int:
        return max(0, math.floor(self.level))

    def reset_seconds(self, now: float) -> float:
        """Seconds until the bucket is full again (OpenAI's ``x-ratelimit-reset-*``)."""
        self.refill(now)
        if self.rate <= 0:
            return 60.0
        return max(0.0, (self.capacity - self.level) / self.rate)


def reset_text(seconds: float) -> str:
    """A duration the way OpenAI's ``x-ratelimit-reset-*`` headers write it: 20ms, 1.5s, 6m0s."""
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{round(rest):d}s"
