"""Helpers for the token tests that read what the CLI prints and writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tray_agent.paths import Paths


def _reject(constant: str) -> Any:
    raise ValueError(f"not strict JSON: {constant}")


def strict_loads(text: str) -> Any:
    """``json.loads`` that refuses NaN, Infinity and -Infinity, as every other parser does."""
    return json.loads(text, parse_constant=_reject)


def root_of(home: Paths) -> Path:
    """The relocated home (``LITELLM_BRIDGE_HOME``) of ``home``."""
    return home.config_dir.parent
