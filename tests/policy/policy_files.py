"""Real policy directories for the tests: root-owned (the suite runs as root in CI), 0755/0644."""

# Policy files must be world-readable, and some tests make them writable on purpose.
# ruff: noqa: S103

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="policy files must be root-owned; CI runs the suite as root",
)


def policy_dir(base: Path, name: str = "policy") -> Path:
    d = base / name
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    return d


def write_policy(path: Path, doc: dict[str, Any] | str | bytes, mode: int = 0o644) -> Path:
    path.parent.mkdir(mode=0o755, exist_ok=True)
    os.chmod(path.parent, 0o755)
    data = (
        doc
        if isinstance(doc, bytes)
        else (doc if isinstance(doc, str) else json.dumps(doc)).encode()
        if not isinstance(doc, bytes)
        else doc
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return path


def new_key() -> tuple[Ed25519PrivateKey, str]:
    """A signing key and its public half as the package carries it (raw, base64)."""
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key, base64.b64encode(raw).decode()


def sign(key: Ed25519PrivateKey, path: Path) -> Path:
    sig = Path(str(path) + ".sig")
    sig.write_text(base64.b64encode(key.sign(path.read_bytes())).decode() + "\n")
    os.chmod(sig, 0o644)
    return sig
