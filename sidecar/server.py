"""The uvicorn server of the sidecar: ready event, graceful drain, signal handling."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from types import FrameType

import uvicorn

from sidecar import metrics, wire
from sidecar.asgi import BridgeApp
from sidecar.channel import CHANNEL, DEFAULT_DRAIN_TIMEOUT, StdinChannel
from sidecar.events import EVENTS

# After the drain wait, what uvicorn may still spend on leftover connections and tasks.
_FINAL_GRACE_SECONDS = 1


def _log(message: str) -> None:
    print(f"litellm-bridge-sidecar: {message}", file=sys.stderr, flush=True)


class SidecarServer(uvicorn.Server):
    """A uvicorn server that reports readiness and drains without resetting connections."""

    def __init__(
        self, config: uvicorn.Config, app: BridgeApp, channel: StdinChannel = CHANNEL
    ) -> None:
        super().__init__(config)
        self.bridge_app = app
        self.channel = channel
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_task: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        await super().startup(sockets=sockets)  # type: ignore[arg-type]
        if self.should_exit or not self.started:
            return
        self._loop = asyncio.get_running_loop()
        EVENTS.emit_now(wire.READY, pid=os.getpid())
        self.channel.set_drain_handler(self._drain_from_thread)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # SIGTERM/SIGINT drain like a stdin drain request; a second one stops at once.
        if self._drain_task is not None or self._loop is None:
            self.should_exit = True
            self.force_exit = self._drain_task is not None
            return
        self._start_drain(DEFAULT_DRAIN_TIMEOUT)

    def _drain_from_thread(self, timeout: float) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._start_drain, timeout)

    def _start_drain(self, timeout: float) -> None:
        if self._drain_task is None:
            self._drain_task = asyncio.ensure_future(self.drain(timeout))

    async def drain(self, timeout: float) -> None:
        """Stop accepting, close connections politely, wait for them (bounded), then exit."""
        started = time.monotonic()
        self.bridge_app.draining = True
        EVENTS.emit(wire.DRAINING, timeout=timeout)
        # Closes only this process's copy of the listening socket (the fd it inherited):
        # the agent's socket stays open and keeps accepting for a successor.
        for server in getattr(self, "servers", []):
            server.close()
        state = self.server_state
        # Idle keep-alive connections are left alone: closing one races with its client
        # sending the next request on it (the reset stock uvicorn causes). Their next
        # response says "Connection: close", or uvicorn's keep-alive timeout ends them.
        while time.monotonic() - started < timeout:
            if not state.connections and not state.tasks:
                break
            await asyncio.sleep(0.05)
        await metrics.wait_pending(max(0.0, min(2.0, timeout - (time.monotonic() - started))))
        left = len(state.connections)
        if left:
            _log(f"drain timeout after {timeout:.0f} s with {left} connection(s) still open")
        self.config.timeout_graceful_shutdown = _FINAL_GRACE_SECONDS
        self.should_exit = True
