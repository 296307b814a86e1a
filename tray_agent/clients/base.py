"""The interface every client setup implements, and what it is given.

A client setup only *describes* what it owns: which files, which key paths, which values.
Planning, diffing, backups and restore are shared (``tray_agent.clients.setup``), so every
tool gets the same guarantees and the same contract tests.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tray_agent.clients.formats import KeyPath
from tray_agent.paths import Paths

KEY_ENV = "LITELLM_BRIDGE_API_KEY"
"""Environment variable that carries the bridge key for tools that read it by name."""

URL_ENV = "LITELLM_BRIDGE_URL"


@dataclass(frozen=True)
class Target:
    """Where the tools should point: the bridge URL and key, plus setup options."""

    url: str
    key: str
    paths: Paths
    model: str | None = None
    key_command: tuple[str, ...] = ()
    """Command printing the key on stdout (for tools that run a helper, e.g. Claude Code)."""

    @property
    def openai_base(self) -> str:
        return self.url.rstrip("/") + "/v1"


@dataclass(frozen=True)
class FileSpec:
    """One settings file and the values the bridge owns in it."""

    path: Path
    format: str  # a key of tray_agent.clients.formats.FORMATS
    values: dict[KeyPath, Any] = field(default_factory=dict)
    secret: bool = False
    """The file will hold the key: written 0600 and masked in diffs."""


class ClientSetup(ABC):
    """A tool the bridge can configure."""

    name: str
    title: str
    aliases: tuple[str, ...] = ()
    executables: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()

    @abstractmethod
    def files(self, target: Target) -> list[FileSpec]:
        """The files and owned values that point this tool at ``target``."""

    @abstractmethod
    def summary(self, url: str, key_reference: str) -> str:
        """One or two lines telling a person how to point this tool at the bridge by hand."""

    def notes(self, target: Target) -> list[str]:
        """What the user still has to know after setup (printed once, after writing)."""
        return []

    def installed(self) -> bool:
        if any(shutil.which(exe) for exe in self.executables):
            return True
        return any(importlib.util.find_spec(mod) is not None for mod in self.modules)


def home() -> Path:
    return Path(os.path.expanduser("~"))


def env_dir(name: str, default: Path) -> Path:
    """A tool's config directory: ``$name`` when set, else ``default``."""
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default
