"""One sidecar process: spawn with the shared socket, capture output, read events, stop it.

The agent talks to it over stdin (JSON lines: token updates, drain) and hears from it on a
dedicated events pipe (``ready``, per-request metrics). Closing stdin -- including when the
agent dies -- makes the sidecar exit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tray_agent import wire
from tray_agent.logs.setup import SidecarLog, event
from tray_agent.platform import IS_WINDOWS, handoff
from tray_agent.supervisor import proctree, startguard
from tray_agent.testhooks import hook_env
from tray_agent.wire import FAST_PATH_ENV, PASSED_THROUGH

log = logging.getLogger("tray_agent.supervisor")

EventCallback = Callable[[int, dict[str, Any]], None]

LOOPBACK_NO_PROXY = ("127.0.0.1", "localhost", "::1")
__all__ = ["FAST_PATH_ENV", "PASSED_THROUGH", "SidecarProcess", "SpawnSpec", "sidecar_command"]


def sidecar_command() -> list[str]:
    """The frozen sidecar next to the frozen agent, else ``python -m sidecar``.

    ``LITELLM_BRIDGE_SIDECAR_CMD`` (a test hook, ignored by a frozen build) replaces it.
    """
    override = hook_env("LITELLM_BRIDGE_SIDECAR_CMD")
    if override:
        import shlex

        return shlex.split(override)
    if getattr(sys, "frozen", False):
        exe = "litellm-bridge-sidecar.exe" if IS_WINDOWS else "litellm-bridge-sidecar"
        here = Path(sys.executable).resolve().parent
        for candidate in (here / exe, here.parent / "sidecar" / exe, here / "sidecar" / exe):
            if candidate.exists():
                return [str(candidate)]
        return [str(here / exe)]
    return [sys.executable, "-m", "sidecar"]


def with_no_proxy(env: dict[str, str]) -> dict[str, str]:
    """Make sure NO_PROXY/no_proxy cover loopback so a corporate proxy cannot capture it."""
    for key in ("NO_PROXY", "no_proxy"):
        parts = [p.strip() for p in env.get(key, "").split(",") if p.strip()]
        for host in LOOPBACK_NO_PROXY:
            if host not in parts:
                parts.append(host)
        env[key] = ",".join(parts)
    return env


@dataclass
class SpawnSpec:
    config_path: Path
    master_key: str
    inject: dict[str, Any]
    env: Mapping[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 4000
    # Resident memory the process tree may reach before "ready" (None: no ceiling).
    max_start_memory_mb: int | None = None


class SidecarProcess:
    """A started sidecar; ``generation`` tells successive ones apart in events."""

    def __init__(
        self,
        generation: int,
        spec: SpawnSpec,
        listener: socket.socket | None,
        output: SidecarLog,
        on_event: EventCallback,
    ) -> None:
        self.generation = generation
        self.spec = spec
        self._output = output
        self._on_event = on_event
        self._stdin_lock = threading.Lock()
        self.ready = False
        self.draining = False
        self.stopping = False
        # Why the agent ended this sidecar's start (a start limit), for status; set by the core.
        self.start_failure: str | None = None
        self._guard: startguard.StartGuard | None = None

        env = dict(os.environ)
        for k in list(env):
            if k.startswith("LITELLM_BRIDGE_") and k not in PASSED_THROUGH:
                env.pop(k)
        env.update(spec.env)
        env.update(
            {
                wire.CONFIG_ENV: str(spec.config_path),
                wire.MASTER_KEY_ENV: spec.master_key,
                wire.INJECT_ENV: json.dumps(spec.inject),
                wire.HOST_ENV: spec.host,
                wire.PORT_ENV: str(spec.port),
                "PYTHONUNBUFFERED": "1",
            }
        )
        with_no_proxy(env)
        command = sidecar_command()
        # -- integrity (tray_agent/integrity): a frozen agent runs only the signed sidecar.
        # IntegrityError is an OSError, which the core turns into the error state.
        if getattr(sys, "frozen", False):
            from tray_agent.integrity.verify import IntegrityError, verify_sidecar

            try:
                verify_sidecar(command[0])
            except IntegrityError as exc:  # a named event: the audit log records it
                event(log, logging.ERROR, "sidecar.integrity_refused", error=str(exc))
                raise
        # -- end integrity
        # The events pipe's write end and the listening socket, the OS's way (fds passed on
        # POSIX; on Windows an inheritable handle and socket.share over stdin).
        ev_r, ev_w = os.pipe()
        try:
            options = handoff.spawn_options(ev_w, listener)
            env.update(options.env)
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                close_fds=True,
                **options.popen,
                **proctree.popen_kwargs(),
            )
        except BaseException:
            os.close(ev_r)
            raise
        finally:
            os.close(ev_w)
        self.pid = self.proc.pid
        for message in handoff.after_spawn(self.proc, listener):
            self.send(message)
        self.created = proctree.started_at(self.pid)  # kills check it: pids are reused
        event(log, logging.INFO, "sidecar.spawned", pid=self.pid, generation=generation)
        limit = spec.max_start_memory_mb
        if limit:
            startguard.set_backstop(self.pid, limit)
            self._guard = startguard.StartGuard(self.pid, limit, self._over_memory)
            self._guard.start()
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, "out"), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, "err"), daemon=True),
            threading.Thread(target=self._events, args=(ev_r,), daemon=True),
            threading.Thread(target=self._waiter, daemon=True),
        ]
        for t in self._threads:
            t.start()

    # -- output and events -------------------------------------------------------------
    def _pump(self, stream: Any, name: str) -> None:
        for raw in iter(stream.readline, b""):
            self._output.write(self.pid, name, raw.decode("utf-8", "replace"))
        stream.close()

    def _events(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as fh:
            for raw in fh:
                msg = wire.parse_event(raw)
                if msg is not None:
                    if msg.get("event") == wire.READY:
                        self.ready = True
                        self._end_start_limits()
                    self._on_event(self.generation, msg)
        self._on_event(self.generation, {"event": wire.EVENTS_CLOSED})

    def _over_memory(self, rss_mb: int) -> None:
        """From the guard's thread, just before it kills the tree: tell the core why."""
        event(log, logging.ERROR, "sidecar.start_memory", pid=self.pid, rss_mb=rss_mb)
        self._on_event(
            self.generation,
            {"event": wire.START_LIMIT, "limit": "memory", "rss_mb": rss_mb},
        )

    def _end_start_limits(self) -> None:
        if self._guard is not None:
            self._guard.stop()
            startguard.lift_backstop(self.pid)

    def _waiter(self) -> None:
        rc = self.proc.wait()
        if self._guard is not None:
            self._guard.stop()
        for t in self._threads[:2]:
            t.join(timeout=2)
        self._on_event(self.generation, {"event": wire.EXITED, "returncode": rc})

    @property
    def tail(self) -> list[str]:
        return list(self._output.tail)

    # -- commands ------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> bool:
        """Write one JSON line to the sidecar's stdin; False if it is gone."""
        data = wire.encode(message)
        with self._stdin_lock:
            if self.proc.stdin is None or self.proc.stdin.closed:
                return False
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
                return True
            except (BrokenPipeError, OSError, ValueError):
                return False

    def set_token(self, token: str | None, expires_at: float | None) -> bool:
        return self.send(wire.token_message(token, expires_at))

    def set_policy(self, enforced: dict[str, Any] | None) -> bool:
        return self.send(wire.policy_message(enforced))

    def set_usage(self, usage: dict[str, Any] | None) -> bool:
        return self.send(wire.usage_message(usage))

    def set_audit(self, blocked: str | None) -> bool:
        return self.send(wire.audit_message(blocked))

    def drain(self, timeout: float) -> None:
        """Ask for a graceful drain; the sidecar exits by itself when done."""
        self.draining = True
        if not self.send(wire.drain_message(timeout)):
            self.kill_soon(grace=1)  # stdin is gone: end it without making the caller wait

    def alive(self) -> bool:
        return self.proc.poll() is None and proctree.is_alive(self.pid)

    def kill(self, grace: float = 10.0) -> int | None:
        """Stop the whole tree: TERM (which drains), then KILL after ``grace`` seconds.

        Callers that stop it on purpose set ``stopping`` first; a kill without it (e.g. a
        ready timeout) is handled as a failure.
        """
        rc = proctree.terminate_tree(self.proc, grace, self.created)
        with self._stdin_lock, contextlib.suppress(Exception):
            if self.proc.stdin:
                self.proc.stdin.close()
        return rc

    def kill_soon(self, grace: float = 2.0) -> None:
        """``kill`` on a thread of its own: the caller (the core thread) never waits for it.

        The exit is reported like any other, as an "exited" event.
        """
        threading.Thread(
            target=self.kill, args=(grace,), name=f"kill-{self.pid}", daemon=True
        ).start()
