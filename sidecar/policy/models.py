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
    router's ``model_group_alias``, else to the first wildcard ``model_name`` (``corp/*``)
    it matches, as LiteLLM's router routes it. Unknown names resolve to None (LiteLLM will
    answer them 400 without calling anything).
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
        for entry in config.get("model_list") or ():
            if isinstance(entry, Mapping) and isinstance(entry.get("model_name"), str):
                names.append(entry["model_name"])
        aliases: dict[str, str] = {}
        router = config.get("router_settings")
        raw = router.get("model_group_alias") if isinstance(router, Mapping) else None
        if isinstance(raw, Mapping):
            for alias, target in raw.items():
                if isinstance(target, Mapping):
                    target = target.get("model")
                if isinstance(alias, str) and isinstance(target, str):
                    aliases[alias] = target
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
