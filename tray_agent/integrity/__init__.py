"""Integrity of the shipped bundle: a signed SHA-256 manifest, checked before the sidecar runs.

The build (``installer/sign.py``) hashes every shipped file into ``manifest.json`` and signs
it with Ed25519 (``manifest.json.sig``); the frozen agent carries the public key and refuses
to launch a sidecar whose files do not match. Development runs (not frozen) skip the check.
"""

from tray_agent.integrity.manifest import MANIFEST_NAME, SIGNATURE_NAME, Manifest
from tray_agent.integrity.verify import IntegrityError, verify_bundle, verify_sidecar

__all__ = [
    "MANIFEST_NAME",
    "SIGNATURE_NAME",
    "IntegrityError",
    "Manifest",
    "verify_bundle",
    "verify_sidecar",
]
