"""The one enforcement point: every served request passes ``PolicyGate`` before it can go
upstream, whichever path (fast path or LiteLLM) then serves it.

Order: an audit log the policy requires but that cannot be written (503), model (403),
quota (429), concurrent requests, rate limits (429); nothing is counted
for a refused request. A request counts against the rate limits and the request quota when
it starts and with its tokens when it ends (usage from the upstream as the request metric
learns it, else an estimate of bytes / 4), so a stream counts once it starts and its tokens
once it is over.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from sidecar import allowlist, wire
from sidecar.metrics import RequestRecord
from sidecar.policy import refusal
from sidecar.policy.compiled import CompiledPolicy
from sidecar.policy.limits import recent_of
from sidecar.policy.models import ModelNames
from sidecar.policy.quota import QuotaCounter
from sidecar.policy.refusal import Refusal
from sidecar.policy.request import (
    PARSED_BODY,
    Receive,
    body_model,
    content_length,
    gemini_model,
    query_names_model,
    read_body,
    replay,
)
from sidecar.state import STATE, BridgeState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

# Routes whose requests name a model (checked against ``models``).
MODEL_ROUTES = frozenset(
    {
        "chat",
        "completions",
        "embeddings",
        "responses",
        "messages",
        "count_tokens",
        "gemini",
        "gemini_count_tokens",
    }
)
# Routes that cost upstream work (rate limits and quotas); counting tokens does not.
LIMITED_ROUTES = MODEL_ROUTES - {"count_tokens", "gemini_count_tokens"}
LISTING_ROUTES = frozenset({"models"})
# Bytes per token when the upstream reports no usage.
BYTES_PER_TOKEN = 4


def _log(message: str) -> None:
    print(f"litellm-bridge-sidecar: {message}", file=sys.stderr, flush=True)


def _config_names() -> ModelNames:
    """The model names of the effective config the sidecar serves."""
    path = os.environ.get(wire.CONFIG_ENV)
    if not path:
        return ModelNames()
    import yaml

    try:
        with open(path, encoding="utf-8") as stream:
            return ModelNames.from_config(yaml.safe_load(stream))
    except (OSError, yaml.YAMLError) as exc:
        _log(f"policy: cannot read the model names of the config ({exc})")
        return ModelNames()


@dataclass
class Admission:
    """A request the policy let through: what it counts against, until it ends."""

    gate: PolicyGate
    policy: CompiledPolicy
    receive: Receive
    limited: bool
    per_model: tuple[str, ...] = ()
    reserved: int = 0  # prompt tokens held in the tpm buckets until the usage is known
    _released: bool = field(default=False)

    def release(self) -> None:
        """The response is over (stream included): one concurrent request fewer."""
        if self.limited and not self._released:
            self._released = True
            self.gate.running -= 1

    def settled(self, record: RequestRecord) -> None:
        """Charge the request's tokens once they are known (the metric settled)."""
        self.gate.charge(self, tokens_of(record))


def tokens_of(record: RequestRecord) -> int:
    if record.tokens_in is not None or record.tokens_out is not None:
        return (record.tokens_in or 0) + (record.tokens_out or 0)
    if record.status is None or record.status >= 400:
        return 0
    return (record.bytes_in + record.bytes_out) // BYTES_PER_TOKEN


