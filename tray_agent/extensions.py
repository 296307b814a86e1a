"""Optional parts wired into a Runtime (token refresher, metrics, ...)."""

from __future__ import annotations

from typing import Any


def install_extensions(rt: Any) -> None:
    """Attach every optional part the runtime supports; each one is independent."""
    return None
