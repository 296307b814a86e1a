"""Structured error summary: errors grouped by kind, with count, first/last seen and a hint.

Two sources feed it in a running agent: the agent's own log records (token renewals,
config problems, sidecar crashes and start failures are all logged as events) and the
sidecar's per-request events (upstream 401/5xx, refused requests). The summary is kept in
memory and saved to ``errors.json`` in the data directory, so ``doctor`` and
``diagnostics`` can show it without a running agent.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tray_agent.fsutil import atomic_write
from tray_agent.logs.redact import REDACTOR

ERRORS_FILE = "errors.json"
SIGN_IN = "sign in: litellm-bridge token login"

HINTS: dict[str, str] = {
    "iam_unreachable": "the IAM cannot be reached: check the network or VPN (renewals retry)",
    "iam_untrusted_ca": "set bridge.iam.ca_bundle to a PEM file with the company CA certificate",
    "iam_refused": f"the IAM refused the credentials or the session ended: {SIGN_IN}",
    "iam_error": "the IAM answered with an error or an unexpected body: check bridge.iam",
    "iam_config": "bridge.iam cannot be used as written: see `litellm-bridge config validate`",
    "token_expired": f"the internal token is missing or expired: {SIGN_IN}",
    "upstream_401": "the internal LLM API rejected the credentials: check the token "
    "(litellm-bridge token status) and the api_key env entry",
    "upstream_5xx": "the internal LLM API failed (HTTP 5xx); usually temporary, else tell "
    "its operators",
    "upstream_unreachable": "the internal LLM API cannot be reached or dropped the connection: "
    "check api_base and the network or VPN",
    "request_refused": "a client request was refused: check the model name and the API key "
    "(litellm-bridge key)",
    "policy_refused": "your organization's policy refused the request (model not allowed, "
    "rate limit or quota): litellm-bridge policy show",
    "client_key": "a client sent no API key or a wrong one: set it up again with "
    "litellm-bridge clients setup NAME (the key is what litellm-bridge key prints)",
    "sidecar_crash": "the proxy exited unexpectedly: litellm-bridge logs --component sidecar",
    "sidecar_start_failed": "the proxy did not start: litellm-bridge logs --component sidecar",
    "config_invalid": "config.yaml has errors: litellm-bridge config validate",
    "config_rejected": "a new config did not start; the previous one still serves: "
    "litellm-bridge logs --component sidecar",
    "port_busy": "another program uses the port: stop it or change bridge.port in config.yaml",
    "keyring": "the keyring cannot be used: unlock it, or see litellm-bridge doctor",
}


@dataclass
class ErrorKind:
    kind: str
    count: int
    first_seen: float
    last_seen: float
    hint: str
    last_detail: str | None = None


def classify_token_error(message: str) -> str:
    """The kind of a token renewal failure, from the IAM error's message."""
    text = message.lower()
    if "not trusted" in text or ("ca_bundle" in text and "certificate" in text):
        return "iam_untrusted_ca"
    if "cannot reach the iam" in text or "did not answer within" in text:
        return "iam_unreachable"
    if "refused" in text:
        return "iam_refused"
    if "no token to refresh" in text or "signing in again" in text or "expired" in text:
        return "token_expired"
    if "cannot load bridge.iam" in text or "no iam is configured" in text:
        return "iam_config"
    return "iam_error"


UPSTREAM_UNREACHABLE = (
    "APIConnectionError",
    "Timeout",
    "ConnectError",
    "ReadError",
    "RemoteProtocolError",
    "ConnectionError",
)


def _unreachable(error: str) -> bool:
    return any(word in error for word in UPSTREAM_UNREACHABLE)


