"""The last minute of requests and tokens, per second and model, over every sidecar.

Rate buckets live in each sidecar, so a new one (a config swap, a sidecar or agent restart)
would start with full buckets: a user could reset their rate limits by touching config.yaml.
The agent keeps this window from the same ``request`` events that feed the quotas, saves it
with them and sends it in the usage message (``usage.recent``); a sidecar replays it into
every bucket it creates (``sidecar.policy.limits``).

Wire format: ``[[epoch_second, model, requests, tokens], ...]``, oldest first; a request
counts in the second it started (the event's latency back from its arrival), its tokens in
the second it ended.
"""

from __future__ import annotations

import math
from typing import Any

WINDOW_SECONDS = 60
MAX_ENTRIES = 600  # ten models a second for a minute; older seconds go first
# Routes that are no generation request (listing models, counting tokens).
NOT_GENERATING = ("/models", "/count_tokens", ":countTokens")

Key = tuple[int, str]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return 0.0
    return max(0.0, float(value))


class RecentWindow:
    """Counts of the last ``WINDOW_SECONDS``; every call gets ``now`` (epoch seconds)."""

    def __init__(self) -> None:
        self._counts: dict[Key, list[int]] = {}

    def add(self, payload: dict[str, Any], now: float) -> bool:
        """Count one sidecar ``request`` event; True when anything was added."""
        if payload.get("refused") or str(payload.get("route") or "").endswith(NOT_GENERATING):
            return False  # refused before the buckets took anything; no upstream work
        model = str(payload.get("model") or "")[:200]
        latency = min(_number(payload.get("latency_ms")) / 1000.0, WINDOW_SECONDS)
        tokens = int(_number(payload.get("tokens_in")) + _number(payload.get("tokens_out")))
        self._bump((math.floor(now - latency), model), 0)
        if tokens:
            self._bump((math.floor(now), model), 1, tokens)
        self.prune(now)
        return True

    def _bump(self, key: Key, slot: int, amount: int = 1) -> None:
        counts = self._counts.setdefault(key, [0, 0])
        counts[slot] = min(counts[slot] + amount, 10**15)

    def prune(self, now: float) -> None:
        oldest = math.floor(now) - WINDOW_SECONDS
        for key in [k for k in self._counts if k[0] < oldest]:
            del self._counts[key]
        while len(self._counts) > MAX_ENTRIES:
            del self._counts[min(self._counts)]

    def to_json(self, now: float | None = None) -> list[list[Any]]:
        """The wire and file form (``now``: drop what has left the window first)."""
        if now is not None:
            self.prune(now)
        return [[t, m, c[0], c[1]] for (t, m), c in sorted(self._counts.items())]

    @classmethod
    def from_json(cls, data: Any) -> RecentWindow:
        """Entry by entry: a malformed one is dropped (old ones go at the next ``prune``)."""
        window = cls()
        if isinstance(data, list):
            for item in data[: MAX_ENTRIES * 2]:
                if not (isinstance(item, list) and len(item) == 4 and isinstance(item[1], str)):
                    continue
                second, requests, tokens = (_number(item[i]) for i in (0, 2, 3))
                if second:
                    window._counts[(int(second), item[1][:200])] = [int(requests), int(tokens)]
        while len(window._counts) > MAX_ENTRIES:
            del window._counts[min(window._counts)]
        return window
