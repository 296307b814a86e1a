"""Redaction of secrets before anything reaches a log file or the console.

Known secret values (master key, token, passwords, secret env values) are registered at
run time; patterns catch the rest (Authorization headers, bearer tokens, ``sk-`` keys).
"""

from __future__ import annotations

import re
import threading

MASK = "[REDACTED]"
_MIN_SECRET_LEN = 6

_PATTERNS = [
    # Authorization / x-api-key style headers, in logs of requests or reprs of dicts.
    re.compile(
        r"(?i)((?:authorization|proxy-authorization|x-api-key|api[-_]key|x-goog-api-key)"
        r"[\"']?\s*[:=]\s*[\"']?)(?:bearer\s+|basic\s+)?[^\s\"',}]+"
    ),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(sk-)[A-Za-z0-9_-]{8,}"),
    re.compile(
        r"(?i)((?:password|passwd|secret|token|refresh_token|client_secret)"
        r"[\"']?\s*[:=]\s*[\"'])[^\"']{4,}(?=[\"'])"
    ),
]


class Redactor:
    """Thread-safe set of secret values plus patterns; ``redact(text)`` masks all of them."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        with self._lock:
            for v in values:
                if v and len(v) >= _MIN_SECRET_LEN:
                    self._values.add(v)

    def redact(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for v in values:
            if v in text:
                text = text.replace(v, MASK)
        for pat in _PATTERNS:
            text = pat.sub(lambda m: m.group(1) + MASK, text)
        return text


REDACTOR = Redactor()


def redact(text: str) -> str:
    return REDACTOR.redact(text)
