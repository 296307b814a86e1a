"""The effective policy read directly from the files (no agent): for commands and checks.

A running agent watches the same files (``watch.py``); this is what it would decide now. The
last good record is verified with the key from the secret store when one is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tray_agent.paths import Paths
from tray_agent.policy.load import Effective, evaluate, store_for
from tray_agent.policy.schema import Policy
from tray_agent.policy.store import mac_key_from
from tray_agent.policy.view import build_view


def evaluate_for(
    paths: Paths, secrets: Any | None = None, environ: Mapping[str, str] | None = None
) -> Effective:
    """Evaluate without creating anything: the last good record is read, never written."""
    store = store_for(paths.data_dir, mac_key_from(secrets, create=False))
    store.save = lambda *a, **k: None  # type: ignore[method-assign]
    return evaluate(environ, store)


def effective(paths: Paths, secrets: Any | None = None) -> tuple[Policy, dict[str, Any]]:
    """The policy in force and its status view, from the files."""
    if secrets is None:
        try:
            from tray_agent.secrets import open_secret_store

            secrets = open_secret_store(paths.keyring_namespace)
        except Exception:
            secrets = None
    eff = evaluate_for(paths, secrets)
    return eff.policy, build_view(eff)
