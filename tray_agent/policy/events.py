"""What the policy parts tell the agent core (posted with ``Agent.post``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PolicyChanged:
    """The effective policy changed (or was read at start).

    ``enforced`` goes to every sidecar (``Policy.enforced()``, None for no policy); ``view`` is
    status's ``policy`` section (source, valid, error, refused, locked, managed_config).
    """

    enforced: dict[str, Any] | None
    view: dict[str, Any] = field(default_factory=dict)


@dataclass
class UsageChanged:
    """This employee's quota usage (status's ``policy.usage``; sent to every sidecar)."""

    usage: dict[str, Any] | None
