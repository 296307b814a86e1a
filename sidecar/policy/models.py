"""Which model names a policy allows, and which configured ``model_name`` a name resolves to.

The globs mean what ``tray_agent.policy.schema.Models.allows`` means (``fnmatchcase``: case
sensitive, ``deny`` wins, ``allow`` unset allows all); the sidecar cannot import the agent,
so the rule is written again here and tests/sidecar/test_policy_models.py checks that both
answer alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fnmatch import translate
from typing import Any

# Decisions and resolutions are cached per name; a client inventing names cannot grow this
# without bound.
_CACHE_MAX = 4096


def _globs(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One compiled regex matching any of the globs (None for no glob: matches nothing)."""
    parts = [translate(pattern) for pattern in patterns]
    if not parts:
        return None
    return re.compile("|".join(f"(?:{part})" for part in parts))


class ModelRules:
    """``models.allow`` / ``models.deny`` of the enforced policy."""

    def __init__(self, allow: Iterable[str] | None, deny: Iterable[str]) -> None:
        self.allow = None if allow is None else tuple(allow)
        self.deny = tuple(deny)
        self._allow = None if self.allow is None else _globs(self.allow)
        self._deny = _globs(self.deny)
        self._decided: dict[str, bool] = {}

    @property
    def restricts(self) -> bool:
        """False when every name is allowed (no allow list, no deny list)."""
        return self.allow is not None or bool(self.deny)

    def allows(self, name: str) -> bool:
        decided = self._decided.get(name)
        if decided is None:
            decided = self._decide(name)
            if len(self._decided) >= _CACHE_MAX:
                self._decided.clear()
            self._decided[name] = decided
        return decided

    def _decide(self, name: str) -> bool:
        if self._deny is not None and self._deny.match(name):
            return False
        if self.allow is None:
            return True
        return self._allow is not None and self._allow.match(name) is not None


class ModelNames:
    """The configured model names of the effective config, for resolving a client's name.

    A name resolves to itself when a deployment has that ``model_name``, else through the
    router's ``model_group_alias`` or ``litellm_settings.model_alias_map``, else to the
    ``model_name`` of the deployment whose ``litellm_params.model`` or ``model_info.id`` it
    is (LiteLLM's router serves a request naming a deployment directly), else to the first
    wildcard ``model_name`` (``corp/*``) it matches. Unknown names resolve to None; a policy
    with model rules refuses them (``PolicyGate.model_allowed``): LiteLLM knows ways to name
    a deployment (a generated id) this list cannot, and a name the policy cannot place is
    not let through.
    """

    def __init__(
        self,
        names: Iterable[str] = (),
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.names = frozenset(name for name in names if "*" not in name)
        self.aliases = dict(aliases or {})
        self._wildcards = [
            (name, re.compile(re.escape(name).replace(r"\*", ".*")))
            for name in names
            if "*" in name
        ]
        self._resolved: dict[str, str | None] = {}

    @classmethod
    def from_config(cls, config: Any) -> ModelNames:
        if not isinstance(config, Mapping):
            return cls()
        names: list[str] = []
        aliases: dict[str, str] = {}
        deployments: dict[str, str] = {}
        for entry in config.get("model_list") or ():
            if isinstance(entry, Mapping) and isinstance(entry.get("model_name"), str):
                name = entry["model_name"]
                names.append(name)
                params, info = entry.get("litellm_params"), entry.get("model_info")
                for holder, key in ((params, "model"), (info, "id")):
                    value = holder.get(key) if isinstance(holder, Mapping) else None
                    if isinstance(value, str):
                        deployments.setdefault(value, name)
        settings = config.get("litellm_settings")
        alias_map = settings.get("model_alias_map") if isinstance(settings, Mapping) else None
        if isinstance(alias_map, Mapping):
            for alias, target in alias_map.items():
                if isinstance(alias, str) and isinstance(target, str):
                    aliases[alias] = target
        router = config.get("router_settings")
        raw = router.get("model_group_alias") if isinstance(router, Mapping) else None
        if isinstance(raw, Mapping):
            for alias, target in raw.items():
                if isinstance(target, Mapping):
                    target = target.get("model")
                if isinstance(alias, str) and isinstance(target, str):
                    aliases[alias] = target
        for deployment, name in deployments.items():
            aliases.setdefault(deployment, name)
        return cls(names, aliases)

    def resolve(self, name: str) -> str | None:
        if name in self.names:
            return name
        if name in self._resolved:
            return self._resolved[name]
        resolved = self._resolve(name)
        if len(self._resolved) >= _CACHE_MAX:
            self._resolved.clear()
        self._resolved[name] = resolved
        return resolved

    def _resolve(self, name: str) -> str | None:
        target = self.aliases.get(name)
        if target is not None:
            return target
        for pattern_name, pattern in self._wildcards:
            if pattern.fullmatch(name):
                return pattern_name
        return None
