"""Test hooks: environment switches that change security-relevant behaviour.

A development checkout honours them (the test suite needs them). A frozen build ignores them
unless ``LITELLM_BRIDGE_TEST_HOOKS=1`` says otherwise, so a variable planted in a user's
environment cannot swap the sidecar, the secret store, the templates or press tray entries.
docs/ARCHITECTURE.md ("Operator knobs and test hooks") lists every switch.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger("tray_agent.testhooks")

ENABLE_ENV = "LITELLM_BRIDGE_TEST_HOOKS"
# The switches this module guards; a name outside it is a programming error.
HOOKS = (
    "LITELLM_BRIDGE_SIDECAR_CMD",
    "LITELLM_BRIDGE_SECRET_STORE",
    "LITELLM_BRIDGE_TEMPLATES",
    "LITELLM_BRIDGE_MACHINE_POLICY_DIR",
    "LITELLM_BRIDGE_POLICY_PUBLIC_KEY",
)

_logged: set[str] = set()


def hooks_enabled() -> bool:
    """True in a development checkout, or in a frozen build with ``LITELLM_BRIDGE_TEST_HOOKS=1``."""
    if not getattr(sys, "frozen", False):
        return True
    return os.environ.get(ENABLE_ENV, "") == "1"


def hook_env(name: str) -> str | None:
    """The value of test hook ``name``, or None when it is unset or hooks are off here.

    Logs once per hook when one is set: in use, or ignored by a frozen build.
    """
    if name not in HOOKS:
        raise ValueError(f"{name} is not a registered test hook")
    value = os.environ.get(name)
    if not value:
        return None
    enabled = hooks_enabled()
    if name not in _logged:
        _logged.add(name)
        if enabled:
            log.warning("test hook %s is set: %s", name, _what(name))
        else:
            log.warning(
                "test hook %s is set but ignored by this build (set %s=1 to honour it)",
                name,
                ENABLE_ENV,
            )
    return value if enabled else None


def _what(name: str) -> str:
    # Never the value: a sidecar command line could carry anything.
    return {
        "LITELLM_BRIDGE_SIDECAR_CMD": "the sidecar is started with another command",
        "LITELLM_BRIDGE_SECRET_STORE": "the secret store choice is overridden",
        "LITELLM_BRIDGE_TEMPLATES": "templates are read from another directory first",
        "LITELLM_BRIDGE_MACHINE_POLICY_DIR": "the machine policy is read from another directory",
        "LITELLM_BRIDGE_POLICY_PUBLIC_KEY": "policy signatures are checked with another key",
    }[name]


def tray_click_allowed() -> bool:
    """Whether the ``tray.click`` control method is offered (it can press Quit)."""
    allowed = hooks_enabled()
    if not allowed and "tray.click" not in _logged:
        _logged.add("tray.click")
        log.info("tray.click is off in this build (set %s=1 to offer it)", ENABLE_ENV)
    return allowed
