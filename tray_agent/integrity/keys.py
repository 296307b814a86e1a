"""The public key the frozen agent trusts, built into it by the packaging step.

The build generates the module ``_litellm_bridge_signing_key`` (one constant, the raw
Ed25519 public key in base64) and freezes it into the agent; a source checkout has none.
"""

from __future__ import annotations

import base64
import importlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENERATED_MODULE = "_litellm_bridge_signing_key"


def public_key_from_b64(value: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(value))


def builtin_public_key() -> Ed25519PublicKey | None:
    """The key built into this (frozen) program, or None when there is none."""
    try:
        module = importlib.import_module(GENERATED_MODULE)
    except ImportError:
        return None
    value = getattr(module, "PUBLIC_KEY", None)
    return public_key_from_b64(value) if isinstance(value, str) else None
