"""The last good policy, kept in the user's data dir so a broken policy never unlocks anything.

When the machine policy is valid it is saved here; when it later turns invalid or is refused,
this copy stays in force (with none, ``LOCKED_DOWN`` applies). The record holds the merged
policy document, its sources, the SHA-256 of its canonical body and an HMAC-SHA-256 keyed
with a random key from the secret store (``policy-record-key``).

What that defends against: a torn or corrupted file (the SHA-256), and a user or a tool of
theirs editing the file to loosen the policy while the real one is broken (the MAC: the key
is not in the data dir). It does not stop a user who reads their own keyring entry and forges
a record; deleting the record only makes things stricter (locked down).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tray_agent import formats, strictjson
from tray_agent.fsutil import atomic_write

log = logging.getLogger("tray_agent.policy")

RECORD_FILE = "policy-last-good.json"
MAC_KEY_NAME = "policy-record-key"
VERSION = formats.POLICY_RECORD.current
MAX_RECORD_BYTES = 4 << 20


class _Secrets(Protocol):
    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...


@dataclass(frozen=True)
class LastGood:
    document: dict[str, Any]
    sources: list[str]
    origins: dict[str, str]
    saved_at: float


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def mac_key_from(store: _Secrets | None, create: bool) -> bytes | None:
    """The record's MAC key (created on first use when ``create``); None without a store."""
    if store is None:
        return None
    try:
        value = store.get(MAC_KEY_NAME)
        if value is None and create:
            value = secrets.token_hex(32)
            store.set(MAC_KEY_NAME, value)
        return bytes.fromhex(value) if value else None
    except Exception as exc:  # no keyring: no last good record this run
        log.warning("policy record key unavailable: %s", exc)
        return None


class LastGoodStore:
    def __init__(self, path: Path, mac_key: bytes | None) -> None:
        self.path = path
        self._key = mac_key

    def save(self, document: dict[str, Any], sources: list[str], origins: dict[str, str]) -> None:
        if self._key is None:
            return
        current = self.load()
        if current is not None and current.document == document and current.sources == sources:
            return
        body: dict[str, Any] = {
            "version": VERSION,
            "policy": document,
            "sources": sources,
            "origins": origins,
            "saved_at": time.time(),
        }
        canonical = _canonical(body)
        record = {
            **body,
            "sha256": hashlib.sha256(canonical).hexdigest(),
            "mac": hmac.new(self._key, canonical, hashlib.sha256).hexdigest(),
        }
        try:
            atomic_write(self.path, strictjson.dumps(record, indent=2) + "\n")
        except OSError as exc:
            log.warning("cannot save the last good policy: %s", exc)

    def check(self) -> tuple[LastGood | None, str | None]:
        """The record and None, or None and why it is not usable (None, None: no record)."""
        try:
            raw = self.path.read_bytes()[: MAX_RECORD_BYTES + 1]
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            return None, f"unreadable: {exc}"
        try:
            record = json.loads(raw)
            body = {k: v for k, v in record.items() if k not in ("sha256", "mac")}
            canonical = _canonical(body)
        except Exception:  # anything (deep nesting: RecursionError) means "not usable"
            return None, "not a policy record"
        if not hmac.compare_digest(
            str(record.get("sha256", "")), hashlib.sha256(canonical).hexdigest()
        ):
            return None, "corrupted (SHA-256 mismatch)"
        if self._key is None:
            return None, "cannot be verified (no key in the secret store)"
        mac = hmac.new(self._key, canonical, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(str(record.get("mac", "")), mac):
            return None, "was not written by this agent (MAC mismatch)"
        try:
            # A cache under this user's MAC key: an older format would be stepped forward
            # here and signed again on the next save; a newer one is never misread.
            body = formats.migrated(body, formats.POLICY_RECORD.name, self.path)
        except formats.FormatError as exc:
            return None, str(exc).removeprefix(f"{self.path} ")
        if not isinstance(body.get("policy"), dict):
            return None, "has an unknown format"
        return (
            LastGood(
                document=body["policy"],
                sources=[str(s) for s in body.get("sources") or []],
                origins={str(k): str(v) for k, v in (body.get("origins") or {}).items()},
                saved_at=float(body.get("saved_at") or 0),
            ),
            None,
        )

    def load(self) -> LastGood | None:
        record, problem = self.check()
        if problem:
            log.warning("last good policy %s %s: not used", self.path, problem)
        return record
