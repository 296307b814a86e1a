"""The Agent core: one thread, one queue, all state.

Watchers, timers, the control channel, the tray and the token refresher only *post* events
(``Agent.post``) and read snapshots (``Agent.snapshot``). Only the core thread mutates state,
which keeps races out and lets tests drive it event by event. What happens to the sidecar
process -- launch, swap, rollback, drain, crash, stop -- is decided by the state machine in
``tray_agent.supervisor.lifecycle``; the core feeds it events and timers and publishes what
it shows.
"""

from __future__ import annotations

import copy
import heapq
import logging
import os
import queue
import secrets as pysecrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tray_agent import __version__, wire
from tray_agent.config import prepare as config_prepare
from tray_agent.config.issues import ConfigInvalid
from tray_agent.config.prepare import Prepared
from tray_agent.core.events import (
    AuditChanged,
    Command,
    Event,
    FilesChanged,
    PolicyChanged,
    Shutdown,
    SidecarEvent,
    Timer,
    TokenChanged,
    TokenStateChanged,
    UsageChanged,
)
from tray_agent.fsutil import atomic_write
from tray_agent.logs.redact import REDACTOR
from tray_agent.logs.setup import SidecarLog, event
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore
from tray_agent.supervisor.lifecycle import HOST, Lifecycle, Settings
from tray_agent.supervisor.policy import CrashPolicy
from tray_agent.supervisor.ports import bind_listener
from tray_agent.supervisor.sidecar import SidecarProcess, SpawnSpec

__all__ = ["HOST", "Agent", "Settings", "master_key"]

log = logging.getLogger("tray_agent.core")


def master_key(store: SecretStore) -> str:
    """The installation's proxy key, created on first use and kept in the secret store."""
    key = store.get("master-key")
    if not key:
        key = "sk-bridge-" + pysecrets.token_urlsafe(32)
        store.set("master-key", key)
    REDACTOR.add(key)
    return key


@dataclass
class _ConfigState:
    valid: bool | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    token: dict[str, Any] = field(default_factory=lambda: {"state": "absent", "expires_at": None})
    # Status's policy section (tray_agent/policy): empty until a policy watcher reports.
    policy: dict[str, Any] = field(default_factory=dict)


