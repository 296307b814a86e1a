"""The policy in force read straight from its sources, for code that does not ask the
agent's policy watcher: CLI commands with no agent running, doctor, and config preparation
(the admin lock), which runs on the core thread.

``effective(paths)`` is ``load.evaluate`` plus ``view.build_view``: the same decision the
watcher makes (an invalid or refused source keeps the last good policy, with none
``LOCKED_DOWN``). The last good record is only trusted with its MAC key from the secret
store: without ``secrets`` a broken policy falls back to ``LOCKED_DOWN``, which never
unlocks anything. Nothing here writes the record (only the agent's watcher does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tray_agent.paths import Paths
    from tray_agent.policy.load import Effective
    from tray_agent.policy.schema import Policy
    from tray_agent.secrets import SecretStore


def evaluate_for(
    paths: Paths, secrets: SecretStore | None = None, environ: Mapping[str, str] | None = None
) -> Effective:
    """The full decision (sources, origins, problems) for ``policy show`` and doctor."""
    from tray_agent.policy.load import evaluate, store_for, unevaluable
    from tray_agent.policy.store import mac_key_from

    store = store_for(paths.data_dir, mac_key_from(secrets, create=False))
    try:
        return evaluate(environ, store, save=False)
    except Exception as exc:  # fail closed, as the agent does (policy/watch.py)
        return unevaluable(exc)


def effective(paths: Paths, secrets: SecretStore | None = None) -> tuple[Policy, dict[str, Any]]:
    """The effective policy and status's ``policy`` view, from the policy sources now."""
    from tray_agent.policy.view import build_view

    eff = evaluate_for(paths, secrets)
    return eff.policy, build_view(eff)
