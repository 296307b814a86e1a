"""What ``install_extensions`` hands an extension, around a real core (``ExtensionHost``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tray_agent.core.agent import Agent
from tray_agent.paths import Paths
from tray_agent.seams import Extension
from tray_agent.secrets import SecretStore


@dataclass
class Host:
    """The parts of a runtime an extension may use (``tray_agent.seams.ExtensionHost``)."""

    agent: Agent
    paths: Paths
    secrets: SecretStore
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)
    status_extras: dict[str, Callable[[], Any]] = field(default_factory=dict)
    extensions: list[Extension] = field(default_factory=list)
    took_over: list[Callable[[], None]] | None = None
    handing_over: list[Callable[[], None]] = field(default_factory=list)
    resumed: list[Callable[[], None]] = field(default_factory=list)

    def restart_agent(self) -> dict[str, Any]:
        raise NotImplementedError("a test host has no successor to start")
