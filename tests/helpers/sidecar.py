"""Launch a real sidecar the way the agent does, and talk to it.

The test process owns the listening socket (bound to 127.0.0.1, port 0) and hands its fd to
the sidecar, gives it an events pipe and a stdin pipe, and waits for the "ready" event.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HOOK_CALLBACK = "sidecar.bridge_hook.bridge_hook"

Event = dict[str, Any]


def new_master_key() -> str:
    return "sk-" + secrets.token_hex(24)


def chat_model(name: str, upstream_url: str, **extra: Any) -> dict[str, Any]:
    """A model entry for an OpenAI-compatible chat-only upstream (``upstream_url`` ends in /v1)."""
    return {
        "model_name": name,
        "litellm_params": {
            "model": f"hosted_vllm/{name}",
            "api_base": upstream_url,
            "api_key": "none",
            # /v1/responses is bridged to chat completions: the upstream has no Responses API.
            "use_chat_completions_api": True,
            **extra,
        },
    }


def mock_model(name: str, reply: str = "demo says hello") -> dict[str, Any]:
    """A model LiteLLM answers by itself (no upstream)."""
    return {
        "model_name": name,
        "litellm_params": {"model": f"openai/{name}", "mock_response": reply, "api_key": "none"},
    }


def write_effective_config(directory: Path, models: list[dict[str, Any]]) -> Path:
    """The effective config as the agent renders it: master key by reference, hook wired in."""
    config = {
        "model_list": models,
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
        "litellm_settings": {"callbacks": [HOOK_CALLBACK]},
        "router_settings": {"disable_cooldowns": True},
    }
    path = directory / "effective-config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@dataclass
class Sidecar:
    """A running sidecar process and its two pipes."""

    proc: subprocess.Popen[bytes]
    port: int
    master_key: str
    log_path: Path
    # The agent's socket: kept here so it stays open as long as the sidecar object lives.
    listen_socket: socket.socket | None = None
    events: list[Event] = field(default_factory=list)
    _events_cond: threading.Condition = field(default_factory=threading.Condition)
    _events_closed: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.master_key}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- events -----------------------------------------------------------------------------

    def _read_events(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as stream:
            for line in stream:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                with self._events_cond:
                    self.events.append(event)
                    self._events_cond.notify_all()
        with self._events_cond:
            self._events_closed = True
            self._events_cond.notify_all()

    def wait_event(self, predicate: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        """The first event (past or future) matching ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._events_cond:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if self._events_closed:
                    raise RuntimeError(f"events pipe closed first; sidecar log:\n{self.log()}")
                if remaining <= 0:
                    raise TimeoutError(f"no matching event in {timeout} s: {self.events}")
                self._events_cond.wait(remaining)

    def wait_ready(self, timeout: float = 90.0) -> Event:
        return self.wait_event(lambda e: e.get("event") == "ready", timeout)

    def wait_request_events(self, start: int, count: int, timeout: float = 10.0) -> list[Event]:
        """Wait until ``count`` request events exist after the first ``start`` ones."""
        self.wait_event(lambda _: len(self.request_events()) >= start + count, timeout=timeout)
        return self.request_events()[start:]

    def request_events(self) -> list[Event]:
        with self._events_cond:
            return [e for e in self.events if e.get("event") == "request"]

    # -- stdin ------------------------------------------------------------------------------

    def send(self, message: Mapping[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def send_token(
        self, token: str | None, expires_at: float | None, wait: float | None = 10.0
    ) -> None:
        """Send the current token; by default wait until the sidecar acknowledged it."""
        with self._events_cond:
            seen = sum(1 for e in self.events if e.get("event") == "token_applied")
        self.send({"type": "token", "token": token, "expires_at": expires_at})
        if wait is None:
            return
        deadline = time.monotonic() + wait
        with self._events_cond:
            while sum(1 for e in self.events if e.get("event") == "token_applied") <= seen:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._events_closed:
                    raise TimeoutError(f"token not acknowledged; sidecar log:\n{self.log()}")
                self._events_cond.wait(remaining)

    def drain(self, timeout: float = 30.0) -> None:
        self.send({"type": "drain", "timeout": timeout})

    def close_stdin(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """Close stdin (the sidecar exits on EOF); kill it if it does not."""
        with contextlib.suppress(BrokenPipeError):
            self.close_stdin()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def launch_sidecar(
    config_path: Path,
    *,
    master_key: str | None = None,
    inject: Mapping[str, Any] | None = None,
    extra_env: Mapping[str, str] | None = None,
    listen: socket.socket | None = None,
    log_path: Path | None = None,
    command: list[str] | None = None,
) -> Sidecar:
    """Start ``python -m sidecar`` with the agent's contract; does not wait for readiness."""
    sock = listen if listen is not None else listening_socket()
    key = master_key if master_key is not None else new_master_key()
    read_fd, write_fd = os.pipe()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LITELLM_BRIDGE_") and k not in ("DATABASE_URL",)
    }
    env.update(
        {
            "LITELLM_BRIDGE_CONFIG": str(config_path),
            "LITELLM_MASTER_KEY": key,
            "LITELLM_BRIDGE_LISTEN_FD": str(sock.fileno()),
            "LITELLM_BRIDGE_EVENTS_FD": str(write_fd),
            "LITELLM_BRIDGE_INJECT": json.dumps(dict(inject or {})),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env or {})
    log = log_path if log_path is not None else config_path.parent / "sidecar.log"
    with open(log, "ab") as log_file:
        proc = subprocess.Popen(
            command or [sys.executable, "-m", "sidecar"],
            stdin=subprocess.PIPE,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=PROJECT_ROOT,
            pass_fds=(sock.fileno(), write_fd),
        )
    os.close(write_fd)
    sidecar = Sidecar(
        proc=proc,
        port=sock.getsockname()[1],
        master_key=key,
        log_path=log,
        listen_socket=sock,
    )
    threading.Thread(
        target=sidecar._read_events, args=(read_fd,), name="sidecar-events-reader", daemon=True
    ).start()
    return sidecar
