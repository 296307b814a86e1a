"""Merge policy sources: later wins per key, objects merged key by key at every depth.

``{"limits": {"rpm": 10}}`` then ``{"limits": {"tpm": 5}}`` gives both limits. Lists (and
every other non-object value) are replaced whole by a later source, never concatenated: a
drop-in saying ``"deny": ["x"]`` means exactly that list, so a later file can narrow what an
earlier one said. ``origins`` maps every leaf key (dotted: ``limits.rpm``) to the source that
set it, for ``policy show``.
"""

from __future__ import annotations

from typing import Any


def _leaves(value: Any, prefix: str) -> list[str]:
    if isinstance(value, dict) and value:
        out: list[str] = []
        for k, v in value.items():
            out.extend(_leaves(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return [prefix]


def _merge_into(
    base: dict[str, Any], doc: dict[str, Any], source: str, prefix: str, origins: dict[str, str]
) -> None:
    for key, value in doc.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            origins.pop(path, None)  # an empty object seen earlier is now filled in
            _merge_into(base[key], value, source, path, origins)
            continue
        for old in [o for o in origins if o == path or o.startswith(path + ".")]:
            del origins[old]
        base[key] = _copy(value)
        for leaf in _leaves(value, path):
            origins[leaf] = source


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def merge(docs: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The merged document and where each leaf key came from."""
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for source, doc in docs:
        _merge_into(merged, doc, source, "", origins)
    return merged, origins
