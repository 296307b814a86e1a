"""Tokens shared by the stand-in IAM (which mints them) and the stand-in LLM (which checks them).

A token is ``<base64url(json{"sub","exp","jti"})>.<base64url(hmac-sha256)>``: it really expires,
and the LLM can verify it without talking to the IAM, like a JWT.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

DEFAULT_KEY = b"stand-in-iam-signing-key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(
    sub: str, ttl: float, key: bytes = DEFAULT_KEY, now: float | None = None
) -> tuple[str, float]:
    """Return (token, expires_at epoch seconds)."""
    exp = (time.time() if now is None else now) + ttl
    payload = _b64(json.dumps({"sub": sub, "exp": exp, "jti": secrets.token_hex(8)}).encode())
    sig = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}", exp


def verify(token: str, key: bytes = DEFAULT_KEY, now: float | None = None) -> dict | None:
    """The token's claims if it is authentic and unexpired, else None."""
    try:
        payload, sig = token.split(".")
        want = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(want, sig):
            return None
        claims = json.loads(_unb64(payload))
    except (ValueError, json.JSONDecodeError):
        return None
    if claims.get("exp", 0) <= (time.time() if now is None else now):
        return None
    return claims
