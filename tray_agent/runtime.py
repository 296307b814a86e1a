"""Assemble a running agent: instance lock, logging, core thread, control channel, watcher.

A runtime started to take over from a running agent (``update.takeover``: a restart into
a new version) starts its sidecar on the socket it was handed first and opens its control
channel and takes the instance lock only after the predecessor handed over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import psutil

from tray_agent.control.protocol import ControlError
from tray_agent.control.server import ControlServer
from tray_agent.core.agent import Agent
from tray_agent.core.events import FilesChanged
from tray_agent.core.watcher import FileWatcher
from tray_agent.logs.setup import configure_agent_logging, event
from tray_agent.paths import Paths
from tray_agent.platform import POSIX_PERMISSIONS
from tray_agent.seams import ControlHandler, Extension
from tray_agent.secrets import open_secret_store
from tray_agent.single_instance import AlreadyRunning, InstanceLock
from tray_agent.supervisor import proctree
from tray_agent.supervisor.health import HealthProbe
from tray_agent.supervisor.ports import bind_listener
from tray_agent.update.takeover import Takeover, TakeoverError, adopting

log = logging.getLogger("tray_agent.runtime")

LONG = {"start": 300.0, "restart": 300.0, "stop": 120.0}
# How long a predecessor waits, after ``handover``, for its successor's ``release``.
RELEASE_WAIT = 30.0
# A predecessor's ``handover`` waits for a token refresh under way (IAM timeout) at most.
HANDOVER_TIMEOUT = 90.0
# Keyring entry of the MAC key that authenticates the record of verified sidecar files.
INTEGRITY_RECORD_KEY = "integrity-record-key"


class Runtime:
    """Everything a running agent owns; ``serve()`` blocks until shutdown."""

    def __init__(
        self, paths: Paths, console_log: bool = True, takeover: Takeover | None = None
    ) -> None:
        self.paths = paths
        if POSIX_PERMISSIONS:
            os.umask(0o077)  # every file the agent writes is private to the user
        paths.ensure()
        self.lock = InstanceLock(paths.lock_file, str(paths.config_dir.parent))
        self.takeover = takeover
        if takeover is None:
            self.lock.acquire()
        else:  # the predecessor's own lock, inherited: no moment without a holder
            try:
                self.lock.adopt(takeover.lock_fd)
            except AlreadyRunning as exc:
                raise TakeoverError("the inherited instance lock is not this home's") from exc
        configure_agent_logging(paths.agent_log, console=console_log)
        self.secrets = open_secret_store(paths.keyring_namespace)
        self._remember_verified_sidecar()
        self.agent = Agent(paths, self.secrets, bind=adopting(takeover, bind_listener))
        # Run once a predecessor has handed over (re-read what it saved last).
        self.took_over: list[Callable[[], None]] | None = [] if takeover else None
        # Run on a predecessor when a successor takes over (give up one-agent duties), and
        # when that successor never released it (take them back).
        self.handing_over: list[Callable[[], None]] = []
        self.resumed: list[Callable[[], None]] = []
        self._handover_lock = threading.Lock()
        self._handing_over = False
        self._released = False
        self._resume_timer: threading.Timer | None = None
        self._successor: int | None = None
        self.stopped = threading.Event()
        # The command line a restart gives the successor (``run --quiet``, ``tray``, ...).
        self.argv: list[str] = sys.argv[1:]
        self.extensions: list[Extension] = []
        # Bound when opened: a successor must not take its predecessor's address early.
        self.control: ControlServer | None = None
        self.watcher = FileWatcher(
            [paths.config_file, paths.env_file],
            lambda changed: self.agent.post(FilesChanged(changed)),
        )
        self.handlers: dict[str, ControlHandler] = {}
        self.health = HealthProbe(
            self.agent.health_target,
            lambda gen, reason: self.agent.call("health", generation=gen, reason=reason),
            interval=self.agent.settings.health_interval,
        )
        # -- status extras (tray_agent/metrics): extensions add keys to the "status" answer,
        # e.g. "errors" (the error summary); each is a function returning a JSON value.
        self.status_extras: dict[str, Callable[[], Any]] = {}
        # -- end status extras

    def _remember_verified_sidecar(self) -> None:
        """A frozen agent keeps a keyring-authenticated record of the sidecar files it has
        hashed, so only the first launch after an install or update hashes them all."""
        if not getattr(sys, "frozen", False) or not self.secrets.persistent:
            return
        from tray_agent.integrity.verify import remember_verified

        try:
            key = self.secrets.get(INTEGRITY_RECORD_KEY)
            if key is None:
                key = secrets.token_hex(32)
                self.secrets.set(INTEGRITY_RECORD_KEY, key)
            remember_verified(self.paths.data_dir / "integrity-verified.json", bytes.fromhex(key))
        except Exception as exc:  # no record: every launch hashes every file
            log.warning("integrity record disabled: %s", exc)

    def handle(self, method: str, params: dict[str, Any]) -> Any:
        if method == "ping":
            return {"pid": self.agent.snapshot()["agent"]["pid"]}
        if method == "status":
            snap = self.agent.snapshot()
            # -- status extras
            for key, extra in self.status_extras.items():
                try:
                    snap[key] = extra()
                except Exception:
                    log.exception("runtime.status_extra_failed", extra={"fields": {"key": key}})
            # -- end status extras
            return snap
        if method == "key":
            return {"key": self.agent.key}
        if method == "shutdown":
            threading.Thread(target=self.stopped.set, daemon=True).start()
            return {"stopping": True}
        if method == "handover":
            return self._hand_over(params)
        if method == "release":
            return self._release()
        if method == "agent_restart":
            return self.restart_agent()
        if method in self.handlers:
            return self.handlers[method](params)
        fut = self.agent.call(method, **params)
        try:
            return fut.result(LONG.get(method, 60.0))
        except RuntimeError as exc:
            raise ControlError(str(exc)) from exc

    def start(self, autostart: bool = True) -> None:
        self.agent.start_thread()
        for ext in self.extensions:
            ext.start()
        if self.takeover is None:
            self._open_control()
        self.watcher.start()
        self.health.start()
        event(
            log,
            logging.INFO,
            "agent.started",
            home=str(self.paths.config_dir.parent),
            keyring=self.secrets.description,
            takeover_from=self.takeover.predecessor if self.takeover else None,
        )
        if self.takeover is not None:
            self._take_over(self.takeover)
        elif autostart:
            self.agent.call("start")

    def _open_control(self) -> None:
        self.control = ControlServer(self.paths.control_address, self.handle)
        self.control.start()

    def _take_over(self, takeover: Takeover) -> None:
        """Serve beside the predecessor, then relieve it (see ``update.takeover``). Raises
        TakeoverError with the predecessor untouched when this agent cannot serve.

        Two phases, so there is never a moment without an agent and never two: ``handover``
        makes the predecessor give up what only one agent may do (refresh the token, save
        the usage book, answer commands) while its sidecar keeps serving; ``release`` is
        the point of no return, accepted only while the predecessor has not taken its
        duties back (it does after ``RELEASE_WAIT``). Only after ``release`` succeeded does
        this agent take those duties up; if it fails, this agent leaves.
        """
        from tray_agent.control.client import ControlClient
        from tray_agent.control.protocol import ControlError

        if takeover.fd >= 0:  # the predecessor served: so do we, before it leaves
            try:
                self.agent.call("start").result(LONG["start"])
            except Exception as exc:
                raise TakeoverError(f"the new sidecar did not get ready: {exc}") from exc
        try:
            # The lock file still names the predecessor: while it lives, this waits for its
            # channel (one whose earlier successor died answers again after RELEASE_WAIT).
            client = ControlClient.connect(self.paths, wait=RELEASE_WAIT + 5)
        except (ControlError, OSError):
            client = None
        if client is None and proctree.is_alive(takeover.predecessor):
            raise TakeoverError("the running agent does not answer; it keeps serving")
        if client is not None:
            with client:
                try:
                    client.call("handover", timeout=HANDOVER_TIMEOUT, successor=os.getpid())
                    client.call("release", timeout=10)
                except (ControlError, OSError) as exc:
                    raise TakeoverError(f"the running agent did not hand over: {exc}") from exc
        # Released (or the predecessor is gone): the duties are ours now.
        for fn in self.took_over or []:
            try:
                fn()
            except Exception:
                log.exception("runtime.took_over_hook_failed")
        self.lock.record_pid()
        self._open_control()
        self.takeover = None
        event(log, logging.INFO, "agent.took_over", predecessor=takeover.predecessor)

    def _hand_over(self, params: dict[str, Any]) -> dict[str, Any]:
        """Phase one, on the predecessor: give up the duties only one agent may have (the
        sidecar keeps serving); back to normal unless ``release`` follows in time."""
        successor = params.get("successor")
        if not isinstance(successor, int) or not self._is_our_successor(successor):
            raise ControlError("handover: only the agent this one started may take over")
        with self._handover_lock:
            if self._handing_over:
                raise ControlError("handover: already handing over")
            self._handing_over = True
        event(log, logging.INFO, "agent.handing_over", successor=successor)
        for fn in self.handing_over:
            try:
                fn()
            except Exception as exc:  # e.g. a token refresh that did not end: keep serving
                log.exception("runtime.handing_over_hook_failed")
                self._resume()
                raise ControlError(f"handover: this agent cannot hand over now: {exc}") from exc
        if self.control is not None:  # the successor binds the address next
            self.control.close()
            self.control = None
        self._resume_timer = threading.Timer(RELEASE_WAIT, self._resume)
        self._resume_timer.daemon = True
        self._resume_timer.start()
        return {"handing_over": True, "pid": os.getpid()}

    def _release(self) -> dict[str, Any]:
        """Phase two: the successor has taken every duty: drain and leave."""
        with self._handover_lock:
            if not self._handing_over or self._resume_timer is None:
                raise ControlError("release: no hand-over under way")
            self._resume_timer.cancel()
            self._released = True
        # Nothing of ours may keep the successor waiting or hold the port while our sidecar
        # drains (up to the drain timeout): the lock and our copy of the socket go now.
        self.lock.release(handed_over=True)
        with contextlib.suppress(Exception):
            self.agent.call("drop_listener").result(10)
        threading.Thread(target=self.stopped.set, daemon=True).start()
        return {"stopping": True}

    def _resume(self) -> None:
        """The successor never released us (it died or stalled; a late ``release`` is then
        refused and it leaves): take the duties back."""
        with self._handover_lock:
            if self._released or not self._handing_over:
                return
            self._handing_over = False
            if self._resume_timer is not None:
                self._resume_timer.cancel()
        event(log, logging.WARNING, "agent.handover_abandoned")
        for fn in self.resumed:
            try:
                fn()
            except Exception:
                log.exception("runtime.resumed_hook_failed")
        if self.control is None:
            self._open_control()

    def _is_our_successor(self, pid: int) -> bool:
        """``pid`` is the successor we started or runs under it (the installed launcher
        starts the version as its child)."""
        spawned = self._successor
        if spawned is None:
            return False
        try:
            chain = [psutil.Process(pid), *psutil.Process(pid).parents()]
        except psutil.Error:
            return False
        return any(p.pid == spawned for p in chain)

    def restart_agent(self) -> dict[str, Any]:
        """Start a successor (the current version) that takes over without downtime; this
        agent leaves when the successor asks it to (``handover``)."""
        from tray_agent.update.takeover import SUPPORTED, start_successor

        if not SUPPORTED:
            raise ControlError("restarting the agent without downtime needs Linux or macOS")
        if not self.secrets.persistent:
            raise ControlError(
                "the token and the proxy key live only in this agent's memory (no keyring): "
                "a new agent could not serve them; stop and start the agent instead"
            )
        if self._handing_over or (
            self._successor is not None and proctree.is_alive(self._successor)
        ):
            raise ControlError("a hand-over to a new agent is already under way")
        lock_fd = self.lock.fileno()
        if lock_fd is None:
            raise ControlError("this agent does not hold its instance lock")
        # None while nothing serves: the successor then starts stopped, as this one stands.
        listener = self.agent.call("listener").result(10)
        try:
            pid = start_successor(
                listener, lock_fd, self.argv, self.paths.log_dir / "successor.log"
            )
        except (TakeoverError, OSError) as exc:
            raise ControlError(f"cannot start the new agent: {exc}") from exc
        self._successor = pid
        event(log, logging.INFO, "agent.restarting", successor=pid, serving=listener is not None)
        return {"successor": pid, "serving": listener is not None}

    def serve(self, install_signals: bool = True) -> None:
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: self.stopped.set())
        while not self.stopped.wait(0.5):
            pass
        self.close()

    def close(self) -> None:
        event(log, logging.INFO, "agent.stopping", handing_over=self._handing_over)
        self.watcher.stop()
        self.health.stop()
        if self.control is not None:  # (a successor that failed never opened its own)
            self.control.close()
        # The sidecars drain first: requests that finish meanwhile are still counted (usage,
        # metrics) and audited by the extensions, which stop (and save) after. Handing over,
        # they get the whole drain timeout, as in a swap: the successor already serves.
        self.agent.shutdown(drain=self._released)
        for ext in self.extensions:
            ext.stop()
        # A successor that did not make it leaves the lock file naming its predecessor.
        self.lock.release(handed_over=self._released or self.takeover is not None)
