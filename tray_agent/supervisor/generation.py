"""What the sidecar lifecycle works with: generations, the process seam, timers, settings.

``SidecarHandle`` is the seam a real ``supervisor.sidecar.SidecarProcess`` and the tests'
fake sidecars both fill; ``Spawn`` constructs one; ``Timers`` is the host's timer service.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from tray_agent.config.prepare import Prepared
from tray_agent.config.schema import DEFAULT_MAX_START_MEMORY_MB
from tray_agent.supervisor.sidecar import SpawnSpec

HOST = "127.0.0.1"
MEMORY_KEY = "bridge.sidecar.max_start_memory_mb"
READY_KEY = "bridge.sidecar.ready_timeout"

Role = Literal["pending", "current", "draining"]


class SidecarHandle(Protocol):
    """What the machine needs of a started sidecar (``supervisor.sidecar.SidecarProcess``)."""

    generation: int
    ready: bool

    @property
    def pid(self) -> int: ...

    @property
    def tail(self) -> list[str]: ...

    def set_token(self, token: str | None, expires_at: float | None) -> bool: ...

    def set_policy(self, enforced: dict[str, Any] | None) -> bool: ...

    def set_usage(self, usage: dict[str, Any] | None) -> bool: ...

    def set_audit(self, blocked: str | None) -> bool: ...

    def drain(self, timeout: float) -> None: ...

    def alive(self) -> bool: ...

    def kill_soon(self, grace: float = 2.0) -> None: ...


# spawn(generation, spec, listener) -> a started sidecar whose events the host hands back to
# ``on_event`` with that generation; raises OSError or ValueError when it cannot start.
Spawn = Callable[[int, SpawnSpec, "socket.socket | None"], SidecarHandle]


class Timers(Protocol):
    """The host's timer service: ``on_timer(name, generation)`` is called when one is due."""

    def schedule(self, delay: float, name: str, generation: int = 0) -> None: ...

    def cancel(self, name: str, generation: int | None = None) -> None: ...


@dataclass
class Generation:
    """One sidecar process and what the machine knows about it."""

    number: int
    proc: SidecarHandle
    prepared: Prepared
    role: Role = "pending"
    # Stopped on purpose: its exit is neither a crash nor a failed apply.
    stopping: bool = False
    # Why the agent ended its start (a start limit), for status.
    start_failure: str | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid


@dataclass
class Settings:
    """How long things may take; ``bridge.sidecar`` in config.yaml overrides the first two.

    ``LITELLM_BRIDGE_READY_TIMEOUT`` and ``LITELLM_BRIDGE_HEALTH_INTERVAL`` set the defaults
    (operator knobs, see docs/ARCHITECTURE.md).
    """

    ready_timeout: float = field(
        default_factory=lambda: float(os.environ.get("LITELLM_BRIDGE_READY_TIMEOUT", "180"))
    )
    max_start_memory_mb: int = DEFAULT_MAX_START_MEMORY_MB
    stop_timeout: float = 15.0
    drain_timeout: float = 300.0
    health_interval: float = field(
        default_factory=lambda: float(os.environ.get("LITELLM_BRIDGE_HEALTH_INTERVAL", "15"))
    )
    health_failures: int = 3


@dataclass
class SidecarStatus:
    """What status shows about the sidecar (``Lifecycle.as_dict``)."""

    state: str = "stopped"  # stopped|starting|running|restarting|crashed|error
    error: str | None = None
    restarts: int = 0
    port: int = 4000
    apply_error: str | None = None
    applied_at: float | None = None
    last_output: list[str] = field(default_factory=list)


def status_dict(
    s: SidecarStatus, current: Generation | None, pending: Generation | None, last: int
) -> dict[str, Any]:
    """The ``sidecar`` part of status."""
    serving = current or pending
    return {
        "state": s.state,
        "pid": serving.pid if serving else None,
        "host": HOST,
        "port": s.port,
        "url": f"http://{HOST}:{s.port}",
        "restarts": s.restarts,
        "error": s.error,
        # The generation serving traffic; a config being applied shows up as "pending".
        "generation": current.number if current else last,
        "pending": (
            {"pid": pending.pid, "generation": pending.number} if pending and current else None
        ),
        "last_output": s.last_output if s.state == "error" else [],
    }


def start_limits(prepared: Prepared, settings: Settings) -> tuple[int, float]:
    """(memory ceiling in MB, ready timeout in s): bridge.sidecar, else the settings."""
    limits = prepared.sidecar_limits
    memory = limits.get("max_start_memory_mb") or settings.max_start_memory_mb
    ready = limits.get("ready_timeout") or settings.ready_timeout
    return int(memory), float(ready)


@dataclass
class Told:
    """What every sidecar is told over stdin, kept so a new one starts knowing all of it."""

    token: tuple[str | None, float | None] = (None, None)
    policy: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    audit_blocked: str | None = None

    def everything(self, proc: SidecarHandle) -> None:
        """A new sidecar: policy before token, so it never serves without the policy."""
        if self.audit_blocked is not None:
            proc.set_audit(self.audit_blocked)
        if self.policy is not None:
            proc.set_policy(self.policy)
        if self.usage is not None:
            proc.set_usage(self.usage)
        proc.set_token(*self.token)

    def send_token(self, gens: list[Generation]) -> None:
        for g in gens:
            g.proc.set_token(*self.token)

    def send_policy(self, gens: list[Generation]) -> None:
        for g in gens:
            g.proc.set_policy(self.policy)

    def send_usage(self, gens: list[Generation]) -> None:
        for g in gens:
            g.proc.set_usage(self.usage)

    def send_audit(self, gens: list[Generation]) -> None:
        for g in gens:
            g.proc.set_audit(self.audit_blocked)


@dataclass
class Waiting:
    """Replies waiting on the sidecar: ``start`` until it serves, ``stop`` until none runs."""

    start: list[Future[Any]] = field(default_factory=list)
    stop: list[Future[Any]] = field(default_factory=list)

    def started(self, result: dict[str, Any]) -> None:
        _answer(self.start, result, None)

    def failed(self, error: str) -> None:
        _answer(self.start, None, error)

    def stopped(self, result: dict[str, Any]) -> None:
        _answer(self.stop, result, None)


def _answer(replies: list[Future[Any]], result: Any, error: str | None) -> None:
    for f in replies:
        if not f.done():
            if error is None:
                f.set_result(result)
            else:
                f.set_exception(RuntimeError(error))
    replies.clear()
