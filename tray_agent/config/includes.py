"""``include:`` resolved by the bridge, the way LiteLLM would, into one merged config.

LiteLLM reads included files with plain ``yaml.safe_load`` and lets them replace any
top-level section. The bridge merges them itself instead, every file through the bounded
loader, so the effective config names no other file and the sections the bridge manages
come from ``config.yaml`` only. The merge is LiteLLM's (litellm/proxy/common_utils/
config_includes.py): lists are extended, other values replaced, nested includes resolved
next to the file that declares them, a file already merged not merged again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

INCLUDE_KEY = "include"
REFUSED_KEYS = ("general_settings", "litellm_settings", "bridge", "environment_variables")
"""Sections an included file may not set: the bridge's master key and hook live in them, and
LiteLLM's merge would let the included file replace them wholesale."""
REFUSED_HINT = "move {key}: to config.yaml; included files may only add models and other lists"


@dataclass(frozen=True)
class Source:
    """One file of the merged config: its name in messages and its parse tree."""

    file: str
    root: yaml.Node | None


@dataclass
class SourceMap:
    """Which file each top-level value (or list item) of the merged config came from."""

    main: Source
    keys: dict[str, Source] = field(default_factory=dict)
    # Per list: (first index in the merged list, source) for each file's part, in order.
    parts: dict[str, list[tuple[int, Source]]] = field(default_factory=dict)

    def route(self, path: Sequence[object]) -> tuple[Source, tuple[object, ...]]:
        """The file holding ``path`` of the merged config, and the path inside that file."""
        if not path:
            return self.main, ()
        key, rest = str(path[0]), tuple(path[1:])
        parts = self.parts.get(key)
        if parts and rest and isinstance(rest[0], int):
            start, source = next(((s, src) for s, src in reversed(parts) if s <= rest[0]), parts[0])
            return source, (key, rest[0] - start, *rest[1:])
        return self.keys.get(key, self.main), tuple(path)


def merge(
    merged: dict[str, Any], included: dict[str, Any], source: Source, sources: SourceMap
) -> None:
    """Merge one included file's data into ``merged`` (LiteLLM's rule), recording its source."""
    for key, value in included.items():
        if key == INCLUDE_KEY:
            continue
        base = merged.get(key)
        if isinstance(base, list) and isinstance(value, list):
            sources.parts.setdefault(key, [(0, sources.keys.get(key, sources.main))])
            sources.parts[key].append((len(base), source))
            merged[key] = [*base, *value]
            continue
        merged[key] = value
        sources.keys[key] = source
        sources.parts.pop(key, None)
        if isinstance(value, list):
            sources.parts[key] = [(0, source)]


def resolve_path(entry: str, declared_in: Path, root_config: Path) -> Path:
    """The file an include entry names: next to the file declaring it, else next to the root.

    LiteLLM's ``resolve_include_file_path``: the root-relative fallback keeps configs written
    before nested includes resolved next to their own file working.
    """
    declared = Path(os.path.abspath(declared_in.parent / entry))
    rooted = Path(os.path.abspath(root_config.parent / entry))
    if declared == rooted or not rooted.exists() or declared.exists():
        return declared
    return rooted
