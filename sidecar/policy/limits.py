"""Rate limits of the policy: requests and tokens per minute, in total and per model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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


class RateLimiter:
    """The buckets of one policy; built from the previous policy's to keep their levels."""

    def __init__(
        self,
        total: PerMinute,
        per_model: Mapping[str, PerMinute],
        now: float,
        previous: RateLimiter | None = None,
    ) -> None:
        self.total = total
        self.per_model = dict(per_model)
        old = previous._buckets if previous is not None else {}
        self._buckets: dict[BucketKey, TokenBucket] = {}
        for scope, limits in [(TOTAL, total), *self.per_model.items()]:
            for unit, limit in (("requests", limits.rpm), ("tokens", limits.tpm)):
                if limit is not None:
                    key = (scope, unit, limit)
                    self._buckets[key] = old.get(key) or TokenBucket(limit, now)

    @property
    def active(self) -> bool:
        return bool(self._buckets)

    def _bucket(self, scope: str, unit: str, limit: int | None) -> TokenBucket | None:
        return None if limit is None else self._buckets.get((scope, unit, limit))

    def _scopes(self, models: Sequence[str]) -> list[tuple[str, PerMinute]]:
        return [(TOTAL, self.total), *((name, self.per_model[name]) for name in models)]

    def check(self, models: Sequence[str], now: float) -> Refusal | None:
        """The refusal for a new request, or None; ``models``: its keys in ``per_model``."""
        for scope, limits in self._scopes(models):
            requests = self._bucket(scope, "requests", limits.rpm)
            if requests is not None:
                wait = requests.wait(1.0, now)
                if wait > 0:
                    return self._refusal(scope, limits, "requests", wait, now)
            tokens = self._bucket(scope, "tokens", limits.tpm)
            if tokens is not None:
                # Tokens are charged afterwards: a request may start while one is left.
                wait = tokens.wait(1.0, now)
                if wait > 0:
                    return self._refusal(scope, limits, "tokens", wait, now)
        return None

    def admit(self, models: Sequence[str], now: float) -> None:
        for scope, limits in self._scopes(models):
            bucket = self._bucket(scope, "requests", limits.rpm)
            if bucket is not None:
                bucket.take(1.0, now)

    def charge(self, models: Sequence[str], tokens: int, now: float) -> None:
        if tokens <= 0:
            return
        for scope, limits in self._scopes(models):
            bucket = self._bucket(scope, "tokens", limits.tpm)
            if bucket is not None:
                bucket.take(float(tokens), now)

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
