"""The manifest format: every shipped file, relative to the app root, with its SHA-256.

``manifest.json`` is canonical JSON (sorted keys, no spaces) so its bytes -- which is what is
signed -- are the same whoever writes it::

    {"algorithm": "sha256", "files": {"sidecar/litellm-bridge-sidecar": "ab12...", ...},
     "format": 1, "key_id": "0f1e2d3c4b5a6978"}

Paths use ``/`` on every OS. ``manifest.json.sig`` holds the base64 Ed25519 signature of
the manifest bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.json.sig"
FORMAT = 1
ALGORITHM = "sha256"
_CHUNK = 1 << 20


class ManifestFormatError(ValueError):
    """The manifest bytes are not a manifest this version understands."""


@dataclass(frozen=True)
class Manifest:
    files: dict[str, str]
    key_id: str

    def encode(self) -> bytes:
        """The canonical bytes that get signed."""
        doc = {"algorithm": ALGORITHM, "files": self.files, "format": FORMAT, "key_id": self.key_id}
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise ManifestFormatError(f"not JSON: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ManifestFormatError(f"unknown manifest format (expected {FORMAT})")
        if doc.get("algorithm") != ALGORITHM:
            raise ManifestFormatError(f"unknown hash algorithm {doc.get('algorithm')!r}")
        files = doc.get("files")
        if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()
        ):
            raise ManifestFormatError("'files' must map paths to hex digests")
        return cls(files=files, key_id=str(doc.get("key_id", "")))


def key_id(public_raw: bytes) -> str:
    """A short, stable name for a public key (shown in errors, never used for trust)."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def relative_name(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def walk_files(root: Path) -> list[Path]:
    """Every file below ``root`` (symlinks included as files), sorted."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        found.extend(base / name for name in sorted(filenames))
    return found


def scan(
    root: Path, skip: frozenset[str] = frozenset({MANIFEST_NAME, SIGNATURE_NAME})
) -> dict[str, str]:
    """Hash every file below ``root`` except the manifest and its signature."""
    return {
        rel: hash_file(p) for p in walk_files(root) if (rel := relative_name(p, root)) not in skip
    }


def encode_signature(signature: bytes) -> bytes:
    return base64.b64encode(signature) + b"\n"


def decode_signature(data: bytes) -> bytes:
    try:
        return base64.b64decode(data.strip(), validate=True)
    except ValueError:
        raise ManifestFormatError("the signature file is not base64") from None
