"""Typed events consumed by the Agent core. Everything else only posts these."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

# Defined by the token package, which posts them; part of the core's event union.
from tray_agent.audit.events import AuditChanged as AuditChanged
from tray_agent.policy.events import PolicyChanged as PolicyChanged
from tray_agent.policy.events import UsageChanged as UsageChanged
from tray_agent.token.events import TokenChanged as TokenChanged
from tray_agent.token.events import TokenStateChanged as TokenStateChanged


@dataclass
class Command:
    """A user command (CLI, tray, dialog); ``reply`` is resolved when it is done."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)
    reply: Future[Any] = field(default_factory=Future)


@dataclass
class SidecarEvent:
    generation: int
    payload: dict[str, Any]


@dataclass
class FilesChanged:
    """config.yaml or the env store changed on disk (already debounced)."""

    paths: tuple[str, ...] = ()


@dataclass
class Timer:
    name: str
    generation: int = 0


@dataclass
class Shutdown:
    drain: bool = False  # let requests finish (an agent handing over), not the stop timeout
    reply: Future[Any] = field(default_factory=Future)


Event = (
    Command
    | SidecarEvent
    | FilesChanged
    | TokenChanged
    | TokenStateChanged
    | PolicyChanged
    | UsageChanged
    | AuditChanged
    | Timer
    | Shutdown
)