def classify_request(payload: Mapping[str, Any]) -> str | None:
    """The kind of a failed request event, or None for a success."""
    status = payload.get("status")
    error = str(payload.get("error") or "")
    if payload.get("refused"):  # sidecar/policy: refused before anything went upstream
        return "policy_refused"
    if not isinstance(status, int) or isinstance(status, bool):
        return "upstream_unreachable" if error else None
    if status < 400:
        # A retried call that finally succeeded, or a stream that broke after it started.
        if not error:
            return None
        return "upstream_unreachable" if _unreachable(error) else "upstream_5xx"
    if status == 401:
        # The hook refuses before anything goes upstream (no exception class, or the
        # HTTPException it raises); LiteLLM maps an upstream 401 to AuthenticationError.
        if error == "ClientKeyRejected":  # sidecar/allowlist.py CLIENT_KEY_ERROR
            return "client_key"
        if "Authentication" in error:
            return "upstream_401"
        return "token_expired"
    if status >= 500:
        if _unreachable(error):
            return "upstream_unreachable"
        return "upstream_5xx"
    if status == 403:
        return "upstream_401"
    return "request_refused"


def classify_record(record: logging.LogRecord) -> tuple[str, str] | None:
    """``(kind, detail)`` for an agent log record that reports an error, else None."""
    if record.levelno < logging.WARNING:
        return None
    msg = record.getMessage()
    fields: dict[str, Any] = getattr(record, "fields", {}) or {}
    if record.name == "tray_agent.token" and msg.startswith("token: "):
        detail = msg.removeprefix("token: ")
        return classify_token_error(detail), detail
    if msg == "config.invalid":
        return "config_invalid", str(fields.get("errors", ""))
    if msg == "config.rollback":
        return "config_rejected", f"exit code {fields.get('returncode')}"
    if msg == "sidecar.crashed":
        return "sidecar_crash", f"pid {fields.get('pid')} exit code {fields.get('returncode')}"
    if msg == "sidecar.ready_timeout":
        return "sidecar_start_failed", "not ready in time"
    if msg == "sidecar.error":
        error = str(fields.get("error", ""))
        if "already in use" in error:
            return "port_busy", error
        if error.startswith(("crash loop", "config invalid")):
            return None  # already counted as crashes / config errors
        return "sidecar_start_failed", error
    if record.name == "tray_agent.secrets":
        return "keyring", msg
    return None


class ErrorSummary:
    """Thread-safe counts per kind; ``entries()`` is what ``status`` shows."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._kinds: dict[str, ErrorKind] = {}
        self._lock = threading.Lock()
        self.changed = threading.Event()

    def add(self, kind: str, detail: str | None = None, at: float | None = None) -> None:
        now = self.clock() if at is None else at
        clean = REDACTOR.redact(detail)[:300] if detail else None
        with self._lock:
            entry = self._kinds.get(kind)
            if entry is None:
                hint = HINTS.get(kind, "see litellm-bridge logs")
                self._kinds[kind] = ErrorKind(kind, 1, now, now, hint, clean)
            else:
                entry.count += 1
                entry.last_seen = max(entry.last_seen, now)
                entry.first_seen = min(entry.first_seen, now)
                if clean:
                    entry.last_detail = clean
        self.changed.set()

    def entries(self) -> list[dict[str, Any]]:
        """Most recent first."""
        with self._lock:
            items = [asdict(e) for e in self._kinds.values()]
        return sorted(items, key=lambda e: (-e["last_seen"], -e["count"]))

    def load(self, entries: list[dict[str, Any]]) -> None:
        with self._lock:
            for e in entries:
                try:
                    self._kinds[str(e["kind"])] = ErrorKind(
                        str(e["kind"]),
                        int(e["count"]),
                        float(e["first_seen"]),
                        float(e["last_seen"]),
                        str(e.get("hint") or HINTS.get(str(e["kind"]), "")),
                        e.get("last_detail"),
                    )
                except (KeyError, TypeError, ValueError):
                    continue

    def save(self, path: Path) -> None:
        data = {"saved_at": self.clock(), "errors": self.entries()}
        atomic_write(path, REDACTOR.redact(json.dumps(data, indent=2)) + "\n")


def read_saved(path: Path) -> list[dict[str, Any]]:
    """The summary last saved by an agent (empty when none)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


class ErrorTap(logging.Handler):
    """A logging handler that feeds the summary from the agent's own error records."""

    def __init__(self, summary: ErrorSummary) -> None:
        super().__init__(logging.WARNING)
        self.summary = summary

    def emit(self, record: logging.LogRecord) -> None:
        try:
            found = classify_record(record)
        except Exception:  # a log handler must never raise into the caller
            return
        if found is not None:
            self.summary.add(found[0], found[1], at=record.created)
