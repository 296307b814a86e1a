"""Strict JSON out: every JSON the product prints, sends or writes goes through :func:`dumps`.

Python's ``json`` writes ``NaN``/``Infinity`` by default, which no other JSON parser accepts
(``status --json | jq`` fails). :func:`dumps` turns non-finite numbers into ``null`` first and
then dumps with ``allow_nan=False``, so the output is always valid JSON and never a crash.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (at any depth) replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def dumps(
    data: Any,
    *,
    indent: int | None = None,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """``json.dumps`` that always yields strict JSON (non-finite numbers become null)."""
    return json.dumps(
        finite(data), indent=indent, sort_keys=sort_keys, default=default, allow_nan=False
    )
