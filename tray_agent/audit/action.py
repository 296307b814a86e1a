"""Record one security-relevant action from wherever it happens: agent, command or dialog.

``note("env.removed", name="CORP_PROJECT")`` appends to the same chain as the agent's
writer. Inside the agent the writer registers itself (``use``) and the event is queued;
in any other process (a command, a dialog) it is appended at once, under the log's lock,
with the installation's signing key when the keyring has one (no key is made here: the
agent makes it). Recording never raises: a log that cannot be written is reported once on
stderr and in the return value, and the action itself is not undone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

Sink = Callable[[str, Mapping[str, Any]], None]
_sink: Sink | None = None


def use(sink: Sink | None) -> None:
    """Route ``note`` to ``sink`` (the agent's writer); None: append directly again."""
    global _sink
    _sink = sink


def note(event: str, **fields: Any) -> str | None:
    """Record ``name`` with ``fields`` (no secrets: names, ids, digests); the problem, if
    the log could not be written."""
    if _sink is not None:
        _sink(event, fields)
        return None
    try:
        _append(event, fields)
    except Exception as exc:  # never let auditing break the action it records
        problem = f"the audit log could not be written ({exc})"
        print(f"warning: {problem}", file=sys.stderr)
        return problem
    return None


def _append(name: str, fields: dict[str, Any]) -> None:
    from tray_agent.audit.keys import load_signer
    from tray_agent.audit.log import AuditLog
    from tray_agent.audit.records import Identifiers
    from tray_agent.paths import get_paths
    from tray_agent.policy.current import effective
    from tray_agent.secrets import open_secret_store

    paths = get_paths()
    secrets = open_secret_store(paths.keyring_namespace)
    try:
        signer = load_signer(secrets, paths.audit_dir, False)
    except Exception:
        signer = None  # no keyring: the line is written, the agent seals it later
    ids = Identifiers(secrets)
    policy, _view = effective(paths, secrets)
    ids.hashed = bool(policy.audit.hash_identifiers)
    AuditLog(paths.audit_dir, signer).append([(name, ids.apply(fields))])