class PolicyGate:
    """Decides per request from ``STATE.policy`` and ``STATE.usage``; keeps the counters."""

    def __init__(
        self,
        state: BridgeState = STATE,
        names: Callable[[], ModelNames] = _config_names,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self._load_names = names
        self._names: ModelNames | None = None
        self._clock = clock
        self._wall = wall
        self._raw: Any = None
        self._compiled: CompiledPolicy | None = None
        self.running = 0
        self.quota = QuotaCounter()

    @property
    def names(self) -> ModelNames:
        if self._names is None:
            self._names = self._load_names()
        return self._names

    def current(self) -> CompiledPolicy | None:
        """The policy in force (compiled once per message), or None: nothing to enforce."""
        raw = self.state.policy
        if raw is None:
            return None
        if raw is not self._raw:
            recent = recent_of(self.state.usage, self._wall())
            compiled = CompiledPolicy(raw, self._clock(), self._compiled, recent)
            if compiled.invalid is not None:
                _log(f"policy message not understood ({compiled.invalid}); every model refused")
            self._raw, self._compiled = raw, compiled
        return self._compiled

    def model_allowed(self, policy: CompiledPolicy, name: str) -> bool:
        """The name the client asked for and the configured name it resolves to, both; a
        name that resolves to no configured model is refused (see ``ModelNames``)."""
        if not policy.models.allows(name):
            return False
        resolved = self.names.resolve(name)
        return resolved is not None and (resolved == name or policy.models.allows(resolved))

    async def admit(
        self,
        policy: CompiledPolicy,
        scope: Scope,
        receive: Receive,
        route: allowlist.ServedRoute,
        record: RequestRecord | None,
    ) -> Admission | Refusal | None:
        """Let the request through (``Admission``), refuse it, or None: the client left."""
        blocked = self.state.audit_blocked
        if blocked is not None and route.name in MODEL_ROUTES:
            return refusal.audit_unavailable(blocked)
        limited = policy.limited and route.name in LIMITED_ROUTES
        if not (policy.needs_model or limited) or route.name not in MODEL_ROUTES:
            return Admission(self, policy, receive, False)
        name: str | None = None
        if record is not None:
            record.bytes_in = content_length(scope.get("headers", ()))
        gemini = route.name.startswith("gemini")
        if not gemini and query_names_model(scope):
            # LiteLLM takes ``?model=`` over the body's model (Azure style).
            return refusal.model_uncheckable("a model in the query string is not accepted")
        if gemini:
            name = gemini_model(str(scope.get("path", "")))
        elif policy.needs_model:
            raw = await read_body(receive)
            if raw is None:
                return None
            receive = replay(raw, receive)
            if record is not None:
                record.bytes_in = len(raw)
            name, scope[PARSED_BODY] = body_model(raw)
        if policy.needs_model and not gemini:
            if name is None:
                return refusal.model_uncheckable('no "model" could be read from the body')
            if "," in name:  # LiteLLM runs a comma-separated list as a batch over each model
                return refusal.model_uncheckable("several models in one request")
        resolved = self.names.resolve(name) if name is not None else None
        if record is not None and name is not None:
            record.model = resolved or name
        if policy.models.restricts and not self.model_allowed(policy, name or ""):
            allows_none = policy.models.allow == ()
            return refusal.model_denied(
                name or "", allows_none, policy.invalid is not None, unknown=resolved is None
            )
        if not limited:
            return Admission(self, policy, receive, False)
        per_model = tuple(
            dict.fromkeys(key for key in (name, resolved) if key in policy.limits.per_model)
        )
        estimate = (record.bytes_in if record is not None else 0) // BYTES_PER_TOKEN
        reserve = policy.limits.reserve(per_model, estimate)
        refused = self._limit_refusal(policy, per_model, reserve)
        if refused is not None:
            return refused
        now = self._clock()
        policy.limits.admit(per_model, now, reserve)
        self.quota.count_request(policy.quota, self.state.usage, self._wall())
        self.running += 1
        admission = Admission(self, policy, receive, True, per_model, reserve)
        if record is not None:
            record.on_settled = admission.settled
        return admission

    def _limit_refusal(
        self, policy: CompiledPolicy, per_model: tuple[str, ...], reserve: int
    ) -> Refusal | None:
        if policy.quota.active:
            refused = self.quota.check(policy.quota, self.state.usage, self._wall())
            if refused is not None:
                return refused
        if policy.max_parallel is not None and self.running >= policy.max_parallel:
            return Refusal(
                429,
                refusal.MAX_PARALLEL,
                f"too many concurrent requests: at most {policy.max_parallel} at a time "
                f"(max_parallel in {refusal.POLICY_NAME}); retry when one has finished",
                1.0,
            )
        return policy.limits.check(per_model, self._clock(), reserve)

    def charge(self, admission: Admission, tokens: int) -> None:
        tokens = max(0, tokens)
        # Charged to the limits of the policy now in force when they are the same buckets.
        policy = self.current() or admission.policy
        per_model = [name for name in admission.per_model if name in policy.limits.per_model]
        policy.limits.charge(per_model, tokens, self._clock(), admission.reserved)
        if tokens:
            self.quota.count_tokens(policy.quota, self.state.usage, tokens, self._wall())

    def listing_filter(self, policy: CompiledPolicy, send: Send) -> Send:
        """A ``send`` for ``/v1/models`` that leaves out the models the policy does not allow."""
        if not policy.models.restricts:
            return send
        from sidecar.policy.listing import filtered_listing

        return filtered_listing(send, lambda name: self.model_allowed(policy, name))
