"""What the audit parts tell the agent core (posted with ``Agent.post``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AuditChanged:
    """Why the audit log the policy requires cannot be written (None: it can, or it is not
    required). Every sidecar is told: while set, it refuses model requests with 503."""

    blocked: str | None
