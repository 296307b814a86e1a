"""What an organization's policy may say: allowed models, limits, quotas, locks, update, audit.

Every key is optional and closed (an unknown key is an error, so a typo never silently
unlocks anything); numbers are strict (``"120"`` is not 120) and never negative. The sidecar
gets the enforceable part as JSON (``Policy.enforced()``); the agent keeps the rest.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from tray_agent.envstore.names import name_problem
from tray_agent.envstore.values import value_problem

# Cap every limit well below anything that could overflow a counter or a header.
LIMIT_MAX = 10**12

Count = StrictInt


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Models(_Closed):
    """Globs (``fnmatch``, case-sensitive) on the model a client asks for and on the configured
    ``model_name``. With ``allow`` set, only matching models are served; ``deny`` always wins."""

    allow: list[StrictStr] | None = None
    deny: list[StrictStr] = Field(default_factory=list)

    def allows(self, name: str) -> bool:
        if any(fnmatchcase(name, pattern) for pattern in self.deny):
            return False
        return self.allow is None or any(fnmatchcase(name, pattern) for pattern in self.allow)


class RateLimits(_Closed):
    rpm: Count | None = Field(default=None, ge=0, le=LIMIT_MAX)
    tpm: Count | None = Field(default=None, ge=0, le=LIMIT_MAX)


class Limits(RateLimits):
    """Token buckets per minute (requests, tokens), total and per model; concurrent requests."""

    max_parallel: Count | None = Field(default=None, ge=1, le=100_000)
    per_model: dict[StrictStr, RateLimits] = Field(default_factory=dict)


class Quota(_Closed):
    """Per employee ID on this machine; days and months are those of ``timezone``."""

    requests_per_day: Count | None = Field(default=None, ge=0, le=LIMIT_MAX)
    tokens_per_day: Count | None = Field(default=None, ge=0, le=LIMIT_MAX)
    tokens_per_month: Count | None = Field(default=None, ge=0, le=LIMIT_MAX)
    timezone: StrictStr = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as UTC)") from exc
        return value


class Lock(_Closed):
    """What end users may not change. ``env``: names, or ``true`` for every entry."""

    config: StrictBool = False
    env: StrictBool | list[StrictStr] = False
    clients: StrictBool = False
    iam: StrictBool = False
    fast_path: StrictBool = False
    autostart: StrictBool = False

    def env_locked(self, name: str) -> bool:
        return self.env is True or (isinstance(self.env, list) and name in self.env)

    @property
    def any(self) -> bool:
        return bool(
            self.config or self.env or self.clients or self.iam or self.fast_path or self.autostart
        )


class Update(_Closed):
    """Per-user signed updates (docs/UPDATES.md). ``version`` pins one release: the only
    way an older version than the installed one is installed."""

    url: StrictStr | None = None
    mode: Literal["default", "manual", "off"] = "default"
    version: StrictStr | None = Field(default=None, pattern=r"^\d{1,6}(\.\d{1,6}){0,3}$")


class Audit(_Closed):
    required: StrictBool = False
    retention_days: Count = Field(default=90, ge=1, le=36_500)
    max_size_mb: Count = Field(default=1024, ge=1, le=1_000_000)  # whole old files go first
    hash_identifiers: StrictBool = False


class Policy(_Closed):
    """The effective policy: machine files merged (later wins per key), then validated."""

    models: Models = Models()  # frozen: one shared default is safe
    limits: Limits = Limits()  # frozen: one shared default is safe
    quota: Quota = Quota()  # frozen: one shared default is safe
    lock: Lock = Lock()  # frozen: one shared default is safe
    managed_config: StrictStr | None = None
    # Env entry values the organization sets (readable by every local user: never a secret).
    # They replace the user's entry of that name, which is locked; a hand edit of env.json
    # cannot change them.
    env: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    update: Update = Update()  # frozen: one shared default is safe
    audit: Audit = Audit()  # frozen: one shared default is safe

    @field_validator("env")
    @classmethod
    def _usable_env(cls, values: dict[str, str]) -> dict[str, str]:
        for name, value in values.items():
            problem = name_problem(name) or value_problem(name, value)
            if problem:
                raise ValueError(f"env {name}: {problem}")
        return values

    @model_validator(mode="after")
    def _config_lock_has_a_copy(self) -> Policy:
        # Without the admin's copy there is nothing to hold config.yaml to: a hand edit
        # would be applied, so the lock would only look like one.
        if self.lock.config and not self.managed_config:
            raise ValueError(
                "lock.config needs managed_config: name the config.yaml shipped beside the "
                "policy that the lock holds the user's config.yaml to"
            )
        return self

    def env_lock(self) -> bool | list[str]:
        """``lock.env`` with the names the policy sets a value for (those are locked too)."""
        if self.lock.env is True:
            return True
        names = [*(self.lock.env or []), *(n for n in self.env if n not in (self.lock.env or []))]
        return names or False

    def enforced(self) -> dict[str, Any]:
        """What the sidecar enforces per request (JSON): models, limits, quota."""
        return self.model_dump(mode="json", include={"models", "limits", "quota"})

    @property
    def empty(self) -> bool:
        return self == Policy()


# The policy in force when policy files exist but none was ever valid: nothing is served
# and everything lockable stays locked ("organization policy invalid").
# Built without validation: it locks config.yaml although no managed copy exists.
LOCKED_DOWN = Policy.model_construct(
    models=Models(allow=[]),
    lock=Lock(config=True, env=True, clients=True, iam=True, fast_path=True, autostart=True),
)
