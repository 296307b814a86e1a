"""The Agent core: one thread, one queue, all state.

Watchers, timers, the control channel, the tray and the token refresher only *post* events
(``Agent.post``) and read snapshots (``Agent.snapshot``). Only the core thread mutates state,
which keeps races out and lets tests drive it event by event.
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
from typing import Any

from tray_agent import __version__
from tray_agent.config import prepare as config_prepare
from tray_agent.config.issues import ConfigInvalid
from tray_agent.config.prepare import Prepared
from tray_agent.config.schema import DEFAULT_MAX_START_MEMORY_MB
from tray_agent.core.events import (
    Command,
    Event,
    FilesChanged,
    Shutdown,
    SidecarEvent,
    Timer,
    TokenChanged,
    TokenStateChanged,
)
from tray_agent.fsutil import atomic_write
from tray_agent.logs.redact import REDACTOR
from tray_agent.logs.setup import SidecarLog, event
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore
from tray_agent.supervisor.policy import CrashPolicy
from tray_agent.supervisor.ports import PortBusyError, bind_listener
from tray_agent.supervisor.sidecar import SidecarProcess, SpawnSpec

log = logging.getLogger("tray_agent.core")

HOST = "127.0.0.1"
# Socket handoff lets the next sidecar take over before the old one drains. Windows has no
# fd inheritance for sockets (socket.share/fromshare would go here); it stops, then starts.
SOCKET_HANDOFF = os.name != "nt"


def master_key(store: SecretStore) -> str:
    """The installation's proxy key, created on first use and kept in the secret store."""
    key = store.get("master-key")
    if not key:
        key = "sk-bridge-" + pysecrets.token_urlsafe(32)
        store.set("master-key", key)
    REDACTOR.add(key)
    return key


MEMORY_KEY = "bridge.sidecar.max_start_memory_mb"
READY_KEY = "bridge.sidecar.ready_timeout"


@dataclass
class Settings:
    # Defaults for what config.yaml's bridge.sidecar does not set.
    ready_timeout: float = float(os.environ.get("LITELLM_BRIDGE_READY_TIMEOUT", "180"))
    max_start_memory_mb: int = DEFAULT_MAX_START_MEMORY_MB
    stop_timeout: float = 15.0
    drain_timeout: float = 300.0
    health_interval: float = float(os.environ.get("LITELLM_BRIDGE_HEALTH_INTERVAL", "15"))
    health_failures: int = 3


@dataclass
class _State:
    sidecar_state: str = "stopped"  # stopped|starting|running|restarting|crashed|error
    error: str | None = None
    restarts: int = 0
    port: int = 4000
    config_valid: bool | None = None
    config_errors: list[dict[str, Any]] = field(default_factory=list)
    config_warnings: list[dict[str, Any]] = field(default_factory=list)
    apply_error: str | None = None
    applied_at: float | None = None
    token: dict[str, Any] = field(default_factory=lambda: {"state": "absent", "expires_at": None})
    last_output: list[str] = field(default_factory=list)


