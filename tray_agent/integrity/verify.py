"""Check the sidecar's files against the signed manifest before it is launched.

A first check hashes every sidecar file (in parallel; hashlib releases the GIL). Later
launches -- restarts, config swaps, and (with a verified record) later agent runs -- only
re-hash files whose stat changed since: on POSIX ``st_ctime`` moves on any write and cannot
be set back from user space. The record of verified files lives in the user's data folder,
authenticated with an HMAC whose key is kept in the OS keyring, so editing the record alone
cannot vouch for a modified file. ``LITELLM_BRIDGE_VERIFY=full`` hashes every file on every
launch instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tray_agent import formats
from tray_agent.fsutil import atomic_write
from tray_agent.integrity.keys import builtin_public_key
from tray_agent.integrity.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    Manifest,
    ManifestFormatError,
    decode_signature,
    hash_file,
    key_id,
    relative_name,
    walk_files,
)

log = logging.getLogger("tray_agent.integrity")

REINSTALL = "reinstall LiteLLM Bridge from your company's package"
_WORKERS = min(4, os.cpu_count() or 1)

StatKey = tuple[int, int, int, int, int]


class IntegrityError(OSError):
    """The sidecar does not match the signed manifest: it must not run.

    An OSError so the agent treats it like any other failure to start the sidecar.
    """


@dataclass(frozen=True)
class Verified:
    files: int
    bytes: int
    hashed: int
    seconds: float


def _stat_key(st: os.stat_result) -> StatKey:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# Files already hashed by this process and found good, by absolute path.
_known_good: dict[str, StatKey] = {}
_lock = threading.Lock()

RECORD_VERSION = formats.INTEGRITY_RECORD.current
FULL_ENV = "LITELLM_BRIDGE_VERIFY"
# Where (and with which MAC key) verified stat keys persist between agent runs; None = off.
_record: tuple[Path, bytes] | None = None
# The manifest whose record this process has read (once: later launches use _known_good).
_record_read_for: str | None = None


def forget_verified() -> None:
    """Drop what this process knows (as a new agent process starts with nothing)."""
    global _record_read_for
    with _lock:
        _known_good.clear()
        _record_read_for = None


def remember_verified(path: Path | None, mac_key: bytes | None = None) -> None:
    """Persist verified files to ``path`` (MAC'd with ``mac_key``) so a later agent run
    re-hashes only what changed; ``None`` turns persistence off."""
    global _record, _record_read_for
    _record_read_for = None
    if path is None or mac_key is None or os.environ.get(FULL_ENV, "").lower() == "full":
        _record = None
    else:
        _record = (path, mac_key)


def _record_mac(mac_key: bytes, body: dict[str, object]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(mac_key, canonical, hashlib.sha256).hexdigest()


def _load_record(app_root: Path, manifest_digest: str) -> None:
    """Trust the stat keys of a record that this user's key signed for this very manifest."""
    global _record_read_for
    if _record is None or _record_read_for == manifest_digest:
        return
    _record_read_for = manifest_digest
    path, mac_key = _record
    try:
        data = json.loads(path.read_bytes())
        body = {k: v for k, v in data.items() if k != "mac"}
        if not hmac.compare_digest(str(data.get("mac", "")), _record_mac(mac_key, body)):
            log.warning("integrity record %s failed its check: hashing every file", path)
            return
        # A cache: a newer record is not used (every file is hashed, then this version's
        # record replaces it; nothing is lost but time).
        body = formats.migrated(body, formats.INTEGRITY_RECORD.name, path)
        if (
            body.get("version") != RECORD_VERSION
            or body.get("manifest") != manifest_digest
            or body.get("root") != str(app_root)
        ):
            return
        files = body["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not a mapping")
        entries = {str(app_root / rel): tuple(int(x) for x in key) for rel, key in files.items()}
    except FileNotFoundError:
        return
    except formats.FormatError as exc:
        log.warning("%s: hashing every file", exc)
        return
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("integrity record %s unreadable (%s): hashing every file", path, exc)
        return
    with _lock:
        for name, key in entries.items():
            if len(key) == 5:
                _known_good.setdefault(name, key)  # type: ignore[arg-type]


def _save_record(app_root: Path, manifest_digest: str, prefix: str) -> None:
    if _record is None:
        return
    path, mac_key = _record
    root = str(app_root) + os.sep
    with _lock:
        known = dict(_known_good)
    files = {
        rel: list(key)
        for name, key in known.items()
        if name.startswith(root)
        and (rel := Path(name).relative_to(app_root).as_posix()).startswith(prefix)
    }
    body: dict[str, object] = {
        "version": RECORD_VERSION,
        "manifest": manifest_digest,
        "root": str(app_root),
        "files": files,
    }
    body["mac"] = _record_mac(mac_key, body)
    try:
        atomic_write(path, json.dumps(body, sort_keys=True))
    except OSError as exc:  # a read-only data folder only costs a full hash next time
        log.warning("could not write integrity record %s: %s", path, exc)


def _load_manifest(app_root: Path, public_key: Ed25519PublicKey) -> tuple[Manifest, str]:
    manifest_path = app_root / MANIFEST_NAME
    signature_path = app_root / SIGNATURE_NAME
    try:
        data = manifest_path.read_bytes()
    except FileNotFoundError:
        raise IntegrityError(f"the bundle has no manifest ({manifest_path}): {REINSTALL}") from None
    try:
        signature = decode_signature(signature_path.read_bytes())
    except FileNotFoundError:
        raise IntegrityError(
            f"the bundle is not signed ({signature_path} is missing): {REINSTALL}"
        ) from None
    except ManifestFormatError as exc:
        raise IntegrityError(f"{signature_path}: {exc}: {REINSTALL}") from None
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        ours = key_id(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))
        raise IntegrityError(
            f"the signature in {signature_path} does not match {manifest_path} for this "
            f"program's key {ours}: the bundle was modified or signed by someone else; "
            f"{REINSTALL}"
        ) from None
    try:
        return Manifest.decode(data), hashlib.sha256(data).hexdigest()
    except ManifestFormatError as exc:
        raise IntegrityError(f"{manifest_path}: {exc}: {REINSTALL}") from None