class Agent:
    def __init__(
        self,
        paths: Paths,
        secrets: SecretStore,
        *,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        prepare: Callable[[Paths, SecretStore], Prepared] = config_prepare.prepare,
        policy: CrashPolicy | None = None,
        bind: Callable[[str, int], socket.socket] = bind_listener,
    ) -> None:
        self.paths = paths
        self.secrets = secrets
        self.settings = settings or Settings()
        self.clock = clock
        self._prepare = prepare
        self.policy = policy or CrashPolicy()
        self._queue: queue.Queue[Event] = queue.Queue()
        self._timers: list[tuple[float, int, Timer]] = []
        self._timer_seq = 0
        self._state = _ConfigState()
        self._lock = threading.Lock()
        self._snapshot: dict[str, Any] = {}
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._running = False
        self._thread: threading.Thread | None = None
        self._output = SidecarLog(paths.sidecar_log)
        # Observers of core events, called on the core thread: "ready"(pid),
        # "crashed"(returncode, gave_up), "config_invalid"(issues), "config_changed"(prepared),
        # "request"(metrics event), "load"(generation, requests in flight or None once it
        # exited), "error"(message: the sidecar cannot run).
        # A value is a callable or a list of callables.
        self.hooks: dict[str, Any] = {}
        self.latest_prepared: Prepared | None = None
        self.lifecycle = Lifecycle(
            settings=self.settings,
            policy=self.policy,
            spawn=self._spawn,
            prepare=self._prepare_checked,
            timers=self,
            clock=clock,
            wall=wall,
            bind=bind,
            write_config=self._write_effective,
            master_key=lambda: self.key,
            emit=self._emit,
        )
        self._publish()

    # -- public, thread-safe -------------------------------------------------------------
    def post(self, ev: Event) -> None:
        self._queue.put(ev)

    def call(self, method: str, **params: Any) -> Future[Any]:
        cmd = Command(method, params)
        self.post(cmd)
        return cmd.reply

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._snapshot)

    def subscribe(self, fn: Callable[[dict[str, Any]], None]) -> None:
        """``fn(snapshot)`` is called (on the core thread) after every state change."""
        self._listeners.append(fn)

    def on(self, name: str, fn: Callable[..., Any]) -> None:
        """Add an observer for a core event (see ``hooks``)."""
        current = self.hooks.get(name)
        if current is None:
            self.hooks[name] = [fn]
        elif isinstance(current, list):
            current.append(fn)
        else:
            self.hooks[name] = [current, fn]

    def _emit(self, name: str, *args: Any) -> None:
        current = self.hooks.get(name)
        fns = current if isinstance(current, list) else [current] if current else []
        for fn in fns:
            try:
                fn(*args)
            except Exception:
                log.exception("core.hook_failed", extra={"fields": {"hook": name}})

    def start_thread(self) -> None:
        self._thread = threading.Thread(target=self.run, name="agent-core", daemon=True)
        self._thread.start()

    def shutdown(self, timeout: float = 30.0, drain: bool = False) -> None:
        """Stop every sidecar and the core; ``drain``: their requests finish first (up to
        the drain timeout), for an agent handing over to its successor."""
        ev = Shutdown(drain=drain)
        self.post(ev)
        ev.reply.result(self.settings.drain_timeout + 15 if drain else timeout)

    @property
    def key(self) -> str:
        return master_key(self.secrets)

    def health_target(self) -> tuple[int, str] | None:
        """(generation, url) of the sidecar serving now, for the probe thread."""
        return self.lifecycle.health_target()

    # -- loop -----------------------------------------------------------------------------
    def run(self) -> None:
        self._running = True
        while self._running:
            timeout = None
            if self._timers:
                timeout = max(0.0, self._timers[0][0] - self.clock())
            try:
                ev = self._queue.get(timeout=timeout)
            except queue.Empty:
                ev = None
            if ev is not None:
                self._dispatch(ev)
            now = self.clock()
            while self._running and self._timers and self._timers[0][0] <= now:
                _, _, t = heapq.heappop(self._timers)
                self._dispatch(t)
            self._publish()

    def _dispatch(self, ev: Event) -> None:
        try:
            if isinstance(ev, Command):
                self._on_command(ev)
            elif isinstance(ev, SidecarEvent):
                self._on_sidecar(ev)
            elif isinstance(ev, Timer):
                self.lifecycle.on_timer(ev.name, ev.generation)
            elif isinstance(ev, FilesChanged):
                self._on_files_changed()
            elif isinstance(ev, TokenChanged):
                REDACTOR.add(ev.token)
                self.lifecycle.set_token(ev.token, ev.expires_at)
            elif isinstance(ev, TokenStateChanged):
                self._state.token = dict(ev.status) if isinstance(ev.status, dict) else ev.status
            elif isinstance(ev, PolicyChanged):
                usage = self._state.policy.get("usage")
                self._state.policy = {**ev.view, "usage": usage}
                self.lifecycle.set_policy(ev.enforced)
                self._emit("policy_changed", dict(ev.view))
            elif isinstance(ev, UsageChanged):
                self._state.policy = {**self._state.policy, "usage": ev.usage}
                self.lifecycle.set_usage(ev.usage)
            elif isinstance(ev, AuditChanged):
                self.lifecycle.set_audit(ev.blocked)
            elif isinstance(ev, Shutdown):
                self._on_shutdown(ev)
        except Exception as exc:  # the core must survive any single bad event
            log.exception("core.event_failed", extra={"fields": {"event": type(ev).__name__}})
            if isinstance(ev, Command) and not ev.reply.done():
                ev.reply.set_exception(exc)

    # -- timers (the lifecycle's timer service) --------------------------------------------
    def schedule(self, delay: float, name: str, generation: int = 0) -> None:
        self._timer_seq += 1
        heapq.heappush(
            self._timers, (self.clock() + delay, self._timer_seq, Timer(name, generation))
        )

    def cancel(self, name: str, generation: int | None = None) -> None:
        self._timers = [
            t
            for t in self._timers
            if not (t[2].name == name and (generation is None or t[2].generation == generation))
        ]
        heapq.heapify(self._timers)

    # -- what the lifecycle is given ------------------------------------------------------
    def _spawn(self, generation: int, spec: SpawnSpec, listener: socket.socket | None) -> Any:
        return SidecarProcess(
            generation,
            spec,
            listener,
            self._output,
            lambda g, p: self.post(SidecarEvent(g, p)),
        )

    def _write_effective(self, text: str) -> Path:
        atomic_write(self.paths.effective_config, text, mode=0o600)
        return self.paths.effective_config

    def _prepare_checked(self) -> Prepared:
        """Validate and render the files; status shows the result either way."""
        try:
            prepared = self._prepare(self.paths, self.secrets)
        except ConfigInvalid as exc:
            self._state.valid = False
            self._state.errors = [i.as_dict() for i in exc.issues]
            event(log, logging.ERROR, "config.invalid", errors=exc.summary())
            raise
        self._accept(prepared)
        return prepared

    def _accept(self, prepared: Prepared) -> None:
        """A config that validated: status shows it valid; observers hear of any change."""
        self._state.valid = True
        self._state.errors = []
        self._state.warnings = [i.as_dict() for i in prepared.warnings]
        if self.latest_prepared is None or prepared.digest != self.latest_prepared.digest:
            event(log, logging.INFO, "config.changed", digest=prepared.digest[:12])
            self.latest_prepared = prepared
            self._emit("config_changed", prepared)

    # -- commands -----------------------------------------------------------------------
    def _on_command(self, cmd: Command) -> None:
        handler = getattr(self, "_cmd_" + cmd.method.replace(".", "_"), None)
        if handler is None:
            cmd.reply.set_exception(ValueError(f"unknown command {cmd.method!r}"))
            return
        handler(cmd)

    def _cmd_start(self, cmd: Command) -> None:
        self.lifecycle.start(cmd.reply)

    def _cmd_stop(self, cmd: Command) -> None:
        self.lifecycle.stop(cmd.reply)

    def _cmd_restart(self, cmd: Command) -> None:
        self.lifecycle.restart(cmd.reply)

    def _cmd_reload(self, cmd: Command) -> None:
        """Re-read config and env now (as if the files changed)."""
        self.lifecycle.forget_applied()
        self._on_files_changed()
        cmd.reply.set_result(self._config_dict())

    def _cmd_health(self, cmd: Command) -> None:
        """A liveness probe result for the serving sidecar (posted by the health probe)."""
        cmd.reply.set_result(None)
        self.lifecycle.health(cmd.params.get("generation"), cmd.params.get("reason"))

    def _cmd_listener(self, cmd: Command) -> None:
        """The listening socket while the proxy is meant to run (None otherwise): what a
        restart of the whole agent hands its successor (``update.takeover``)."""
        # Also while a crashed sidecar restarts: the successor then starts one itself.
        cmd.reply.set_result(self.lifecycle.listener if self.lifecycle.desired_running else None)

    def _cmd_drop_listener(self, cmd: Command) -> None:
        """Close our copy of the listening socket (the sidecars keep theirs): an agent that
        handed over must not hold the port while its sidecar drains."""
        self.lifecycle.drop_listener()
        cmd.reply.set_result(None)

    def _cmd_status(self, cmd: Command) -> None:
        cmd.reply.set_result(self._build_snapshot())

    # -- events -------------------------------------------------------------------------
    def _on_sidecar(self, ev: SidecarEvent) -> None:
        kind = ev.payload.get("event")
        if kind == wire.REQUEST:
            self._emit("request", ev.payload)
        elif kind == wire.LOAD:
            if any(g.number == ev.generation for g in self.lifecycle.generations()):
                self._emit("load", ev.generation, ev.payload.get("in_flight"))
        else:
            self.lifecycle.on_event(ev.generation, ev.payload)

    def _on_files_changed(self) -> None:
        try:
            prepared = self._prepare_checked()
        except ConfigInvalid as exc:
            self._emit("config_invalid", exc.issues)
            return
        # Every bridge: key reaches its observers (in _accept), whether or not the sidecar
        # needs a new process.
        self.lifecycle.apply(prepared)

    def _on_shutdown(self, ev: Shutdown) -> None:
        def done() -> None:
            self._running = False
            self._publish()
            self._output.close()
            ev.reply.set_result(True)

        self.lifecycle.shutdown(done, drain=ev.drain)

    # -- snapshots ----------------------------------------------------------------------
    def _config_dict(self) -> dict[str, Any]:
        s, status = self._state, self.lifecycle.status
        return {
            "path": str(self.paths.config_file),
            "valid": s.valid,
            "errors": s.errors,
            # Problems applied around (e.g. an env entry left out of the sidecar env).
            "warnings": s.warnings,
            "apply_error": status.apply_error,
            "applied_at": status.applied_at,
        }

    def _build_snapshot(self) -> dict[str, Any]:
        return {
            "agent": {
                "pid": os.getpid(),
                "version": __version__,
                # Where this agent keeps its files. "home" is the config dir's parent
                # (~/.config without LITELLM_BRIDGE_HOME): kept as it was for scripts,
                # superseded by "config_dir" and "bridge_home" (LITELLM_BRIDGE_HOME or None).
                "config_dir": str(self.paths.config_dir),
                "data_dir": str(self.paths.data_dir),
                "log_dir": str(self.paths.log_dir),
                "bridge_home": str(self.paths.config_dir.parent) if self.paths.relocated else None,
                "home": str(self.paths.config_dir.parent),
            },
            "sidecar": self.lifecycle.as_dict(),
            "config": self._config_dict(),
            "token": dict(self._state.token),
            "policy": copy.deepcopy(self._state.policy),
            "keyring": {"persistent": self.secrets.persistent, "backend": self.secrets.description},
        }

    def _publish(self) -> None:
        snap = self._build_snapshot()
        with self._lock:
            changed = snap != self._snapshot
            self._snapshot = snap
        if changed:
            for fn in self._listeners:
                try:
                    fn(copy.deepcopy(snap))
                except Exception:
                    log.exception("core.listener_failed")
