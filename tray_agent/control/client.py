"""Client side of the control channel."""

from __future__ import annotations

import json
import time
from multiprocessing.connection import Client
from typing import Any

from tray_agent.control.protocol import FAMILY, AgentNotRunning, ControlError
from tray_agent.paths import Paths
from tray_agent.single_instance import InstanceLock

# How long a command waits for an agent that is starting (holds its lock, not yet listening).
STARTING_WAIT = 15.0


class ControlClient:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @classmethod
    def connect(cls, paths: Paths, wait: float = STARTING_WAIT) -> ControlClient | None:
        """Connect to the agent of this home, or None when none is running.

        An agent that holds the instance lock but does not listen yet is starting: wait for
        it (up to ``wait`` seconds) rather than report "not running", so a command never
        falls back to acting on the files behind a live agent's back.
        """
        address = paths.control_address
        deadline = time.monotonic() + wait
        while True:
            try:
                return cls(Client(address, family=FAMILY))
            except OSError:
                pid = InstanceLock.holder(paths.lock_file)
                if pid is None:
                    return None
                if time.monotonic() >= deadline:
                    who = f" (pid {pid})" if pid else ""
                    raise ControlError(
                        f"the agent{who} for {paths.config_dir.parent} is running but does "
                        f"not answer on {address}; see `litellm-bridge logs` or restart it"
                    ) from None
                time.sleep(0.2)

    @classmethod
    def require(cls, paths: Paths) -> ControlClient:
        client = cls.connect(paths)
        if client is None:
            raise AgentNotRunning(f"no agent is running for {paths.config_dir.parent}")
        return client

    def call(self, method: str, timeout: float = 120.0, **params: Any) -> Any:
        """Send one request and wait for its reply; raises ControlError on agent-side errors."""
        self._conn.send_bytes(json.dumps({"method": method, "params": params}).encode())
        if not self._conn.poll(timeout):
            raise ControlError(f"the agent did not answer {method!r} within {timeout:.0f} s")
        reply = json.loads(self._conn.recv_bytes())
        if not reply.get("ok"):
            raise ControlError(str(reply.get("error", "unknown error")))
        return reply.get("result")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
