"""How long the sidecar takes to start: the current start's elapsed time and the last one's.

A start takes ~15 s on a slow machine. A bare "starting" for that long looks hung, so the
tray and ``litellm-bridge start`` show "6 s of ~15 s" instead: the elapsed time against the
last completed start, kept in ``start-times.json`` so it survives agent restarts.

Runtime extension: status gains ``start``: ``{"state", "since", "elapsed", "last_duration"}``
(``since``/``elapsed`` are None unless a start is under way).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tray_agent.fsutil import atomic_write

if TYPE_CHECKING:  # the CLI and the tray import this module for progress_text: keep it light
    from tray_agent.seams import ExtensionHost

log = logging.getLogger("tray_agent.core.startclock")

START_FILE = "start-times.json"
STARTING = ("starting", "restarting")
MAX_PLAUSIBLE = 3600.0  # a duration beyond an hour is a clock jump, not a start


def read_last_duration(path: Path) -> float | None:
    """The last completed start's duration in seconds from ``path`` (None: none known)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("last_duration") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 < value < MAX_PLAUSIBLE else None


def progress_text(start: dict[str, Any] | None) -> str | None:
    """``"6 s of ~15 s"`` (or ``"6 s"`` before any start completed); None when not starting."""
    if not start or start.get("elapsed") is None:
        return None
    elapsed = float(start["elapsed"])
    last = start.get("last_duration")
    if last:
        return f"{elapsed:.0f} s of ~{float(last):.0f} s"
    return f"{elapsed:.0f} s"


class StartClock:
    """Watches the sidecar state; ``status()`` is the ``start`` part of status."""

    def __init__(self, rt: ExtensionHost, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = rt.paths.data_dir / START_FILE
        self.clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None  # monotonic time the current start began
        self._wall_since: float | None = None
        self._state = "stopped"
        self._last = read_last_duration(self.path)
        rt.agent.subscribe(self._on_snapshot)
        rt.status_extras["start"] = self.status

    def _on_snapshot(self, snap: dict[str, Any]) -> None:
        """Core thread: only notes times; the file is written on a short-lived thread."""
        state = str((snap.get("sidecar") or {}).get("state") or "stopped")
        finished: float | None = None
        with self._lock:
            if state in STARTING and self._since is None:
                self._since, self._wall_since = self.clock(), time.time()
            elif state not in STARTING and self._since is not None:
                if state == "running":
                    finished = self.clock() - self._since
                    if 0 < finished < MAX_PLAUSIBLE:
                        self._last = finished
                self._since = self._wall_since = None
            self._state = state
        if finished is not None and 0 < finished < MAX_PLAUSIBLE:
            threading.Thread(target=self._save, args=(finished,), name="start-clock").start()

    def _save(self, duration: float) -> None:
        try:
            atomic_write(self.path, json.dumps({"last_duration": round(duration, 2)}) + "\n")
        except OSError as exc:  # WriteError names the file and what to do
            log.warning("start_clock.unsaved: %s", exc)

    def status(self) -> dict[str, Any]:
        with self._lock:
            since, wall, last, state = self._since, self._wall_since, self._last, self._state
        return {
            "state": state,
            "since": wall,
            "elapsed": None if since is None else round(self.clock() - since, 1),
            "last_duration": None if last is None else round(last, 1),
        }

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass
