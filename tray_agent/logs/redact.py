"""Redaction of secrets before anything reaches a log file, the console or a diagnostics zip.

Known secret values (master key, token, passwords, secret env values) are registered at
run time, together with the forms they take once quoted in JSON, URL-encoded or base64
inside an HTTP Basic header; patterns catch the rest (Authorization headers, bearer tokens,
``sk-`` keys, ``password=...``). ``os.environ/NAME`` references are names, not secrets, and
stay readable.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.parse
from collections.abc import Iterable

MASK = "[REDACTED]"
_MIN_SECRET_LEN = 6
_NOT_A_REFERENCE = r"(?!os\.environ/)(?!\[REDACTED\])"

_PATTERNS = [
    # Authorization / x-api-key style headers, in logs of requests or reprs of dicts.
    re.compile(
        r"(?i)((?:authorization|proxy-authorization|x-api-key|api[-_]key|x-goog-api-key|"
        r"master[-_]key)[\"']?\s*[:=]\s*[\"']?)" + _NOT_A_REFERENCE + r"(?:bearer\s+|basic\s+)?"
        r"[^\s\"',}]+"
    ),
    re.compile(r"(?i)(bearer\s+)" + _NOT_A_REFERENCE + r"[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]{8,}"),
    re.compile(r"(sk-)[A-Za-z0-9_-]{8,}"),
    # key: "value" / key='value' / "key": "value"
    re.compile(
        r"(?i)((?:password|passwd|secret|token|refresh_token|client_secret|access_token)"
        r"[\"']?\s*[:=]\s*[\"'])" + _NOT_A_REFERENCE + r"[^\"']{4,}(?=[\"'])"
    ),
    # key=value in URLs, form bodies and our own ``key=value`` log fields.
    re.compile(
        r"(?i)(\b(?:password|passwd|client_secret|refresh_token|access_token|api_key)=)"
        + _NOT_A_REFERENCE
        + r"[^\s&\"']{4,}"
    ),
]


def variants(value: str) -> set[str]:
    """The forms a secret takes once written into JSON, a URL or a form body."""
    out = {value}
    out.add(json.dumps(value)[1:-1])
    out.add(json.dumps(value, ensure_ascii=False)[1:-1])
    out.add(urllib.parse.quote(value, safe=""))
    out.add(urllib.parse.quote_plus(value))
    out.add(repr(value)[1:-1])
    return {v for v in out if len(v) >= _MIN_SECRET_LEN}


class Redactor:
    """Thread-safe set of secret values plus patterns; ``redact(text)`` masks all of them."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._sorted: list[str] = []
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        with self._lock:
            before = len(self._values)
            for v in values:
                if v and len(v) >= _MIN_SECRET_LEN:
                    self._values |= variants(v)
            if len(self._values) != before:
                self._sorted = sorted(self._values, key=len, reverse=True)

    def add_all(self, values: Iterable[str | None]) -> None:
        self.add(*values)

    def add_basic_auth(self, user: str, password: str | None) -> None:
        """A client id/secret pair as it appears in an HTTP Basic header."""
        if password:
            raw = f"{user}:{password}".encode()
            self.add(password, base64.b64encode(raw).decode())

    def known(self) -> int:
        with self._lock:
            return len(self._values)

    def redact(self, text: str) -> str:
        with self._lock:
            values = self._sorted
        for v in values:
            if v in text:
                text = text.replace(v, MASK)
        for pat in _PATTERNS:
            text = pat.sub(lambda m: m.group(1) + MASK, text)
        return text


REDACTOR = Redactor()


def redact(text: str) -> str:
    return REDACTOR.redact(text)
