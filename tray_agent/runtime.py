"""Assemble a running agent: instance lock, logging, core thread, control channel, watcher."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

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
from tray_agent.single_instance import InstanceLock
from tray_agent.supervisor.health import HealthProbe

log = logging.getLogger("tray_agent.runtime")

# Commands answered without the core thread (they only read).
DIRECT = {"ping", "status", "key", "shutdown"}
LONG = {"start": 300.0, "restart": 300.0, "stop": 120.0}
# Keyring entry of the MAC key that authenticates the record of verified sidecar files.
INTEGRITY_RECORD_KEY = "integrity-record-key"


class Runtime:
    """Everything a running agent owns; ``serve()`` blocks until shutdown."""

    def __init__(self, paths: Paths, console_log: bool = True) -> None:
        self.paths = paths
        if POSIX_PERMISSIONS:
            os.umask(0o077)  # every file the agent writes is private to the user
        paths.ensure()
        self.lock = InstanceLock(paths.lock_file, str(paths.config_dir.parent))
        self.lock.acquire()
        configure_agent_logging(paths.agent_log, console=console_log)
        self.secrets = open_secret_store(paths.keyring_namespace)
        self._remember_verified_sidecar()
        self.agent = Agent(paths, self.secrets)
        self.stopped = threading.Event()
        self.extensions: list[Extension] = []
        self.control = ControlServer(paths.control_address, self.handle)
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
        self.control.start()
        self.watcher.start()
        self.health.start()
        event(
            log,
            logging.INFO,
            "agent.started",
            home=str(self.paths.config_dir.parent),
            keyring=self.secrets.description,
        )
        if autostart:
            self.agent.call("start")

    def serve(self, install_signals: bool = True) -> None:
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: self.stopped.set())
        while not self.stopped.wait(0.5):
            pass
        self.close()

    def close(self) -> None:
        event(log, logging.INFO, "agent.stopping")
        self.watcher.stop()
        self.health.stop()
        self.control.close()
        for ext in self.extensions:
            ext.stop()
        self.agent.shutdown()
        self.lock.release()
