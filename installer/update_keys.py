"""The four TUF role keys that sign updates (root, targets, snapshot, timestamp).

* ``LITELLM_BRIDGE_UPDATE_KEY_DIR=DIR``: the company's keys, ``DIR/<role>.pem`` (Ed25519,
  PKCS#8 PEM, optionally encrypted with the password in ``LITELLM_BRIDGE_UPDATE_KEY_PASSWORD``),
  and ``LITELLM_BRIDGE_UPDATE_ROOT=FILE`` the root metadata made from them
  (``python -m installer.release init-root``), which the package ships.
* otherwise development keys and a development root, made once in the build cache next to the
  manifest's development key (``installer/keys.py``); never committed, only for testing.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, Signer, SSlibKey

ROLES = ("root", "targets", "snapshot", "timestamp")
KEY_DIR_ENV = "LITELLM_BRIDGE_UPDATE_KEY_DIR"
PASSWORD_ENV = "LITELLM_BRIDGE_UPDATE_KEY_PASSWORD"
ROOT_ENV = "LITELLM_BRIDGE_UPDATE_ROOT"
DOC = "docs/UPDATES.md, 'Keys'"


class UpdateKeyError(Exception):
    """A configured update key cannot be used."""


def cache() -> Path:
    """The build cache (read now, not at import: tests point it at a temporary folder)."""
    from installer.build import CACHE

    configured = os.environ.get("LITELLM_BRIDGE_BUILD_CACHE")
    return Path(configured) if configured else CACHE


def dev_dir() -> Path:
    path = cache() / "keys" / "update"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _generate(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: two builds racing never overwrite a key the other already used.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def _load(path: Path, password: bytes | None) -> Signer:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=password)
    except (OSError, ValueError, TypeError) as exc:
        raise UpdateKeyError(f"{path}: cannot load the private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UpdateKeyError(f"{path}: not an Ed25519 key ({DOC})")
    return CryptoSigner(key, SSlibKey.from_crypto(key.public_key()))


def signers() -> dict[str, Signer]:
    """One signer per role: the company's when configured, else the development keys."""
    configured = os.environ.get(KEY_DIR_ENV)
    if configured:
        password = os.environ.get(PASSWORD_ENV)
        secret = password.encode() if password else None
        return {role: _load(Path(configured) / f"{role}.pem", secret) for role in ROLES}
    folder = dev_dir()
    out: dict[str, Signer] = {}
    for role in ROLES:
        path = folder / f"{role}.pem"
        if not path.exists():
            _generate(path)
        out[role] = _load(path, None)
    return out
