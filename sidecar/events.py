"""JSON-line events for the agent, written to the inherited events pipe.

Writes go through one background thread so a slow reader never blocks the proxy's event loop;
if the agent stops reading, events are dropped rather than piling up.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from typing import Any

from sidecar.wire import event_line

_QUEUE_LIMIT = 10_000
_BATCH_LIMIT = 256


class EventWriter:
    """Writes one JSON object per line to a file descriptor; silent when none was given."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=_QUEUE_LIMIT)
        self._thread: threading.Thread | None = None
        self._broken = False

    def open(self, fd: int | None) -> None:
        self._fd = fd
        if fd is not None and self._thread is None:
            self._thread = threading.Thread(target=self._pump, name="sidecar-events", daemon=True)
            self._thread.start()

    @property
    def enabled(self) -> bool:
        return self._fd is not None and not self._broken

    def emit(self, event: str, **fields: Any) -> None:
        """Queue one event; drops it when the pipe is gone or the agent is not reading."""
        if not self.enabled:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(event_line(event, **fields))

    def emit_now(self, event: str, **fields: Any) -> None:
        """Write one event synchronously (used for "ready", which the agent waits for)."""
        if not self.enabled:
            return
        self._queue.join()
        self._write(event_line(event, **fields))

    def flush(self, timeout: float = 2.0) -> None:
        """Wait a little for queued events to reach the pipe."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        done.wait(timeout)

    def _pump(self) -> None:
        # Everything queued by the time the thread runs goes out in one write: under load
        # the proxy's loop queues a few events per request, and each write wakes the agent.
        while True:
            batch = [self._queue.get()]
            with contextlib.suppress(queue.Empty):
                while len(batch) < _BATCH_LIMIT:
                    batch.append(self._queue.get_nowait())
            try:
                self._write(b"".join(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(self, data: bytes) -> None:
        if self._fd is None or self._broken:
            return
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:
            self._broken = True


EVENTS = EventWriter()
