"""The enforced policy JSON (``STATE.policy``) turned into checks, once per policy message.

The agent validated the policy; this parse is still strict the other way round: anything
malformed makes every model refused ("organization policy invalid"), never unlimited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sidecar.policy.limits import PerMinute, RateLimiter, Recent
from sidecar.policy.models import ModelRules
from sidecar.policy.quota import QuotaRules


class PolicyInvalid(ValueError):
    """The policy message does not have the enforced shape."""


def _section(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PolicyInvalid(f"{key} is not an object")
    return value


def _count(section: Mapping[str, Any], key: str) -> int | None:
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyInvalid(f"{key} is not a non-negative integer")
    return value


def _names(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PolicyInvalid(f"models.{key} is not a list of names")
    return value


def _per_minute(section: Mapping[str, Any]) -> PerMinute:
    return PerMinute(rpm=_count(section, "rpm"), tpm=_count(section, "tpm"))


class CompiledPolicy:
    """Models, limits and quota of one policy message."""

    def __init__(
        self,
        raw: Any,
        now: float,
        previous: CompiledPolicy | None = None,
        recent: Sequence[Recent] = (),
    ) -> None:
        self.invalid: str | None = None
        try:
            self._parse(raw, now, previous, recent)
        except PolicyInvalid as exc:
            self.invalid = str(exc)
            self.models = ModelRules([], [])
            self.limits = RateLimiter(PerMinute(), {}, now)
            self.max_parallel: int | None = None
            self.quota = QuotaRules()
        self.needs_model = self.models.restricts or bool(self.limits.per_model)
        self.limited = self.limits.active or self.max_parallel is not None or self.quota.active

    def _parse(
        self, raw: Any, now: float, previous: CompiledPolicy | None, recent: Sequence[Recent]
    ) -> None:
        if not isinstance(raw, Mapping):
            raise PolicyInvalid("the policy is not an object")
        models = _section(raw, "models")
        allow = models.get("allow")
        self.models = ModelRules(
            None if allow is None else _names(allow, "allow"),
            _names(models.get("deny", []), "deny"),
        )
        limits = _section(raw, "limits")
        per_model = _section(limits, "per_model")
        for name, section in per_model.items():
            if not isinstance(section, Mapping):
                raise PolicyInvalid(f"limits.per_model.{name} is not an object")
        self.limits = RateLimiter(
            _per_minute(limits),
            {str(name): _per_minute(section) for name, section in per_model.items()},
            now,
            previous.limits if previous is not None else None,
            recent,
        )
        self.max_parallel = _count(limits, "max_parallel")
        quota = _section(raw, "quota")
        timezone = quota.get("timezone", "UTC")
        self.quota = QuotaRules(
            requests_per_day=_count(quota, "requests_per_day"),
            tokens_per_day=_count(quota, "tokens_per_day"),
            tokens_per_month=_count(quota, "tokens_per_month"),
            timezone=timezone if isinstance(timezone, str) else "UTC",
        )
