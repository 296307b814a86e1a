"""What ``update status`` shows: source, running, current, previous, bad, trial, notice."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from tray_agent import __version__
from tray_agent.update.boot import BASE_ENV
from tray_agent.update.layout import Layout
from tray_agent.update.names import app_version
from tray_agent.update.source import Source


def base_folder() -> Path | None:
    """The installed package's app folder (None when running from source)."""
    if os.environ.get(BASE_ENV):
        return Path(os.environ[BASE_ENV])
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return None


def build(layout: Layout, source: Source | None, source_error: str | None) -> dict[str, Any]:
    state = layout.load()
    base = base_folder()
    return {
        "running": __version__,
        "base": {
            "folder": str(base) if base else None,
            "version": app_version(base) if base else None,
        },
        "current": state.current,
        "previous": state.previous,
        "installed": layout.installed(),
        "bad": state.bad,
        "trial": None if state.trial is None else vars(state.trial),
        "notice": state.notice,
        "source": None if source is None else source.as_dict(),
        "source_error": source_error,
        "versions_dir": str(layout.root),
    }


def format_status(doc: dict[str, Any]) -> str:
    src = doc["source"] or {}
    lines = [
        f"running:  {doc['running']}",
        f"base:     {doc['base']['version'] or '-'} ({doc['base']['folder'] or 'run from source'})",
        f"current:  {doc['current'] or '- (the base package)'}",
        f"previous: {', '.join(doc['previous']) or '-'}",
        f"source:   {src.get('url') or '- (no update.url)'}  mode {src.get('mode', '-')}"
        + (f"  pinned {src['version']}" if src.get("version") else ""),
    ]
    if doc["source_error"]:
        lines.append(f"settings: {doc['source_error']}")
    for version, why in doc["bad"].items():
        lines.append(f"bad:      {version}: {why}")
    if doc["trial"]:
        lines.append(
            f"trial:    {doc['trial']['version']} ({doc['trial']['failures']} failed starts)"
        )
    if doc["notice"]:
        lines.append(f"notice:   {doc['notice']}")
    return "\n".join(lines)
