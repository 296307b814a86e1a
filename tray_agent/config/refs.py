"""``os.environ/NAME`` references: LiteLLM's way of keeping secrets out of config files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tray_agent.envref import ref_name, resolve_ref

__all__ = ["EnvRef", "env_names", "iter_env_refs", "ref_name", "resolve_ref"]

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class EnvRef:
    path: Path_
    name: str

    @property
    def valid(self) -> bool:
        return NAME_RE.fullmatch(self.name) is not None


def iter_env_refs(data: Any) -> Iterator[EnvRef]:
    """Every ``os.environ/NAME`` string value in ``data``; safe on recursive YAML aliases."""
    seen: set[int] = set()
    stack: list[tuple[Path_, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        name = ref_name(value)
        if name is not None:
            yield EnvRef(path, name)
            continue
        if isinstance(value, dict | list):
            if id(value) in seen:
                continue
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            children = [((*path, k if isinstance(k, int | str) else str(k)), v) for k, v in items]
            stack.extend(reversed(children))


def env_names(data: Any) -> set[str]:
    """Names referenced by ``data`` that are valid environment variable names."""
    return {r.name for r in iter_env_refs(data) if r.valid}
