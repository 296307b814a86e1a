"""Client side of the control channel."""

from __future__ import annotations

import json
import os
from multiprocessing.connection import Client
from typing import Any

from tray_agent.control.protocol import FAMILY, AgentNotRunning, ControlError
from tray_agent.paths import Paths


class ControlClient:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @classmethod
    def connect(cls, paths: Paths) -> ControlClient | None:
        """Connect to the agent of this home, or None when none is running."""
        address = paths.control_address
        if os.name != "nt" and not os.path.exists(address):
            return None
        try:
            conn = Client(address, family=FAMILY)
        except (FileNotFoundError, ConnectionRefusedError, OSError):
            return None
        return cls(conn)

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
