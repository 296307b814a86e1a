"""Names the publisher and the client agree on: target paths, versions, the shipped root."""

from __future__ import annotations

import platform
import re
import sys
from pathlib import Path

ROOT_FILE_NAME = "root.json"
SHIPPED_ROOT = "update-root.json"
"""The repository's root metadata at the top of the app folder (covered by its manifest)."""
VERSION_PATTERN = re.compile(r"\d{1,6}(?:\.\d{1,6}){0,3}")
_VERSION_LINE = re.compile(r'^__version__ = "([^"]*)"$', re.MULTILINE)
APP_FOLDER = "litellm-bridge"


def parse_version(text: str) -> tuple[int, ...]:
    """``"0.10.2"`` -> ``(0, 10, 2)``; only release versions (digits and dots) are updates."""
    if not VERSION_PATTERN.fullmatch(text):
        raise ValueError(f"{text!r} is not a release version (digits and dots)")
    parts = [int(p) for p in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()  # 1.0 == 1.0.0
    return tuple(parts)


def newer(a: str, b: str) -> bool:
    return parse_version(a) > parse_version(b)


def platform_tag() -> str:
    system = "windows" if sys.platform == "win32" else sys.platform.rstrip("0123456789")
    machine = platform.machine().lower().replace("amd64", "x86_64")
    return f"{system}-{machine}"


def target_name(version: str | None, tag: str | None = None) -> str:
    """The newest release's target (``None``), or one version's (for a pinned version)."""
    suffix = "" if version is None else f"-{version}"
    return f"{tag or platform_tag()}/litellm-bridge{suffix}.tar.gz"


def app_version(app: Path) -> str | None:
    """The version of an app folder, read from its shipped source (without running it)."""
    init = app / "_internal" / "app" / "tray_agent" / "__init__.py"
    try:
        match = _VERSION_LINE.search(init.read_text(encoding="utf-8"))
    except OSError:
        return None
    return match.group(1) if match else None
