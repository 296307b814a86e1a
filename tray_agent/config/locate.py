"""Parse YAML the way LiteLLM does (PyYAML, safe) while keeping every node's position.

LiteLLM reads its config with ``yaml.safe_load``; validating with the same parser means a
value such as ``yes`` or ``0o17`` means here what it will mean to the sidecar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class Position:
    """1-based line and column."""

    line: int
    column: int


START = Position(1, 1)


def _pos(node: yaml.Node) -> Position:
    mark = node.start_mark
    return Position(mark.line + 1, mark.column + 1)


@dataclass
class Parsed:
    data: Any
    root: yaml.Node | None


def _key_matches(key_node: yaml.Node, wanted: object) -> bool:
    return isinstance(key_node, yaml.ScalarNode) and str(key_node.value) == str(wanted)


def locate(root: yaml.Node | None, path: Sequence[object], *, key: bool = False) -> Position:
    """Position of the node at ``path`` (mapping keys and list indexes).

    Path elements that do not exist in the document (a missing field, a pydantic union tag)
    are skipped, so the answer is the deepest node that does exist. With ``key=True`` the
    position of the last mapping key is returned instead of its value's.
    """
    if root is None:
        return START
    node: yaml.Node = root
    found = owner = _pos(root)
    matched_last = True
    seen: set[int] = set()
    for i, step in enumerate(path):
        last = i == len(path) - 1
        matched_last = False
        if id(node) in seen:  # recursive alias: stop where we are
            break
        if isinstance(node, yaml.MappingNode):
            pair = next((p for p in reversed(node.value) if _key_matches(p[0], step)), None)
            if pair is None:
                continue
            if last and key:
                return _pos(pair[0])
            seen.add(id(node))
            node, owner = pair[1], _pos(pair[0])
            # A missing value (``key:`` then nothing) points at the key, not the next line.
            empty = isinstance(node, yaml.ScalarNode) and node.value == ""
            found = owner if empty else _pos(node)
            matched_last = True
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(step, int)
            and 0 <= step < len(node.value)
        ):
            seen.add(id(node))
            node = node.value[step]
            found = owner = _pos(node)
            matched_last = True
    # A missing field is reported on the key of the mapping that lacks it.
    return found if matched_last else owner


def locate_key(root: yaml.Node | None, path: Sequence[object]) -> Position:
    """Position of the key that owns ``path`` (or of the deepest existing ancestor's key)."""
    return locate(root, path, key=True)
