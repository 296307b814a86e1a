"""Which env entry names are allowed, reserved, or look like they hold a secret."""

from __future__ import annotations

import re

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_PREFIX = "LITELLM_BRIDGE_"
RESERVED_NAMES = frozenset({"LITELLM_MASTER_KEY"})
# Variables that change which code the sidecar runs or what it trusts and records: the
# dynamic loader, Python's import system, the frozen app's bootloader, program lookup,
# OpenSSL's config and modules (a provider is a shared library), TLS key logging, and
# LiteLLM's own settings (LITELLM_CONFIG_BUCKET_* loads a whole config from a bucket,
# LITELLM_MODE=DEV reads a .env file). An entry could otherwise load code the signed
# manifest never covered or bypass the checked effective config. Upper-cased.
LOADER_PREFIXES = ("LD_", "DYLD_", "PYTHON", "_PYI", "_MEIPASS", "PYINSTALLER_", "OPENSSL_",
                   "LITELLM_", "SSL_KEYLOG")  # fmt: skip
LOADER_NAMES = frozenset(
    {"PATH", "GCONV_PATH", "NODE_OPTIONS", "SSLKEYLOGFILE", "WORKER_CONFIG", "CONFIG_FILE_PATH",
     "DATABASE_URL", "DIRECT_URL"}
)  # fmt: skip
SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an env entry, or None when it can."""
    if not NAME_RE.fullmatch(name):
        return (
            f"'{name}' is not a valid name: use letters, digits and underscores, "
            "not starting with a digit"
        )
    upper = name.upper()
    if upper.startswith(RESERVED_PREFIX) or upper in RESERVED_NAMES:
        return f"'{name}' is reserved by the bridge (LITELLM_BRIDGE_*, LITELLM_MASTER_KEY)"
    if upper.startswith(LOADER_PREFIXES) or upper in LOADER_NAMES:
        return (
            f"'{name}' is not allowed: it changes which code the proxy runs or what it "
            "trusts (LD_*, DYLD_*, PYTHON*, PATH, OPENSSL_*, LITELLM_*, ...); the proxy takes "
            "these from the agent's own environment"
        )
    return None


def looks_secret(name: str) -> bool:
    """Names containing KEY, TOKEN, SECRET, PASSWORD... are treated as secrets by default."""
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)
