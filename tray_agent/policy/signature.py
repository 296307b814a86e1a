"""Optional Ed25519 signatures on policy sources (``policy.json.sig``: base64, one line).

A package built with the company's policy public key (``POLICY_PUBLIC_KEY`` in the generated
module ``_litellm_bridge_signing_key``, beside the manifest key: docs/PACKAGING.md) accepts
only policy sources carrying a valid signature of their exact bytes; a package without one
accepts unsigned policy. ``LITELLM_BRIDGE_POLICY_PUBLIC_KEY`` (a test hook, off in frozen
builds) sets the key in a development checkout.
"""

from __future__ import annotations

import base64
import binascii
import importlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tray_agent.integrity.keys import GENERATED_MODULE, public_key_from_b64
from tray_agent.policy.problems import PolicyProblem
from tray_agent.testhooks import hook_env

SIGNATURE_SUFFIX = ".sig"
PUBLIC_KEY_HOOK = "LITELLM_BRIDGE_POLICY_PUBLIC_KEY"


def policy_public_key() -> Ed25519PublicKey | None:
    """The key policy must be signed with, or None when this package carries none."""
    value = hook_env(PUBLIC_KEY_HOOK)
    if value is None:
        try:
            module = importlib.import_module(GENERATED_MODULE)
        except ImportError:
            return None
        built = getattr(module, "POLICY_PUBLIC_KEY", None)
        value = built if isinstance(built, str) and built else None
    if value is None:
        return None
    try:
        return public_key_from_b64(value)
    except (ValueError, binascii.Error):
        # A broken key must not turn signatures off: a fresh random key verifies nothing.
        return Ed25519PrivateKey.generate().public_key()


def check_signature(key: Ed25519PublicKey, data: bytes, signature: str | None, source: str) -> None:
    """Raise ``PolicyProblem`` unless ``signature`` (base64 text) signs ``data`` under ``key``."""
    if signature is None:
        raise PolicyProblem(
            "signature_missing",
            source,
            f"is not signed: this package requires a signature ({source}{SIGNATURE_SUFFIX})",
        )
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise PolicyProblem("signature_invalid", source, "its signature is not base64") from None
    try:
        key.verify(raw, data)
    except InvalidSignature:
        raise PolicyProblem(
            "signature_invalid",
            source,
            "its signature does not match (signed with another key, or changed after signing)",
        ) from None
