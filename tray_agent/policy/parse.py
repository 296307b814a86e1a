"""Policy bytes -> a JSON object, strictly: UTF-8, no duplicate keys, no NaN/Infinity.

Python's ``json`` accepts ``NaN`` and keeps the last of two equal keys; in a policy either
could hide what the admin meant (``{"rpm": 10, "rpm": 0}``), so both are errors. Syntax
errors carry ``line:col``.
"""

from __future__ import annotations

import json
from typing import Any

from tray_agent.policy.problems import PolicyProblem


class _Duplicate(ValueError):
    pass


class _NonFinite(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _constant(name: str) -> Any:
    raise _NonFinite(name)


def parse_policy_bytes(data: bytes, source: str) -> dict[str, Any]:
    """The JSON object in ``data``; raises ``PolicyProblem`` naming ``source``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyProblem(
            "encoding", source, f"is not UTF-8 (byte {exc.start}); save it as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")  # Notepad's byte order mark
    try:
        doc = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except _Duplicate as exc:
        raise PolicyProblem(
            "duplicate_key", source, f"key {exc} appears twice in one object"
        ) from None
    except _NonFinite as exc:
        raise PolicyProblem("non_finite", source, f"{exc} is not a JSON number") from None
    except json.JSONDecodeError as exc:
        raise PolicyProblem(
            "syntax", source, f"{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    except RecursionError:
        raise PolicyProblem("syntax", source, "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise PolicyProblem("syntax", source, f"invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PolicyProblem("not_object", source, "must be a JSON object ({...})")
    if _depth(doc) > MAX_DEPTH:
        raise PolicyProblem(
            "syntax", source, f"nested deeper than {MAX_DEPTH} levels: not a policy"
        )
    return doc


MAX_DEPTH = 16  # the schema needs 4 (limits.per_model.<name>.rpm); merge walks recursively


def _depth(value: Any) -> int:
    """How deeply objects and lists nest (iteratively: a hostile file cannot recurse us)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest
