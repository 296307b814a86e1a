"""The seam between a running agent and the parts installed beside its core.

``install_extensions`` hands every extension (token refresher, metrics, secret feed) the
runtime; these Protocols say which of the runtime's parts they may use, so an extension
cannot quietly start depending on more, and mypy checks that ``tray_agent.runtime.Runtime``
still offers all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tray_agent.config.prepare import Prepared
    from tray_agent.core.events import Event
    from tray_agent.paths import Paths
    from tray_agent.secrets import SecretStore

ControlHandler = Callable[[dict[str, Any]], Any]
"""Answers one control-channel method: ``handler(params) -> JSON value``."""


class AgentCore(Protocol):
    """What extensions use of the core (``tray_agent.core.agent.Agent``); all thread-safe."""

    @property
    def latest_prepared(self) -> Prepared | None:
        """The config the core last validated (None before the first one)."""
        ...

    def post(self, ev: Event) -> None: ...

    def call(self, method: str, **params: Any) -> Future[Any]: ...

    def snapshot(self) -> dict[str, Any]: ...

    def subscribe(self, fn: Callable[[dict[str, Any]], None]) -> None:
        """``fn(snapshot)`` on the core thread after every state change."""
        ...

    def on(self, name: str, fn: Callable[..., Any]) -> None:
        """Observe a core event (``request``, ``load``, ``config_changed``, ...)."""
        ...


class Extension(Protocol):
    """A part installed beside the core: started after the core, stopped before it."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ExtensionHost(Protocol):
    """What a running agent offers its extensions (``tray_agent.runtime.Runtime``)."""

    @property
    def agent(self) -> AgentCore: ...

    @property
    def paths(self) -> Paths: ...

    @property
    def secrets(self) -> SecretStore: ...

    @property
    def handlers(self) -> dict[str, Callable[..., Any]]:
        """Control methods answered outside the core thread, by method name; each is a
        ``ControlHandler`` (loosely typed here so a handler may be a lambda with defaults)."""
        ...

    @property
    def status_extras(self) -> dict[str, Callable[[], Any]]:
        """Keys added to the ``status`` answer, each a function returning a JSON value."""
        ...

    @property
    def extensions(self) -> list[Extension]: ...

    def restart_agent(self) -> dict[str, Any]:
        """Restart the whole agent into the installed current version, without downtime."""
        ...

    @property
    def took_over(self) -> list[Callable[[], None]] | None:
        """Hooks run once the agent this one took over from has left (``update.takeover``):
        re-read what it saved last. None when this agent did not start as a successor."""
        ...

    @property
    def handing_over(self) -> list[Callable[[], None]]:
        """Hooks run when a successor takes over from this agent: stop what only one agent
        may do (refresh the token, save the usage book); the sidecar still serves."""
        ...

    @property
    def resumed(self) -> list[Callable[[], None]]:
        """Hooks run when that successor died before releasing this agent: take it back."""
        ...