class Agent:
    def __init__(
        self,
        paths: Paths,
        secrets: SecretStore,
        *,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.monotonic,
        prepare: Callable[[Paths, SecretStore], Prepared] = config_prepare.prepare,
        policy: CrashPolicy | None = None,
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
        self._state = _State()
        self._lock = threading.Lock()
        self._snapshot: dict[str, Any] = {}
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._desired_running = False
        self._listener: socket.socket | None = None
        self._current: SidecarProcess | None = None
        self._pending: SidecarProcess | None = None
        self._draining: dict[int, SidecarProcess] = {}
        self._generation = 0
        self._last_good: Prepared | None = None
        self._applied_digest: str | None = None
        self._waiters: list[Future[Any]] = []
        self._stop_waiters: list[Future[Any]] = []
        self._token: tuple[str | None, float | None] = (None, None)
        self._health_failures = 0
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

    def shutdown(self, timeout: float = 30.0) -> None:
        ev = Shutdown()
        self.post(ev)
        ev.reply.result(timeout)

    @property
    def key(self) -> str:
        return master_key(self.secrets)

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
            while self._timers and self._timers[0][0] <= now:
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
                self._on_timer(ev)
            elif isinstance(ev, FilesChanged):
                self._on_files_changed()
            elif isinstance(ev, TokenChanged):
                self._on_token(ev)
            elif isinstance(ev, TokenStateChanged):
                self._state.token = dict(ev.status) if isinstance(ev.status, dict) else ev.status
            elif isinstance(ev, Shutdown):
                self._on_shutdown(ev)
        except Exception as exc:  # the core must survive any single bad event
            log.exception("core.event_failed", extra={"fields": {"event": type(ev).__name__}})
            if isinstance(ev, Command) and not ev.reply.done():
                ev.reply.set_exception(exc)

    def _timer(self, delay: float, name: str, generation: int = 0) -> None:
        self._timer_seq += 1
        heapq.heappush(
            self._timers, (self.clock() + delay, self._timer_seq, Timer(name, generation))
        )

    def _cancel_timers(self, name: str) -> None:
        self._timers = [t for t in self._timers if t[2].name != name]
        heapq.heapify(self._timers)

    # -- commands -----------------------------------------------------------------------
    def _on_command(self, cmd: Command) -> None:
        handler = getattr(self, "_cmd_" + cmd.method.replace(".", "_"), None)
        if handler is None:
            cmd.reply.set_exception(ValueError(f"unknown command {cmd.method!r}"))
            return
        handler(cmd)

    def _cmd_start(self, cmd: Command) -> None:
        self._desired_running = True
        if self._state.sidecar_state == "error":
            self.policy.reset()
            self._state.error = None
        if self._current is not None and self._pending is None:
            cmd.reply.set_result(self._sidecar_dict())
            return
        self._waiters.append(cmd.reply)
        if self._pending is None:
            self._launch(reload_config=True)

    def _cmd_stop(self, cmd: Command) -> None:
        self._desired_running = False
        self._cancel_timers("restart")
        self._stop_all()
        if self._current is None and self._pending is None:
            self._set_stopped()
            cmd.reply.set_result(self._sidecar_dict())
        else:
            self._stop_waiters.append(cmd.reply)

    def _cmd_restart(self, cmd: Command) -> None:
        self._desired_running = True
        self.policy.reset()
        self._state.error = None
        self._waiters.append(cmd.reply)
        if SOCKET_HANDOFF and self._current is not None:
            self._launch(reload_config=True, swap=True)
        else:
            self._stop_all()
            if self._current is None and self._pending is None:
                self._launch(reload_config=True)

    def _cmd_reload(self, cmd: Command) -> None:
        """Re-read config and env now (as if the files changed)."""
        self._applied_digest = None
        self._on_files_changed()
        cmd.reply.set_result(self._config_dict())

    def _cmd_health(self, cmd: Command) -> None:
        """A liveness probe result for the serving sidecar (posted by the health probe)."""
        cmd.reply.set_result(None)
        gen, reason = cmd.params.get("generation"), cmd.params.get("reason")
        proc = self._current
        if proc is None or proc.generation != gen:
            return
        if reason is None:
            self._health_failures = 0
            return
        self._health_failures += 1
        event(
            log,
            logging.WARNING,
            "sidecar.unhealthy",
            pid=proc.pid,
            reason=reason,
            consecutive=self._health_failures,
        )
        if self._health_failures >= self.settings.health_failures and proc.alive():
            self._health_failures = 0
            event(log, logging.ERROR, "sidecar.hung", pid=proc.pid)
            proc.kill_soon(grace=2)  # its exit event goes through the crash path

    def health_target(self) -> tuple[int, str] | None:
        """(generation, url) of the sidecar serving now, for the probe thread."""
        proc = self._current
        if proc is None or self._state.sidecar_state != "running":
            return None
        return proc.generation, f"http://{HOST}:{self._state.port}"

    def _cmd_status(self, cmd: Command) -> None:
        cmd.reply.set_result(self._build_snapshot())

    # -- launching and swapping ------------------------------------------------------------
    def _launch(self, reload_config: bool, swap: bool = False) -> None:
        prepared = self._last_good
        if reload_config or prepared is None:
            try:
                prepared = self._prepare(self.paths, self.secrets)
                self._accept(prepared)
            except ConfigInvalid as exc:
                self._state.config_valid = False
                self._state.config_errors = [i.as_dict() for i in exc.issues]
                event(log, logging.ERROR, "config.invalid", errors=exc.summary())
                if self._current is not None or self._last_good is None:
                    if self._current is None:
                        self._fail(f"config invalid: {exc.summary()}")
                    else:
                        self._resolve_waiters(error=f"config invalid: {exc.summary()}")
                    return
                prepared = self._last_good
        assert prepared is not None
        for v in prepared.secret_values:
            REDACTOR.add(v)
        if self._listener is None or self._state.port != prepared.port:
            if self._current is not None and self._state.port != prepared.port:
                # A port change cannot share the socket: stop the old one first.
                self._stop_all()
                self._close_listener()
            try:
                self._listener = bind_listener(HOST, prepared.port)
                self._state.port = prepared.port
            except PortBusyError as exc:
                self._state.port = prepared.port  # status names the port that is not ours
                self._fail(str(exc))
                return
            except OSError as exc:
                self._fail(f"cannot listen on {HOST}:{prepared.port}: {exc.strerror or exc}")
                return
        if self._pending is not None:
            self._pending.stopping = True
            self._pending.kill_soon(grace=2)
            self._pending = None
        memory_mb, ready_timeout = self._start_limits(prepared)
        atomic_write(self.paths.effective_config, prepared.effective_yaml, mode=0o600)
        self._generation += 1
        gen = self._generation
        spec = SpawnSpec(
            config_path=self.paths.effective_config,
            master_key=self.key,
            inject=prepared.inject,
            env=prepared.env,
            host=HOST,
            port=prepared.port,
            max_start_memory_mb=memory_mb,
        )
        try:
            proc = SidecarProcess(
                gen,
                spec,
                self._listener if SOCKET_HANDOFF else None,
                self._output,
                lambda g, p: self.post(SidecarEvent(g, p)),
            )
        except (OSError, ValueError) as exc:  # ValueError: e.g. a NUL byte in an env value
            self._fail(f"cannot start the sidecar: {exc}")
            return
        proc.prepared = prepared  # type: ignore[attr-defined]
        token, expires_at = self._token
        proc.set_token(token, expires_at)
        self._pending = proc
        if self._current is None:
            was_crash = self._state.sidecar_state in ("crashed", "restarting")
            self._state.sidecar_state = "restarting" if was_crash else "starting"
        self._timer(ready_timeout, "ready_timeout", gen)

    def _start_limits(self, prepared: Prepared) -> tuple[int, float]:
        """(memory ceiling in MB, ready timeout in s): bridge.sidecar, else the settings."""
        limits = prepared.sidecar_limits
        memory = limits.get("max_start_memory_mb") or self.settings.max_start_memory_mb
        ready = limits.get("ready_timeout") or self.settings.ready_timeout
        return int(memory), float(ready)

    def _accept(self, prepared: Prepared) -> None:
        """A config that validated: status shows it valid; observers hear of any change."""
        self._state.config_valid = True
        self._state.config_errors = []
        self._state.config_warnings = [i.as_dict() for i in prepared.warnings]
        if self.latest_prepared is None or prepared.digest != self.latest_prepared.digest:
            event(log, logging.INFO, "config.changed", digest=prepared.digest[:12])
            self.latest_prepared = prepared
            self._emit("config_changed", prepared)

    def _stop_all(self) -> None:
        for proc in (self._pending, self._current):
            if proc is not None and not proc.stopping:
                proc.stopping = True
                proc.drain(self.settings.stop_timeout)
                self._timer(self.settings.stop_timeout + 2, "force_kill", proc.generation)

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _fail(self, message: str) -> None:
        self._state.sidecar_state = "error"
        self._state.error = message
        event(log, logging.ERROR, "sidecar.error", error=message)
        self._emit("error", message)
        self._resolve_waiters(error=message)
        if self._current is None and self._pending is None:
            self._close_listener()

    def _set_stopped(self) -> None:
        self._state.sidecar_state = "stopped"
        self._close_listener()
        for f in self._stop_waiters:
            if not f.done():
                f.set_result(self._sidecar_dict())
        self._stop_waiters.clear()

    def _resolve_waiters(self, error: str | None = None) -> None:
        for f in self._waiters:
            if f.done():
                continue
            if error:
                f.set_exception(RuntimeError(error))
            else:
                f.set_result(self._sidecar_dict())
        self._waiters.clear()

    # -- sidecar events -------------------------------------------------------------------
    def _proc(self, gen: int) -> SidecarProcess | None:
        for p in (self._pending, self._current, *self._draining.values()):
            if p is not None and p.generation == gen:
                return p
        return None

    def _on_sidecar(self, ev: SidecarEvent) -> None:
        kind = ev.payload.get("event")
        proc = self._proc(ev.generation)
        if kind == "ready" and proc is not None and proc is self._pending:
            self._promote(proc)
        elif kind == "exited" and proc is not None:
            self._on_exit(proc, ev.payload.get("returncode"))
            self._emit("load", ev.generation, None)
        elif kind == "start_limit" and proc is not None and proc is self._pending:
            # The guard kills the tree right after this event; the exit event follows it.
            limit_mb = self._start_limits(proc.prepared)[0]  # type: ignore[attr-defined]
            proc.start_failure = (
                f"the sidecar grew past {limit_mb} MB while starting "
                f"({ev.payload.get('rss_mb')} MB; {MEMORY_KEY} in config.yaml)"
            )
        elif kind == "request":
            self._emit("request", ev.payload)
        elif kind == "load" and proc is not None:
            self._emit("load", ev.generation, ev.payload.get("in_flight"))

    def _promote(self, proc: SidecarProcess) -> None:
        self._cancel_generation_timer("ready_timeout", proc.generation)
        old = self._current
        self._current, self._pending = proc, None
        if old is not None:
            old.draining = True
            self._draining[old.generation] = old
            old.drain(self.settings.drain_timeout)
            self._timer(self.settings.drain_timeout + 5, "force_kill", old.generation)
        prepared: Prepared = proc.prepared  # type: ignore[attr-defined]
        self._last_good = prepared
        self._applied_digest = prepared.apply_digest
        self._state.sidecar_state = "running"
        self._state.error = None
        self._state.apply_error = None
        self._state.applied_at = time.time()
        event(
            log,
            logging.INFO,
            "sidecar.ready",
            pid=proc.pid,
            port=self._state.port,
            generation=proc.generation,
            swapped=old is not None,
        )
        self._resolve_waiters()
        self._emit("ready", proc.pid)

    def _cancel_generation_timer(self, name: str, gen: int) -> None:
        self._timers = [
            t for t in self._timers if not (t[2].name == name and t[2].generation == gen)
        ]
        heapq.heapify(self._timers)

    def _on_exit(self, proc: SidecarProcess, rc: int | None) -> None:
        gen = proc.generation
        self._cancel_generation_timer("ready_timeout", gen)
        self._cancel_generation_timer("force_kill", gen)
        self._state.last_output = proc.tail[-20:]
        if gen in self._draining:
            del self._draining[gen]
            event(log, logging.INFO, "sidecar.drained", pid=proc.pid, returncode=rc)
            return
        if proc is self._pending:
            self._pending = None
            if proc.stopping:
                pass
            elif proc.start_failure and self._current is not None:
                msg = (
                    f"the new config did not start: {proc.start_failure}; still serving "
                    "the previous config"
                )
                self._state.apply_error = msg
                event(
                    log, logging.ERROR, "config.rollback", returncode=rc, reason=proc.start_failure
                )
                self._resolve_waiters(error=msg)
            elif proc.start_failure:
                # The same config would hit the same limit again: no restart loop.
                self._fail(
                    f"the sidecar did not start: {proc.start_failure}; not restarting: "
                    "raise the limit or fix config.yaml, then save it or run "
                    "`litellm-bridge start`"
                )
            elif self._current is not None:
                msg = (
                    f"the new config did not start (exit code {rc}); still serving the "
                    "previous one. Last output: " + " | ".join(proc.tail[-5:])
                )
                self._state.apply_error = msg
                event(log, logging.ERROR, "config.rollback", returncode=rc)
                self._resolve_waiters(error=msg)
            else:
                self._crashed(proc, rc)
        elif proc is self._current:
            self._current = None
            if proc.stopping or not self._desired_running:
                event(log, logging.INFO, "sidecar.stopped", pid=proc.pid, returncode=rc)
            else:
                self._crashed(proc, rc)
        if self._current is None and self._pending is None and not self._desired_running:
            self._set_stopped()

    def _crashed(self, proc: SidecarProcess, rc: int | None) -> None:
        delay = self.policy.record(self.clock())
        tail = proc.tail[-10:]
        event(log, logging.ERROR, "sidecar.crashed", pid=proc.pid, returncode=rc)
        self._emit("crashed", rc, delay is None)
        if delay is None:
            self._fail(
                f"crash loop: the sidecar exited {self.policy.recent} times within "
                f"{self.policy.window:.0f} s; not restarting. Last output: " + " | ".join(tail)
            )
            return
        self._state.sidecar_state = "crashed"
        self._state.error = f"sidecar exited with code {rc}; restarting in {delay:.0f} s"
        self._state.restarts += 1
        self._timer(delay, "restart")

    # -- timers --------------------------------------------------------------------------
    def _on_timer(self, t: Timer) -> None:
        if t.name == "restart":
            if self._desired_running and self._current is None and self._pending is None:
                self._state.sidecar_state = "restarting"
                self._launch(reload_config=False)
        elif t.name == "ready_timeout":
            proc = self._proc(t.generation)
            if proc is not None and proc is self._pending and not proc.ready:
                timeout = self._start_limits(proc.prepared)[1]  # type: ignore[attr-defined]
                event(log, logging.ERROR, "sidecar.ready_timeout", pid=proc.pid, timeout=timeout)
                proc.start_failure = (
                    f"the sidecar was not ready within {timeout:g} s ({READY_KEY} in config.yaml)"
                )
                proc.kill_soon(grace=2)  # its exit event handles rollback / error
        elif t.name == "force_kill":
            proc = self._proc(t.generation)
            if proc is not None and proc.alive():
                proc.kill_soon(grace=1)

    # -- files and token ------------------------------------------------------------------
    def _on_files_changed(self) -> None:
        try:
            prepared = self._prepare(self.paths, self.secrets)
        except ConfigInvalid as exc:
            self._state.config_valid = False
            self._state.config_errors = [i.as_dict() for i in exc.issues]
            event(log, logging.ERROR, "config.invalid", errors=exc.summary())
            self._emit("config_invalid", exc.issues)
            return
        # Every bridge: key reaches its observers here (the token refresher takes bridge.iam
        # and bridge.notify_before live), whether or not the sidecar needs a new process.
        self._accept(prepared)
        if prepared.apply_digest == self._applied_digest:
            # The sidecar already runs exactly this: nothing to swap, and an earlier failed
            # apply is moot once the file is back to what is served.
            self._state.apply_error = None
            if self._pending is not None and self._current is not None:
                self._pending.stopping = True  # a newer edit went back: drop the one starting
                self._pending.kill_soon(grace=2)
                self._pending = None
                self._resolve_waiters()
            return
        if self._desired_running:
            if SOCKET_HANDOFF and self._current is not None and prepared.port == self._state.port:
                self._launch(reload_config=True, swap=True)
            else:
                self._stop_all()
                self._last_good = prepared
                if self._current is None and self._pending is None:
                    self._launch(reload_config=False)
                else:
                    self._timer(self.settings.stop_timeout + 3, "restart")
        else:
            self._last_good = prepared

    def _on_token(self, ev: TokenChanged) -> None:
        self._token = (ev.token, ev.expires_at)
        REDACTOR.add(ev.token)
        for p in (self._current, self._pending, *self._draining.values()):
            if p is not None:
                p.set_token(ev.token, ev.expires_at)

    # -- shutdown -----------------------------------------------------------------------
    def _on_shutdown(self, ev: Shutdown) -> None:
        self._desired_running = False
        procs = [p for p in (self._pending, self._current, *self._draining.values()) if p]
        for p in procs:
            p.stopping = True
        for p in procs:
            p.kill(grace=self.settings.stop_timeout)
        self._pending = self._current = None
        self._draining.clear()
        self._state.sidecar_state = "stopped"
        self._close_listener()
        self._resolve_waiters(error="the agent is shutting down")
        self._running = False
        self._publish()
        self._output.close()
        ev.reply.set_result(True)

    # -- snapshots ----------------------------------------------------------------------
    def _sidecar_dict(self) -> dict[str, Any]:
        s = self._state
        pid = self._current.pid if self._current else (self._pending.pid if self._pending else None)
        return {
            "state": s.sidecar_state,
            "pid": pid,
            "host": HOST,
            "port": s.port,
            "url": f"http://{HOST}:{s.port}",
            "restarts": s.restarts,
            "error": s.error,
            # The generation serving traffic; a config being applied shows up as "pending".
            "generation": self._current.generation if self._current else self._generation,
            "pending": (
                {"pid": self._pending.pid, "generation": self._pending.generation}
                if self._pending and self._current
                else None
            ),
            "last_output": s.last_output if s.sidecar_state == "error" else [],
        }

    def _config_dict(self) -> dict[str, Any]:
        s = self._state
        return {
            "path": str(self.paths.config_file),
            "valid": s.config_valid,
            "errors": s.config_errors,
            # Problems applied around (e.g. an env entry left out of the sidecar env).
            "warnings": s.config_warnings,
            "apply_error": s.apply_error,
            "applied_at": s.applied_at,
        }

    def _build_snapshot(self) -> dict[str, Any]:
        return {
            "agent": {
                "pid": os.getpid(),
                "version": __version__,
                "home": str(self.paths.config_dir.parent),
            },
            "sidecar": self._sidecar_dict(),
            "config": self._config_dict(),
            "token": dict(self._state.token),
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
