"""Rate limits of the policy: requests and tokens per minute, in total and per model.

A bucket this sidecar creates (at its start, or for a changed limit) is not simply full: the
agent's record of the last minute over every sidecar (``usage.recent``, see
``tray_agent.policy.recent``) is replayed into it, so a config swap or a restart does not
hand out a fresh minute. A request reserves its estimated prompt tokens when it starts and
settles the difference when its usage is known, so parallel large requests cannot all start
on the last token left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sidecar.policy import refusal
from sidecar.policy.buckets import TokenBucket, reset_text
from sidecar.policy.refusal import Refusal

# A bucket is found again by (scope, unit, limit): a policy message that keeps a limit keeps
# its bucket (re-sending the same policy never refills it); a changed limit starts full.
BucketKey = tuple[str, str, int]
TOTAL = ""


@dataclass(frozen=True)
class PerMinute:
    rpm: int | None = None
    tpm: int | None = None


@dataclass(frozen=True)
class Recent:
    """One second of the agent's last-minute record: ``age`` seconds ago, one model."""

    age: float
    model: str
    requests: int
    tokens: int


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return 0
    return max(0, min(int(value), 10**15))


def recent_of(usage: Any, wall_now: float) -> list[Recent]:
    """``usage.recent`` of the agent's usage message, oldest first (malformed entries left out)."""
    raw = usage.get("recent") if isinstance(usage, Mapping) else None
    out: list[Recent] = []
    for item in raw[:1200] if isinstance(raw, list) else ():
        if isinstance(item, list) and len(item) == 4 and isinstance(item[1], str):
            second = item[0]
            if isinstance(second, int | float) and not isinstance(second, bool):
                age = wall_now - float(second)
                if 0 <= age <= 61:
                    out.append(Recent(age, item[1], _whole(item[2]), _whole(item[3])))
    out.sort(key=lambda r: -r.age)
    return out


def _replayed(
    limit: int, unit: str, scope: str, recent: Sequence[Recent], now: float
) -> TokenBucket:
    """A bucket as if it had seen the last minute's use (a full one without any)."""
    bucket = TokenBucket(limit, now - 60.0)
    for entry in recent:
        if scope and entry.model != scope:
            continue
        amount = entry.requests if unit == "requests" else entry.tokens
        if amount:
            bucket.take(float(amount), max(bucket.stamp, now - entry.age))
    bucket.refill(now)
    return bucket


class RateLimiter:
    """The buckets of one policy; built from the previous policy's to keep their levels."""

    def __init__(
        self,
        total: PerMinute,
        per_model: Mapping[str, PerMinute],
        now: float,
        previous: RateLimiter | None = None,
        recent: Sequence[Recent] = (),
    ) -> None:
        self.total = total
        self.per_model = dict(per_model)
        old = previous._buckets if previous is not None else {}
        self._buckets: dict[BucketKey, TokenBucket] = {}
        for scope, limits in [(TOTAL, total), *self.per_model.items()]:
            for unit, limit in (("requests", limits.rpm), ("tokens", limits.tpm)):
                if limit is not None:
                    key = (scope, unit, limit)
                    self._buckets[key] = old.get(key) or _replayed(limit, unit, scope, recent, now)

    @property
    def active(self) -> bool:
        return bool(self._buckets)

    def _bucket(self, scope: str, unit: str, limit: int | None) -> TokenBucket | None:
        return None if limit is None else self._buckets.get((scope, unit, limit))

    def _scopes(self, models: Sequence[str]) -> list[tuple[str, PerMinute]]:
        return [(TOTAL, self.total), *((name, self.per_model[name]) for name in models)]

    def reserve(self, models: Sequence[str], estimate: int) -> int:
        """Tokens a request of ``estimate`` prompt tokens holds while it runs: at least one,
        at most the smallest limit it counts against (else it could never start)."""
        caps = [lim.tpm for _, lim in self._scopes(models) if lim.tpm is not None]
        return max(1, min([estimate, *caps])) if caps else 0

    def check(self, models: Sequence[str], now: float, reserve: int = 1) -> Refusal | None:
        """The refusal for a new request, or None; ``models``: its keys in ``per_model``."""
        for scope, limits in self._scopes(models):
            requests = self._bucket(scope, "requests", limits.rpm)
            if requests is not None:
                wait = requests.wait(1.0, now)
                if wait > 0:
                    return self._refusal(scope, limits, "requests", wait, now)
            tokens = self._bucket(scope, "tokens", limits.tpm)
            if tokens is not None:
                wait = tokens.wait(float(max(1, reserve)), now)
                if wait > 0:
                    return self._refusal(scope, limits, "tokens", wait, now)
        return None

    def admit(self, models: Sequence[str], now: float, reserve: int = 0) -> None:
        for scope, limits in self._scopes(models):
            bucket = self._bucket(scope, "requests", limits.rpm)
            if bucket is not None:
                bucket.take(1.0, now)
            tokens = self._bucket(scope, "tokens", limits.tpm)
            if tokens is not None and reserve:
                tokens.take(float(reserve), now)

    def charge(self, models: Sequence[str], tokens: int, now: float, reserved: int = 0) -> None:
        """The request's real token count, less what it reserved when it started."""
        if tokens == reserved:
            return
        for scope, limits in self._scopes(models):
            bucket = self._bucket(scope, "tokens", limits.tpm)
            if bucket is not None:
                bucket.take(float(tokens - reserved), now)
                bucket.level = min(bucket.level, bucket.capacity)

    def _refusal(
        self, scope: str, limits: PerMinute, unit: str, wait: float, now: float
    ) -> Refusal:
        limit = limits.rpm if unit == "requests" else limits.tpm
        where = f" for model {scope!r}" if scope else ""
        if scope:
            reason = refusal.MODEL_RPM if unit == "requests" else refusal.MODEL_TPM
        else:
            reason = refusal.RPM if unit == "requests" else refusal.TPM
        message = (
            f"rate limit reached: {limit} {unit} per minute{where} ({reason} in "
            f"{refusal.POLICY_NAME}); retry in {max(1, round(wait))} s"
        )
        return Refusal(429, reason, message, wait, self._headers(scope, limits, now))

    def _headers(
        self, scope: str, limits: PerMinute, now: float
    ) -> tuple[tuple[bytes, bytes], ...]:
        """OpenAI's rate-limit headers for the scope that refused."""
        headers: list[tuple[bytes, bytes]] = []
        for unit, limit in (("requests", limits.rpm), ("tokens", limits.tpm)):
            bucket = self._bucket(scope, unit, limit)
            if bucket is None:
                continue
            headers += [
                (f"x-ratelimit-limit-{unit}".encode(), str(limit).encode()),
                (f"x-ratelimit-remaining-{unit}".encode(), str(bucket.remaining()).encode()),
                (
                    f"x-ratelimit-reset-{unit}".encode(),
                    reset_text(bucket.reset_seconds(now)).encode(),
                ),
            ]
        return tuple(headers)
