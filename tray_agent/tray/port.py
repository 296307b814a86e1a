"""How the tray reaches the agent core: the same calls the control channel offers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class AgentPort(Protocol):
    def snapshot(self) -> dict[str, Any]: ...
    def subscribe(self, fn: Callable[[dict[str, Any]], None]) -> None: ...
    def call(self, method: str, **params: Any) -> Any: ...


class RuntimePort:
    """The agent running in this process (``litellm-bridge tray`` owns a Runtime)."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def snapshot(self) -> dict[str, Any]:
        snap: dict[str, Any] = self.runtime.agent.snapshot()
        return snap

    def subscribe(self, fn: Callable[[dict[str, Any]], None]) -> None:
        self.runtime.agent.subscribe(fn)

    def call(self, method: str, **params: Any) -> Any:
        """Blocking; raises ControlError (or the handler's error) on failure."""
        return self.runtime.handle(method, params)
