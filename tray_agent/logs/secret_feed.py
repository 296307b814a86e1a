"""Feed every secret the agent comes to know into the log redactor, before it can be logged.

Sources: the validated config's secret values (env entries marked secret, the IAM client
secret as a basic-auth pair), secret parameters of control requests (passwords, tokens, env
values), and the values held in the secret store (master key, tokens, IAM password). The
store is read on this extension's own thread, at start and whenever the token changes, so a
slow or locked keyring never blocks the core.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from tray_agent.envref import ref_name, resolve_ref
from tray_agent.logs.redact import REDACTOR
from tray_agent.logs.setup import event
from tray_agent.seams import ControlHandler, ExtensionHost

log = logging.getLogger("tray_agent.logs")

SECRET_PARAMS = ("password", "token", "secret", "value")
"""Control request parameters whose string values are secrets."""
STORED_SECRETS = ("master-key", "token", "refresh-token", "iam-password")
UNWRAPPED = ("metrics", "errors")
"""Control methods that never carry a secret (answered by the metrics extension)."""


class SecretFeed:
    """Runtime extension: ``start()``/``stop()``; registers secrets with ``REDACTOR``."""

    def __init__(self, rt: ExtensionHost) -> None:
        self.rt = rt
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._last_expiry: object = None
        self._thread = threading.Thread(target=self._worker, name="secret-feed", daemon=True)
        rt.agent.on("config_changed", self._on_config)
        rt.agent.subscribe(self._on_snapshot)
        self._wrap_handlers()

    # -- observers (core thread: no blocking) ----------------------------------------
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
            self._wake.set()

    def _wrap_handlers(self) -> None:
        """Register secrets that arrive over the control channel before anything can log them."""
        for method, fn in list(self.rt.handlers.items()):
            if method in UNWRAPPED:
                continue

            def wrapped(params: dict[str, Any], _fn: ControlHandler = fn) -> Any:
                for key in SECRET_PARAMS:
                    value = params.get(key)
                    if isinstance(value, str):
                        REDACTOR.add(value)
                return _fn(params)

            self.rt.handlers[method] = wrapped

    # -- own thread ------------------------------------------------------------------
    def _register_stored_secrets(self) -> None:
        store = self.rt.secrets
        for name in STORED_SECRETS:
            try:
                REDACTOR.add(store.get(name))
            except Exception as exc:  # a locked keyring must not stop the agent
                event(log, logging.DEBUG, "logs.keyring_unavailable", error=str(exc))
                return

    def _worker(self) -> None:
        self._register_stored_secrets()
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if not self._stop.is_set():
                self._register_stored_secrets()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=10)
