"""How an audit event reads in a SIEM: its activity, severity, outcome and title.

Shared by the OCSF and CEF exports so both say the same thing about an event. The mapping
(also in docs/AUDIT_EXPORT.md): a proxied request is an API call that fits none of OCSF's
create/read/update/delete, so it is Other (99) named "Invoke"; security actions map by what
they do to the thing named (``env.added`` creates, ``config.applied`` updates, ...);
refusals, failures and the log's own bookkeeping are Other (99) under their own name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tray_agent.audit.chain import CHECKPOINT, parse_stamp

PRODUCT = "LiteLLM Bridge"
VENDOR = "LiteLLM Bridge"
PRODUCT_ID = "litellm-bridge"

CREATE, READ, UPDATE, DELETE, OTHER = 1, 2, 3, 4, 99
ACTIVITY_NAMES = {CREATE: "Create", READ: "Read", UPDATE: "Update", DELETE: "Delete"}
ACTIVITIES: dict[str, int] = {
    "token.login": CREATE,
    "env.added": CREATE,
    "update.installed": CREATE,
    "policy.loaded": READ,
    "audit.exported": READ,
    "diagnostics.exported": READ,
    "config.applied": UPDATE,
    "config.rolled_back": UPDATE,
    "env.changed": UPDATE,
    "policy.changed": UPDATE,
    "token.refreshed": UPDATE,
    "update.rolled_back": UPDATE,
    "env.removed": DELETE,
    "token.logout": DELETE,
    "audit.retention": DELETE,
}
# OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
SEVERITY_NAMES = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High",
                  5: "Critical"}  # fmt: skip
HIGH = {"audit.verify_failed", "audit.gap", "sidecar.integrity_refused"}
TITLES = {
    "request": "Model request",
    CHECKPOINT: "Audit checkpoint",
    "audit.export": "Audit log export",
    "token.login": "Sign-in",
    "token.logout": "Sign-out",
    "token.refreshed": "Token refreshed",
    "token.refresh_failed": "Token refresh failed",
    "config.applied": "Config applied",
    "config.rejected": "Config rejected",
    "config.rolled_back": "Config rolled back",
    "env.added": "Environment entry added",
    "env.changed": "Environment entry changed",
    "env.removed": "Environment entry removed",
    "policy.loaded": "Policy loaded",
    "policy.changed": "Policy changed",
    "policy.refused": "Policy refused",
    "sidecar.integrity_refused": "Sidecar integrity refusal",
    "audit.exported": "Audit log exported",
    "audit.verify_failed": "Audit verification failed",
    "audit.gap": "Audit events lost",
}


@dataclass(frozen=True)
class Context:
    """What an export states once (in its signed header) and every record repeats."""

    product_version: str
    host: str


def epoch_ms(text: str) -> int:
    return round(parse_stamp(text) * 1000)


def is_failure(record: Mapping[str, Any]) -> bool:
    name = str(record.get("event"))
    if name == "request":
        status = record.get("status")
        refused = str(record.get("decision") or "allowed") != "allowed"
        return refused or (isinstance(status, int) and status >= 400)
    return name in HIGH or name.endswith(("failed", "refused", "rejected"))


def activity(name: str) -> tuple[int, str]:
    """(OCSF activity_id, activity_name) of an event."""
    if name == "request":
        return OTHER, "Invoke"
    found = ACTIVITIES.get(name)
    return (found, ACTIVITY_NAMES[found]) if found else (OTHER, name)


def severity(record: Mapping[str, Any]) -> int:
    """OCSF severity_id: failures and refusals Medium, a broken or gapped log High."""
    name = str(record.get("event"))
    if name in HIGH:
        return 4
    if name == "request":
        status = record.get("status")
        if str(record.get("decision") or "allowed") != "allowed":
            return 3
        if isinstance(status, int) and status >= 500:
            return 3
        return 2 if isinstance(status, int) and status >= 400 else 1
    return 3 if is_failure(record) else 1


def title(name: str) -> str:
    return TITLES.get(name, name)
