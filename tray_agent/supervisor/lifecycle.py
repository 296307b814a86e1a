"""The sidecar's life as one state machine: launch, ready, swap, rollback, drain, crash, stop.

Everything that decides what happens to a sidecar process lives here; the agent core owns
the thread, the queue and the timers, and hands each event to ``Lifecycle``. Like honcho's
``Manager``, the machine never creates a process or reads the time itself: the process
constructor (``spawn``), the clocks and the timer service are injected, so tests replay
scripted event histories through a fake sidecar and a fake clock, no process involved.

A sidecar is a *generation*: the config it was started with, its role (``pending`` while it
starts, ``current`` while it serves, ``draining`` once a successor serves), and why the agent
ended its start, if it did. Nothing is attached to the process object.

Kills never block the caller: ``kill_soon`` ends a process tree on a thread of its own, and
its exit arrives as an ``exited`` event like any other.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tray_agent import wire
from tray_agent.config.issues import ConfigInvalid
from tray_agent.config.prepare import Prepared
from tray_agent.logs.redact import REDACTOR
from tray_agent.logs.setup import event
from tray_agent.supervisor.generation import (
    HOST,
    MEMORY_KEY,
    READY_KEY,
    Generation,
    Settings,
    SidecarStatus,
    Spawn,
    Timers,
    Told,
    Waiting,
    start_limits,
    status_dict,
)
from tray_agent.supervisor.policy import CrashPolicy
from tray_agent.supervisor.ports import PortBusyError
from tray_agent.supervisor.sidecar import SpawnSpec

__all__ = ["HOST", "Generation", "Lifecycle", "Settings", "SidecarStatus"]

log = logging.getLogger("tray_agent.core")

# Timer names the machine schedules through its host and gets back in ``on_timer``.
RESTART = "restart"
READY_TIMEOUT = "ready_timeout"
FORCE_KILL = "force_kill"
SHUTDOWN_BACKSTOP = "shutdown_backstop"


@dataclass
class Lifecycle:
    """The sidecar state machine. Every method runs on the host's one thread."""

    settings: Settings
    policy: CrashPolicy
    spawn: Spawn
    # Validates and renders the files; raises ConfigInvalid (the host records which).
    prepare: Callable[[], Prepared]
    timers: Timers
    clock: Callable[[], float]  # monotonic: crash windows
    wall: Callable[[], float]  # epoch seconds: applied_at
    bind: Callable[[str, int], socket.socket]
    # Writes the effective config (0600, atomically) and returns its path.
    write_config: Callable[[str], Path]
    master_key: Callable[[], str]
    # emit(name, *args): "ready"(pid), "crashed"(returncode, gave_up), "error"(message),
    # "load"(generation, None) once a generation exited.
    emit: Callable[..., None]
    # Whether a successor can take over the listening socket while its predecessor serves.
    socket_handoff: bool = True

    status: SidecarStatus = field(default_factory=SidecarStatus)
    desired_running: bool = False
    current: Generation | None = None
    pending: Generation | None = None
    draining: dict[int, Generation] = field(default_factory=dict)
    generation: int = 0
    last_good: Prepared | None = None
    applied_digest: str | None = None
    _listener: socket.socket | None = None
    waiting: Waiting = field(default_factory=Waiting)
    told: Told = field(default_factory=Told)
    _health_failures: int = 0
    _on_shut: Callable[[], None] | None = None

    @property
    def listener(self) -> socket.socket | None:
        """The socket every sidecar of this agent serves on (None while none is bound)."""
        return self._listener

    def drop_listener(self) -> None:
        """Let go of the socket without stopping anything (an agent that handed over)."""
        self._close_listener()

    # -- commands --------------------------------------------------------------------------
    def start(self, reply: Future[Any]) -> None:
        self.desired_running = True
        if self.status.state == "error":
            self.policy.reset()
            self.status.error = None
        if self.current is not None and self.pending is None:
            reply.set_result(self.as_dict())
            return
        self.waiting.start.append(reply)
        if self.pending is None:
            self._launch(reload_config=True)

    def stop(self, reply: Future[Any]) -> None:
        self.desired_running = False
        self.timers.cancel(RESTART)
        self._stop_all()
        if self.current is None and self.pending is None:
            self._set_stopped()
            reply.set_result(self.as_dict())
        else:
            self.waiting.stop.append(reply)

    def restart(self, reply: Future[Any]) -> None:
        self.desired_running = True
        self.policy.reset()
        self.status.error = None
        self.waiting.start.append(reply)
        if self.socket_handoff and self.current is not None:
            self._launch(reload_config=True)
        else:
            self._stop_all()
            if self.current is None and self.pending is None:
                self._launch(reload_config=True)

    def forget_applied(self) -> None:
        """The next valid config is applied even if it equals what runs (``reload``)."""
        self.applied_digest = None

    def apply(self, prepared: Prepared) -> None:
        """A saved config that validated: swap to it, or remember it while stopped."""
        if prepared.apply_digest == self.applied_digest:
            # The sidecar already runs exactly this: nothing to swap, and an earlier failed
            # apply is moot once the file is back to what is served.
            self.status.apply_error = None
            if self.pending is not None and self.current is not None:
                self._end(self.pending)  # a newer edit went back: drop the one starting
                self.pending = None
                self.waiting.started(self.as_dict())
            return
        if not self.desired_running:
            self.last_good = prepared
            return
        if self.socket_handoff and self.current is not None and prepared.port == self.status.port:
            self._launch(reload_config=True)
            return
        self._stop_all()
        self.last_good = prepared
        if self.current is None and self.pending is None:
            self._launch(reload_config=False)
        else:
            self.timers.schedule(self.settings.stop_timeout + 3, RESTART)

    def set_token(self, token: str | None, expires_at: float | None) -> None:
        self.told.token = (token, expires_at)
        self.told.send_token(self.generations())

    def set_policy(self, enforced: dict[str, Any] | None) -> None:
        """The organization policy every sidecar enforces, now and from its start."""
        self.told.policy = enforced
        self.told.send_policy(self.generations())

    def set_usage(self, usage: dict[str, Any] | None) -> None:
        """Quota usage as the agent counted it, for every sidecar's quota check."""
        self.told.usage = usage
        self.told.send_usage(self.generations())

    def set_audit(self, blocked: str | None) -> None:
        """Why the required audit log cannot be written (None: it can): sidecars refuse
        model requests with 503 meanwhile."""
        self.told.audit_blocked = blocked
        self.told.send_audit(self.generations())

    def health(self, generation: int | None, reason: str | None) -> None:
        """A liveness probe result for the serving sidecar: kill it after N failures."""
        g = self.current
        if g is None or g.number != generation:
            return
        if reason is None:
            self._health_failures = 0
            return
        self._health_failures += 1
        event(
            log,
            logging.WARNING,
            "sidecar.unhealthy",
            pid=g.pid,
            reason=reason,
            consecutive=self._health_failures,
        )
        if self._health_failures >= self.settings.health_failures and g.proc.alive():
            self._health_failures = 0
            event(log, logging.ERROR, "sidecar.hung", pid=g.pid)
            g.proc.kill_soon(grace=2)  # its exit event goes through the crash path

    def health_target(self) -> tuple[int, str] | None:
        """(generation, url) of the sidecar serving now, for the probe thread."""
        if self.current is None or self.status.state != "running":
            return None
        return self.current.number, f"http://{HOST}:{self.status.port}"

    def shutdown(self, done: Callable[[], None], drain: bool = False) -> None:
        """End every sidecar (TERM, then KILL after the stop timeout) and call ``done`` once
        all have exited, or at the latest a little after the stop timeout. ``drain``: let
        their requests finish as a swap does (up to the drain timeout) -- an agent handing
        over to its successor, whose sidecar already serves."""
        self.desired_running = False
        self.timers.cancel(RESTART)
        self._on_shut = done
        gens = self.generations()
        wait = self.settings.drain_timeout if drain else self.settings.stop_timeout
        for g in gens:
            g.stopping = True
            if drain:
                g.proc.drain(wait)
            else:
                g.proc.kill_soon(grace=wait)
        if not gens:
            self._finish_shutdown()
        else:
            self.timers.schedule(wait + 5, SHUTDOWN_BACKSTOP)

    # -- events ----------------------------------------------------------------------------
    def on_event(self, generation: int, payload: dict[str, Any]) -> None:
        """A lifecycle event from a sidecar: ready, start limit reached, exited."""
        kind = payload.get("event")
        g = self._find(generation)
        if g is None:
            return
        if kind == wire.READY and g is self.pending and not g.stopping:
            self._promote(g)
        elif kind == wire.START_LIMIT and g is self.pending:
            # The guard kills the tree right after this event; the exit event follows it.
            limit_mb = self.start_limits(g.prepared)[0]
            g.start_failure = (
                f"the sidecar grew past {limit_mb} MB while starting "
                f"({payload.get('rss_mb')} MB; {MEMORY_KEY} in config.yaml)"
            )
        elif kind == wire.EXITED:
            self._on_exit(g, payload.get("returncode"))
            self.emit("load", generation, None)

    def on_timer(self, name: str, generation: int) -> None:
        if name == RESTART:
            if self.desired_running and self.current is None and self.pending is None:
                self.status.state = "restarting"
                self._launch(reload_config=False)
        elif name == READY_TIMEOUT:
            g = self._find(generation)
            if g is not None and g is self.pending and not g.proc.ready:
                timeout = self.start_limits(g.prepared)[1]
                event(log, logging.ERROR, "sidecar.ready_timeout", pid=g.pid, timeout=timeout)
                g.start_failure = (
                    f"the sidecar was not ready within {timeout:g} s ({READY_KEY} in config.yaml)"
                )
                g.proc.kill_soon(grace=2)  # its exit event handles rollback / error
        elif name == FORCE_KILL:
            g = self._find(generation)
            if g is not None and g.proc.alive():
                g.proc.kill_soon(grace=1)
        elif name == SHUTDOWN_BACKSTOP:
            self._finish_shutdown()

    # -- status ----------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return status_dict(self.status, self.current, self.pending, self.generation)

    def start_limits(self, prepared: Prepared) -> tuple[int, float]:
        """(memory ceiling in MB, ready timeout in s): bridge.sidecar, else the settings."""
        return start_limits(prepared, self.settings)

    # -- launching and swapping ------------------------------------------------------------
    def _launch(self, reload_config: bool) -> None:
        prepared = self.last_good
        if reload_config or prepared is None:
            try:
                prepared = self.prepare()
            except ConfigInvalid as exc:
                if self.current is not None or self.last_good is None:
                    if self.current is None:
                        self._fail(f"config invalid: {exc.summary()}")
                    else:
                        self.waiting.failed(f"config invalid: {exc.summary()}")
                    return
                prepared = self.last_good
        REDACTOR.add_all(prepared.secret_values)
        if not self._listen(prepared.port):
            return
        if self.pending is not None:
            self._end(self.pending)
            self.pending = None
        memory_mb, ready_timeout = self.start_limits(prepared)
        config_path = self.write_config(prepared.effective_yaml)
        self.generation += 1
        number = self.generation
        spec = SpawnSpec(
            config_path=config_path,
            master_key=self.master_key(),
            inject=prepared.inject,
            env=prepared.env,
            host=HOST,
            port=prepared.port,
            max_start_memory_mb=memory_mb,
        )
        listener = self._listener if self.socket_handoff else None
        try:
            proc = self.spawn(number, spec, listener)
        except (OSError, ValueError) as exc:  # ValueError: e.g. a NUL byte in an env value
            self._fail(f"cannot start the sidecar: {exc}")
            return
        g = Generation(number, proc, prepared)
        self.told.everything(proc)
        self.pending = g
        if self.current is None:
            was_crash = self.status.state in ("crashed", "restarting")
            self.status.state = "restarting" if was_crash else "starting"
        self.timers.schedule(ready_timeout, READY_TIMEOUT, number)

    def _listen(self, port: int) -> bool:
        """Own the listening socket for ``port``; False (and the error shown) if we cannot."""
        if self._listener is not None and self.status.port == port:
            return True
        if self.current is not None and self.status.port != port:
            # A port change cannot share the socket: stop the old one first.
            self._stop_all()
            self._close_listener()
        try:
            self._listener = self.bind(HOST, port)
            self.status.port = port
        except PortBusyError as exc:
            self.status.port = port  # status names the port that is not ours
            self._fail(str(exc))
            return False
        except OSError as exc:
            self._fail(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}")
            return False
        return True

    def _promote(self, g: Generation) -> None:
        self.timers.cancel(READY_TIMEOUT, g.number)
        old = self.current
        g.role = "current"
        self.current, self.pending = g, None
        if old is not None:
            old.role = "draining"
            self.draining[old.number] = old
            old.proc.drain(self.settings.drain_timeout)
            self.timers.schedule(self.settings.drain_timeout + 5, FORCE_KILL, old.number)
        self.last_good = g.prepared
        self.applied_digest = g.prepared.apply_digest
        self.status.state = "running"
        self.status.error = None
        self.status.apply_error = None
        self.status.applied_at = self.wall()
        event(
            log,
            logging.INFO,
            "sidecar.ready",
            pid=g.pid,
            port=self.status.port,
            generation=g.number,
            swapped=old is not None,
        )
        self.waiting.started(self.as_dict())
        self.emit("ready", g.pid)

    def _on_exit(self, g: Generation, rc: int | None) -> None:
        self.timers.cancel(READY_TIMEOUT, g.number)
        self.timers.cancel(FORCE_KILL, g.number)
        self.status.last_output = g.proc.tail[-20:]
        if g.number in self.draining:
            del self.draining[g.number]
            event(log, logging.INFO, "sidecar.drained", pid=g.pid, returncode=rc)
            if self._on_shut is not None and not self.generations():
                self._finish_shutdown()
            return
        if g is self.pending:
            self.pending = None
            if not g.stopping:
                self._start_failed(g, rc)
        elif g is self.current:
            self.current = None
            if g.stopping or not self.desired_running:
                event(log, logging.INFO, "sidecar.stopped", pid=g.pid, returncode=rc)
            else:
                self._crashed(g, rc)
        if self._on_shut is not None:
            if not self.generations():
                self._finish_shutdown()
            return
        if self.current is None and self.pending is None and not self.desired_running:
            self._set_stopped()

    def _start_failed(self, g: Generation, rc: int | None) -> None:
        """A sidecar that exited before it was ready: roll back, give up, or a crash."""
        if g.start_failure and self.current is not None:
            msg = (
                f"the new config did not start: {g.start_failure}; still serving "
                "the previous config"
            )
            self.status.apply_error = msg
            event(log, logging.ERROR, "config.rollback", returncode=rc, reason=g.start_failure)
            self.waiting.failed(msg)
        elif g.start_failure:
            # The same config would hit the same limit again: no restart loop.
            self._fail(
                f"the sidecar did not start: {g.start_failure}; not restarting: "
                "raise the limit or fix config.yaml, then save it or run "
                "`litellm-bridge start`"
            )
        elif self.current is not None:
            msg = (
                f"the new config did not start (exit code {rc}); still serving the "
                "previous one. Last output: " + " | ".join(g.proc.tail[-5:])
            )
            self.status.apply_error = msg
            event(log, logging.ERROR, "config.rollback", returncode=rc)
            self.waiting.failed(msg)
        else:
            self._crashed(g, rc)

    def _crashed(self, g: Generation, rc: int | None) -> None:
        delay = self.policy.record(self.clock())
        tail = g.proc.tail[-10:]
        event(log, logging.ERROR, "sidecar.crashed", pid=g.pid, returncode=rc)
        self.emit("crashed", rc, delay is None)
        if delay is None:
            self._fail(
                f"crash loop: the sidecar exited {self.policy.recent} times within "
                f"{self.policy.window:.0f} s; not restarting. Last output: " + " | ".join(tail)
            )
            return
        self.status.state = "crashed"
        self.status.error = f"sidecar exited with code {rc}; restarting in {delay:.0f} s"
        self.status.restarts += 1
        self.timers.schedule(delay, RESTART)

    # -- helpers ---------------------------------------------------------------------------
    def generations(self) -> list[Generation]:
        """Every live generation: the one starting, the one serving, those draining."""
        return [g for g in (self.pending, self.current, *self.draining.values()) if g]

    def _find(self, number: int) -> Generation | None:
        return next((g for g in self.generations() if g.number == number), None)

    def _end(self, g: Generation) -> None:
        """Stop a sidecar on purpose, without waiting for it."""
        g.stopping = True
        g.proc.kill_soon(grace=2)

    def _stop_all(self) -> None:
        for g in (self.pending, self.current):
            if g is not None and not g.stopping:
                g.stopping = True
                g.proc.drain(self.settings.stop_timeout)
                self.timers.schedule(self.settings.stop_timeout + 2, FORCE_KILL, g.number)

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _fail(self, message: str) -> None:
        self.status.state = "error"
        self.status.error = message
        event(log, logging.ERROR, "sidecar.error", error=message)
        self.emit("error", message)
        self.waiting.failed(message)
        if self.current is None and self.pending is None:
            self._close_listener()

    def _set_stopped(self) -> None:
        self.status.state = "stopped"
        self._close_listener()
        # A start or restart still waiting (a stop came while it started) gets its answer.
        self.waiting.failed("stopped before the sidecar was ready")
        self.waiting.stopped(self.as_dict())

    def _finish_shutdown(self) -> None:
        done, self._on_shut = self._on_shut, None
        if done is None:
            return
        self.timers.cancel(SHUTDOWN_BACKSTOP)
        self.pending = self.current = None
        self.draining.clear()
        self.status.state = "stopped"
        self._close_listener()
        self.waiting.failed("the agent is shutting down")
        self.waiting.stopped(self.as_dict())
        done()
