"""What goes into an audit line: the fields of each event, never content or a secret.

Request events come from the sidecars' ``request`` events (``sidecar/metrics.py``): ids,
who, which model and route, the client tool, status, tokens, latency, streaming and the
policy's decision -- never a prompt, a response, a header or a key. Every string value
passes the log redactor as well, so a secret that reached a field by mistake is masked.

With ``audit.hash_identifiers`` the employee ID and the project are written as
``hmac-sha256:<hex>`` keyed with a per-installation salt from the OS keyring;
``litellm-bridge audit hash VALUE`` turns a known value into the same form for a search.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _random
from collections.abc import Mapping
from typing import Any, Protocol

from tray_agent.logs.redact import redact

SALT_NAME = "audit-id-salt"
HASH_PREFIX = "hmac-sha256:"
MAX_TEXT = 300  # any one string value
IDENTIFIER_FIELDS = ("employee_id", "project")  # hashed when the policy says so
REQUEST_FIELDS = ("request_id", "route", "client", "status", "latency_ms", "stream",
                  "tokens_in", "tokens_out", "error")  # fmt: skip


class _Secrets(Protocol):
    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...


_CONTROL = dict.fromkeys(
    [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029], "?"
)  # C0, DEL, C1 and the Unicode line/paragraph separators: a field stays one line anywhere


def clean(value: Any) -> Any:
    """A JSON-safe, bounded, redacted copy of a field value, without control characters."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, Mapping):
        return {str(k)[:100]: clean(v) for k, v in list(value.items())[:50]}
    if isinstance(value, list | tuple):
        return [clean(v) for v in list(value)[:50]]
    return redact(str(value)).translate(_CONTROL)[:MAX_TEXT]


class Identifiers:
    """Employee IDs and projects as written: plain, or salted HMACs when the policy asks."""

    def __init__(self, secrets: _Secrets | None) -> None:
        self._secrets = secrets
        self._salt: bytes | None = None
        self.hashed = False

    def salt(self) -> bytes:
        if self._salt is None:
            value = self._secrets.get(SALT_NAME) if self._secrets is not None else None
            if not value:
                value = _random.token_hex(32)
                if self._secrets is not None:
                    self._secrets.set(SALT_NAME, value)
            self._salt = bytes.fromhex(value)
        return self._salt

    def digest(self, value: str) -> str:
        mac = hmac.new(self.salt(), value.encode("utf-8"), hashlib.sha256).hexdigest()
        return HASH_PREFIX + mac

    def __call__(self, value: Any) -> Any:
        if value is None or not self.hashed:
            return clean(value)
        if isinstance(value, Mapping):
            return {str(k): self(v) for k, v in value.items()}
        return self.digest(str(value))

    def apply(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``fields`` with the identifier fields in the form the log keeps them."""
        return {k: self(v) if k in IDENTIFIER_FIELDS else clean(v) for k, v in fields.items()}


def request_fields(
    payload: Mapping[str, Any], employee_id: str | None, project: Mapping[str, Any] | None
) -> dict[str, Any]:
    """One ``request`` audit event from a sidecar's ``request`` event (identifiers plain:
    ``Identifiers.apply`` hashes them on the way into the log)."""
    fields: dict[str, Any] = {
        "employee_id": employee_id,
        "project": dict(project) if project else None,
        "model": clean(payload.get("model")),
    }
    for key in REQUEST_FIELDS:
        if key in payload:
            fields[key] = clean(payload.get(key))
    refused = payload.get("refused")
    fields["decision"] = f"refused:{clean(refused)}" if refused else "allowed"
    return fields
