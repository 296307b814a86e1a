"""Restart policy: capped exponential backoff, and a crash-loop breaker."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class CrashPolicy:
    """``record(now)`` returns the delay before the next restart, or None to give up.

    Giving up happens at ``max_crashes`` crashes within ``window`` seconds; a crash outside
    the window starts counting again from the first delay.
    """

    max_crashes: int = 5
    window: float = 120.0
    base_delay: float = 1.0
    max_delay: float = 30.0
    _crashes: deque[float] = field(default_factory=deque)

    def record(self, now: float) -> float | None:
        self._crashes.append(now)
        while self._crashes and now - self._crashes[0] > self.window:
            self._crashes.popleft()
        n = len(self._crashes)
        if n >= self.max_crashes:
            return None
        return min(self.base_delay * (2 ** (n - 1)), self.max_delay)

    def reset(self) -> None:
        self._crashes.clear()

    @property
    def recent(self) -> int:
        return len(self._crashes)
