"""Status's ``policy`` section for an effective policy (also what ``policy show`` starts from).

``{"source", "valid", "error", "refused", "reason", "locked", "managed_config", "usage",
"state", "effective", "origins", "env_ignored", "signed"}``: ``usage`` is filled in by the
quota tracker; ``state`` is ``none``, ``policy``, ``last_good`` or ``locked_down``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tray_agent.policy.load import INVALID, Effective

LOCK_KEYS = ("config", "env", "clients", "iam", "fast_path", "autostart")


def _managed_config(eff: Effective) -> str | None:
    value = eff.policy.managed_config
    if not value:
        return None
    path = Path(value)
    return str(path if path.is_absolute() else eff.location.directory / path)


def build_view(eff: Effective) -> dict[str, Any]:
    lock = eff.policy.lock
    error = eff.error
    refused = eff.refused
    message: str | None = None
    if eff.state == "locked_down":
        first = error or refused
        message = f"{INVALID}: {first}" if first else INVALID
    elif error is not None:
        message = str(error)
    first_problem = refused or error
    return {
        "source": list(eff.sources),
        "valid": eff.valid,
        "error": message,
        "refused": str(refused) if refused else None,
        "reason": first_problem.reason if first_problem else None,
        "problems": [
            {"source": p.source, "reason": p.reason, "message": p.message} for p in eff.problems
        ],
        "locked": {k: getattr(lock, k) if k != "env" else eff.policy.env_lock() for k in LOCK_KEYS},
        "managed_config": _managed_config(eff),
        "usage": None,
        "state": eff.state,
        "effective": eff.document(),
        "origins": dict(eff.origins),
        "directory": str(eff.location.directory),
        "env_ignored": eff.location.env_ignored,
        "signed": eff.signed,
    }


def notice_text(view: dict[str, Any]) -> str | None:
    """One line for a tray notice when a policy source was refused or is invalid."""
    if view.get("state") == "locked_down":
        return str(view.get("error"))
    if view.get("refused"):
        return f"organization policy refused, the last good one stays: {view['refused']}"
    if view.get("error"):
        return f"organization policy invalid, the last good one stays: {view['error']}"
    return None
