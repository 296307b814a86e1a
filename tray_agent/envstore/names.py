"""Which env entry names are allowed, reserved, or look like they hold a secret."""

from __future__ import annotations

import re

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_PREFIX = "LITELLM_BRIDGE_"
RESERVED_NAMES = frozenset({"LITELLM_MASTER_KEY"})
# Variables that change which code the sidecar runs (dynamic loader, Python's import system,
# the frozen app's bootloader, program lookup): an entry could otherwise load code the signed
# manifest never covered. Upper-cased prefixes and names.
LOADER_PREFIXES = ("LD_", "DYLD_", "PYTHON", "_PYI", "_MEIPASS", "PYINSTALLER_")
LOADER_NAMES = frozenset({"PATH", "GCONV_PATH", "NODE_OPTIONS"})
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
            f"'{name}' is not allowed: it changes which code the proxy runs "
            "(LD_*, DYLD_*, PYTHON*, PATH, ...); the proxy takes them from the agent's "
            "own environment"
        )
    return None


def looks_secret(name: str) -> bool:
    """Names containing KEY, TOKEN, SECRET, PASSWORD... are treated as secrets by default."""
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)
