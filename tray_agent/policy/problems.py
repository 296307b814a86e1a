"""Why a policy source was not used: one reason code (counted by metrics) and a message.

A *refusal* is about trust (who could write the file, where it points, its size, its
signature); an *error* is about content (encoding, JSON syntax, duplicate keys, schema).
Either way the last good policy stays in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# Trust: who could write it, where it points, its size, its signature.
RefusalReason = Literal[
    "not_admin_owned",
    "writable",
    "parent_writable",
    "symlink",
    "not_regular",
    "too_large",
    "unreadable",
    "signature_missing",
    "signature_invalid",
]
# Content: encoding, JSON, schema.
ErrorReason = Literal[
    "encoding",
    "syntax",
    "duplicate_key",
    "non_finite",
    "not_object",
    "schema",
]
Reason = RefusalReason | ErrorReason

REFUSALS: frozenset[str] = frozenset(get_args(RefusalReason))


@dataclass(frozen=True)
class PolicyProblem(Exception):
    reason: Reason
    source: str
    message: str

    @property
    def refusal(self) -> bool:
        return self.reason in REFUSALS

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"
