"""Wire metrics and the error summary into a running agent.

Observers run on the core thread and only append to in-memory structures; the saving of
``errors.json`` happens on this extension's own thread. (Registering secrets with the log
redactor is ``tray_agent.logs.secret_feed``'s job.)
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from tray_agent.logs.errors import (
    ERRORS_FILE,
    ErrorSummary,
    ErrorTap,
    classify_request,
    read_saved,
)
from tray_agent.logs.setup import event
from tray_agent.metrics.inflight import open_connections
from tray_agent.metrics.store import MetricsStore
from tray_agent.seams import ExtensionHost

log = logging.getLogger("tray_agent.metrics")

SAVE_INTERVAL = 5.0
# Control methods answered by this extension.
CONTROL_METHODS = ("metrics", "errors")


class MetricsLink:
    """Runtime extension: ``start()``/``stop()``; answers ``metrics`` and ``errors``."""

    def __init__(self, rt: ExtensionHost) -> None:
        self.rt = rt
        self.metrics = MetricsStore()
        self.errors = ErrorSummary()
        self.errors.load(read_saved(self._errors_path))
        self._tap = ErrorTap(self.errors)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._worker, name="metrics", daemon=True)
        self._load: dict[int, int] = {}
        self._exited: set[int] = set()
        agent = rt.agent
        agent.on("request", self._on_request)
        agent.on("load", self._on_load)
        rt.handlers["metrics"] = lambda params: self.summary()
        rt.handlers["errors"] = lambda params: self.errors.entries()
        rt.status_extras["errors"] = self.errors.entries
        # The tray's headline (requests in the last minute) comes with every status poll.
        rt.status_extras["requests"] = self.metrics.headline

    @property
    def _errors_path(self) -> Path:
        return self.rt.paths.data_dir / ERRORS_FILE

    # -- what others call ------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The metrics dict (``litellm-bridge metrics --json``, the Status dialog)."""
        sc = self.rt.agent.snapshot()["sidecar"]
        pids = [p for p in (sc.get("pid"), (sc.get("pending") or {}).get("pid")) if p]
        if pids and sc.get("state") == "running":
            self.metrics.set_in_flight(connections=open_connections(pids, int(sc["port"])))
        else:
            self.metrics.set_in_flight(connections=0)
        return self.metrics.summary()

    # -- observers (core thread: no blocking) ----------------------------------------
    def _on_request(self, payload: dict[str, Any]) -> None:
        self.metrics.record(payload)
        kind = classify_request(payload)
        if kind is not None:
            detail = (
                f"{payload.get('route')} model={payload.get('model')} "
                f"status={payload.get('status')}"
                + (f" error={payload.get('error')}" if payload.get("error") else "")
            )
            self.errors.add(kind, detail)

    def _on_load(self, generation: int, in_flight: int | None) -> None:
        """Requests in flight per sidecar generation (a swap has two serving at once)."""
        if in_flight is None:
            self._load.pop(generation, None)
            self._exited.add(generation)
        elif generation not in self._exited:
            self._load[generation] = in_flight
        self.metrics.set_in_flight(requests=sum(self._load.values()))

    # -- own thread ------------------------------------------------------------------
    def _worker(self) -> None:
        while not self._stop.wait(SAVE_INTERVAL):
            self._save_if_changed()
        self._save_if_changed()

    def _save_if_changed(self) -> None:
        if not self.errors.changed.is_set():
            return
        self.errors.changed.clear()
        try:
            self.errors.save(self._errors_path)
        except OSError as exc:
            event(log, logging.WARNING, "metrics.save_failed", error=str(exc))

    def start(self) -> None:
        logging.getLogger("tray_agent").addHandler(self._tap)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        logging.getLogger("tray_agent").removeHandler(self._tap)
