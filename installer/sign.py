"""Hash every file of an assembled app folder into ``manifest.json`` and sign it."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from installer.keys import public_raw
from tray_agent.integrity.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    Manifest,
    encode_signature,
    key_id,
    scan,
)


def sign_bundle(app_root: Path, key: Ed25519PrivateKey) -> Manifest:
    """Write ``manifest.json`` and ``manifest.json.sig`` at the root of ``app_root``."""
    for name in (MANIFEST_NAME, SIGNATURE_NAME):
        (app_root / name).unlink(missing_ok=True)
    manifest = Manifest(files=scan(app_root), key_id=key_id(public_raw(key)))
    data = manifest.encode()
    (app_root / MANIFEST_NAME).write_bytes(data)
    (app_root / SIGNATURE_NAME).write_bytes(encode_signature(key.sign(data)))
    return manifest
