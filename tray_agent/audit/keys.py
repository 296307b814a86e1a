"""The installation's audit signing key and the checkpoints it signs.

An Ed25519 key pair per installation: the private half in the OS keyring (secret store name
``KEY_NAME``), the public half beside the log in ``keys/<key id>.pub`` (one line, base64 of
the 32 raw bytes; the key id is the first 16 hex digits of its SHA-256) and in diagnostics.
A checkpoint signs "the log had ``count`` lines and its last one hashes to ``head``"; verify
checks each checkpoint against the key it names (never one key for all: a key that was
replaced still verifies the checkpoints of its own time, and only those).

What this proves: a change to lines that a checkpoint covers is detected by anyone who holds
the public key, unless they re-sign with the private key. The private key is in the user's
own keyring, so the user could; what they cannot undo is a checkpoint or export that already
left the machine (a SIEM, diagnostics sent to IT): keep exporting.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tray_agent.fsutil import atomic_write, read_bytes_capped

KEY_NAME = "audit-signing-key"
KNOWN_NAME = "audit-key-ids"  # every key id this installation made (a public file is not proof)
SEALED_NAME = "audit-sealed-head"  # "seq:hash" of the last checkpoint this installation wrote
KEYS_DIR = "keys"
_DOMAIN = b"litellm-bridge audit checkpoint v1\n"
# An export header is signed under its own domain: a checkpoint's signature can never be
# passed off as an export's, nor the other way round.
_EXPORT_DOMAIN = b"litellm-bridge audit export v1\n"
EXPORT_FIELDS = ("format", "first_seq", "prev", "last_seq", "head", "count", "since", "until",
                 "time", "host", "product_version", "key")  # fmt: skip


class _Secrets(Protocol):
    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...


def key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def checkpoint_message(count: int, head: str, time: str, kid: str) -> bytes:
    return _DOMAIN + f"{count}\n{head}\n{time}\n{kid}\n".encode("ascii")


def export_message(header: Mapping[str, Any]) -> bytes:
    """The bytes an export header's signature covers: ``EXPORT_FIELDS`` in order, one a
    line (``-`` for an open ``since``/``until``)."""
    values = ["-" if header.get(k) is None else str(header.get(k)) for k in EXPORT_FIELDS]
    if any("\n" in v for v in values):
        raise ValueError("an export header field holds a newline")
    return _EXPORT_DOMAIN + "".join(v + "\n" for v in values).encode("utf-8")


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey

    @property
    def public(self) -> bytes:
        return _raw(self.private.public_key())

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    @property
    def public_text(self) -> str:
        return base64.b64encode(self.public).decode("ascii")

    def sign(self, count: int, head: str, time: str) -> str:
        message = checkpoint_message(count, head, time, self.key_id)
        return base64.b64encode(self.private.sign(message)).decode("ascii")

    def sign_export(self, header: Mapping[str, Any]) -> str:
        """The signature of an export header (its ``key`` must be this key's id)."""
        if header.get("key") != self.key_id:
            raise ValueError("the export header names another key")
        return base64.b64encode(self.private.sign(export_message(header))).decode("ascii")


def known_key_ids(secrets: _Secrets) -> set[str]:
    """The key ids this installation made (from the keyring; a ``.pub`` beside the log can
    be dropped there by anyone who can write the folder)."""
    value = secrets.get(KNOWN_NAME) or ""
    return {kid for kid in value.split(",") if kid}


def sealed_head(secrets: _Secrets) -> tuple[int, str] | None:
    """(seq, hash) of the last checkpoint this installation wrote, or None."""
    value = secrets.get(SEALED_NAME) or ""
    seq, _, digest = value.partition(":")
    return (int(seq), digest) if seq.isdigit() and len(digest) == 64 else None


def public_key_file(audit_dir: Path, kid: str) -> Path:
    return audit_dir / KEYS_DIR / f"{kid}.pub"


def load_signer(secrets: _Secrets, audit_dir: Path, create: bool = True) -> Signer | None:
    """The installation's signer (made on first use when ``create``); its public half is
    (re)written beside the log. None without a key and without ``create``."""
    text = secrets.get(KEY_NAME)
    signer: Signer | None = None
    if text:
        try:
            signer = Signer(Ed25519PrivateKey.from_private_bytes(base64.b64decode(text)))
        except (ValueError, binascii.Error):
            signer = None  # unusable: a new key (the old public key still verifies its own)
    if signer is None:
        if not create:
            return None
        private = Ed25519PrivateKey.generate()
        raw = private.private_bytes_raw()
        secrets.set(KEY_NAME, base64.b64encode(raw).decode("ascii"))
        signer = Signer(private)
    known = known_key_ids(secrets)
    if signer.key_id not in known:
        secrets.set(KNOWN_NAME, ",".join([*sorted(known), signer.key_id]))
    target = public_key_file(audit_dir, signer.key_id)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(target, signer.public_text + "\n", mode=0o644)
    return signer


def read_public_key(path: Path) -> tuple[str, Ed25519PublicKey]:
    """(key id, key) of a ``.pub`` file; ``ValueError`` when it is not one."""
    try:
        raw = base64.b64decode(
            read_bytes_capped(path, 1024, "audit public key").strip(), validate=True
        )
        key = Ed25519PublicKey.from_public_bytes(raw)
    except (OSError, ValueError, binascii.Error) as exc:
        raise ValueError(f"{path}: not an audit public key ({exc})") from None
    return key_id(raw), key


def trusted_keys(audit_dir: Path | None, extra: Sequence[Path] = ()) -> dict[str, Ed25519PublicKey]:
    """Every public key beside the log (``audit_dir/keys``) and the ``extra`` files given."""
    found: dict[str, Ed25519PublicKey] = {}
    paths: list[Path] = list(extra)
    if audit_dir is not None:
        keys = audit_dir / KEYS_DIR
        with contextlib.suppress(OSError):
            paths += sorted(keys / n for n in os.listdir(keys) if n.endswith(".pub"))
    for path in paths:
        try:
            kid, key = read_public_key(path)
        except ValueError:
            continue
        found[kid] = key
    return found


def installation_keys(secrets: _Secrets, audit_dir: Path) -> dict[str, Ed25519PublicKey]:
    """The public keys beside the log that this installation made (all of them when the
    keyring names none, e.g. a keyring from before key ids were kept)."""
    keys = trusted_keys(audit_dir)
    known = known_key_ids(secrets)
    return {kid: key for kid, key in keys.items() if kid in known} if known else keys


def check_signature(
    keys: dict[str, Ed25519PublicKey], count: int, head: str, time: str, kid: str, sig: str
) -> str | None:
    """Why a checkpoint's signature does not hold (None when it does)."""
    key = keys.get(kid)
    if key is None:
        return f"signed with key {kid}, which is not a trusted audit key"
    try:
        key.verify(base64.b64decode(sig, validate=True), checkpoint_message(count, head, time, kid))
    except (InvalidSignature, ValueError, binascii.Error):
        return f"its signature does not match (key {kid})"
    return None


def check_export(keys: dict[str, Ed25519PublicKey], header: Mapping[str, Any]) -> str | None:
    """Why an export header's signature does not hold (None when it does)."""
    kid, sig = header.get("key"), header.get("sig")
    if not isinstance(kid, str) or not isinstance(sig, str):
        return "the export header has no key or signature"
    key = keys.get(kid)
    if key is None:
        return f"signed with key {kid}, which is not a trusted audit key"
    try:
        key.verify(base64.b64decode(sig, validate=True), export_message(header))
    except (InvalidSignature, ValueError, binascii.Error):
        return f"its signature does not match (key {kid})"
    return None