def verify_bundle(
    app_root: Path, part: Path | None = None, public_key: Ed25519PublicKey | None = None
) -> Verified:
    """Check ``part`` (default: the whole app root) against the manifest in ``app_root``.

    Every file below ``part`` must be listed with the right digest, and every listed file
    below ``part`` must exist. Raises IntegrityError naming the first problem found.
    """
    began = time.perf_counter()
    if public_key is None:
        public_key = builtin_public_key()
        if public_key is None:
            raise IntegrityError(
                f"this build carries no signing key to check the sidecar: {REINSTALL}"
            )
    app_root = app_root.resolve()
    part = app_root if part is None else part.resolve()
    try:
        prefix = relative_name(part, app_root)
    except ValueError:
        raise IntegrityError(f"{part} is outside the signed bundle {app_root}") from None
    prefix = "" if prefix == "." else prefix + "/"
    manifest, manifest_digest = _load_manifest(app_root, public_key)
    _load_record(app_root, manifest_digest)

    expected = {k: v for k, v in manifest.files.items() if k.startswith(prefix)}
    if not expected:
        raise IntegrityError(f"the manifest lists no files under {part}: {REINSTALL}")
    present = {relative_name(p, app_root): p for p in walk_files(part)}
    for name in (MANIFEST_NAME, SIGNATURE_NAME):
        present.pop(name, None)
    extra = sorted(set(present) - set(expected))
    if extra:
        raise IntegrityError(
            f"unexpected file in the signed bundle: {present[extra[0]]}; {REINSTALL}"
        )
    missing = sorted(set(expected) - set(present))
    if missing:
        raise IntegrityError(
            f"file missing from the signed bundle: {app_root / missing[0]}; {REINSTALL}"
        )

    todo: list[tuple[str, Path, StatKey]] = []
    total = 0
    for rel, path in present.items():
        st = path.stat()
        total += st.st_size
        key = _stat_key(st)
        with _lock:
            if _known_good.get(str(path)) == key:
                continue
        todo.append((rel, path, key))

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        digests = list(pool.map(lambda item: hash_file(item[1]), todo))
    for (rel, path, key), digest in zip(todo, digests, strict=True):
        if digest != expected[rel]:
            raise IntegrityError(
                f"{path} was modified after signing (SHA-256 mismatch); {REINSTALL}"
            )
        with _lock:
            _known_good[str(path)] = key
    if todo:
        _save_record(app_root, manifest_digest, prefix)
    return Verified(
        files=len(present), bytes=total, hashed=len(todo), seconds=time.perf_counter() - began
    )


def app_root() -> Path:
    """The folder of the frozen agent: where ``manifest.json`` is."""
    return Path(sys.executable).resolve().parent


def verify_sidecar(executable: str) -> Verified:
    """Refuse (IntegrityError) a sidecar executable that is not the signed one next to us."""
    exe = Path(executable).resolve()
    result = verify_bundle(app_root(), exe.parent)
    log.info(
        "sidecar verified: %d files, %.0f MB, %d hashed in %.0f ms",
        result.files,
        result.bytes / 1e6,
        result.hashed,
        result.seconds * 1000,
    )
    return result
