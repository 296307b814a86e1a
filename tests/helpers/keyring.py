"""Tests that need the OS keyring fail without one, unless a keyring-less run is expected.

CI and ``scripts/with-desktop.sh`` always have an unlocked keyring, so there a missing one is
a broken setup, not a reason to skip. A plain ``pytest`` run on a machine without a desktop
session sets ``LITELLM_BRIDGE_TEST_NO_KEYRING_OK=1`` to turn these failures into skips.
"""

from __future__ import annotations

import os

import pytest

from tray_agent.secrets import SecretStore

NO_KEYRING_OK_ENV = "LITELLM_BRIDGE_TEST_NO_KEYRING_OK"


def no_keyring_ok() -> bool:
    return os.environ.get(NO_KEYRING_OK_ENV) == "1"


def require_keyring(store: SecretStore) -> SecretStore:
    """``store`` when it is the OS keyring; otherwise fail (or skip when that is expected)."""
    if store.persistent:
        return store
    message = (
        f"no OS keyring here ({store.description}): run under scripts/with-desktop.sh, "
        f"or set {NO_KEYRING_OK_ENV}=1 to skip keyring tests"
    )
    if no_keyring_ok():
        pytest.skip(message)
    pytest.fail(message)
