"""Wire metrics, the error summary and secret registration into a running agent.

Observers run on the core thread and only append to in-memory structures; the saving of
``errors.json`` and keyring reads happen on this extension's own thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from tray_agent.envref import ref_name, resolve_ref
from tray_agent.logs.errors import (
    ERRORS_FILE,
    ErrorSummary,
    ErrorTap,
    classify_request,
    read_saved,
)
from tray_agent.logs.redact import REDACTOR
from tray_agent.logs.setup import event
from tray_agent.metrics.inflight import open_connections
from tray_agent.metrics.store import MetricsStore

log = logging.getLogger("tray_agent.metrics")

SAVE_INTERVAL = 5.0
# Control methods answered by this extension.
CONTROL_METHODS = ("metrics", "errors")
SECRET_PARAMS = ("password", "token", "secret", "value")


class MetricsLink:
    """Runtime extension: ``start()``/``stop()``; answers ``metrics`` and ``errors``."""

    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.metrics = MetricsStore()
        self.errors = ErrorSummary()
        self.errors.load(read_saved(self._errors_path))
        self._tap = ErrorTap(self.errors)
        self._stop = threading.Event()
        self._token_changed = threading.Event()
        self._thread = threading.Thread(target=self._worker, name="metrics", daemon=True)
        self._last_expiry: object = None
        self._load: dict[int, int] = {}
        self._exited: set[int] = set()
        agent = rt.agent
        agent.on("request", self._on_request)
        agent.on("load", self._on_load)
        agent.on("config_changed", self._on_config)
        agent.subscribe(self._on_snapshot)
        rt.handlers["metrics"] = lambda params: self.summary()
        rt.handlers["errors"] = lambda params: self.errors.entries()
        extras = getattr(rt, "status_extras", None)
        if isinstance(extras, dict):
            extras["errors"] = self.errors.entries
        self._wrap_secret_handlers()

    @property
    def _errors_path(self) -> Any:
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

    def _on_config(self, prepared: Any) -> None:
        REDACTOR.add_all(getattr(prepared, "secret_values", []) or [])
        iam = getattr(prepared, "iam", None)
        secret_ref = getattr(iam, "client_secret", None)
        env = getattr(prepared, "env", {}) or {}
        if ref_name(secret_ref) is not None:
            value = resolve_ref(secret_ref, env)
            REDACTOR.add_basic_auth(
                str(getattr(iam, "client_id", "")), value if isinstance(value, str) else None
            )

    def _on_snapshot(self, snap: dict[str, Any]) -> None:
        expiry = (snap.get("token") or {}).get("expires_at")
        if expiry != self._last_expiry:
            self._last_expiry = expiry
            self._token_changed.set()

    def _wrap_secret_handlers(self) -> None:
        """Register secrets that arrive over the control channel before anything can log them."""
        for method, fn in list(self.rt.handlers.items()):
            if method in CONTROL_METHODS:
                continue

            def wrapped(params: dict[str, Any], _fn: Any = fn) -> Any:
                for key in SECRET_PARAMS:
                    value = params.get(key)
                    if isinstance(value, str):
                        REDACTOR.add(value)
                return _fn(params)

            self.rt.handlers[method] = wrapped

    # -- own thread ------------------------------------------------------------------
    def _register_stored_secrets(self) -> None:
        store = self.rt.secrets
        for name in ("master-key", "token", "refresh-token", "iam-password"):
            try:
                REDACTOR.add(store.get(name))
            except Exception as exc:  # a locked keyring must not stop metrics
                event(log, logging.DEBUG, "metrics.keyring_unavailable", error=str(exc))
                return

    def _worker(self) -> None:
        self._register_stored_secrets()
        while not self._stop.wait(SAVE_INTERVAL):
            if self._token_changed.is_set():
                self._token_changed.clear()
                self._register_stored_secrets()
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
