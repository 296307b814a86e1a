"""A request the policy refuses: status, reason for the metrics, message and headers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sidecar import allowlist

POLICY_ERROR = "PolicyRefused"
"""The error class a request event carries when the policy refused it (with ``refused``)."""
POLICY_NAME = "your organization's policy"

# The reasons a request event's ``refused`` field names.
MODEL_DENIED = "model_denied"
RPM = "rpm"
TPM = "tpm"
MODEL_RPM = "model_rpm"
MODEL_TPM = "model_tpm"
MAX_PARALLEL = "max_parallel"
REQUESTS_PER_DAY = "requests_per_day"
TOKENS_PER_DAY = "tokens_per_day"
TOKENS_PER_MONTH = "tokens_per_month"
# A request whose model the policy cannot check: named outside the JSON body's ``model``
# (the query string LiteLLM would prefer), several at once, or none that can be read.
MODEL_UNCHECKABLE = "model_uncheckable"
# The audit log the policy requires (``audit.required``) cannot be written.
AUDIT_UNAVAILABLE = "audit_unavailable"
REASONS = frozenset(
    {
        AUDIT_UNAVAILABLE,
        MODEL_DENIED,
        MODEL_UNCHECKABLE,
        RPM,
        TPM,
        MODEL_RPM,
        MODEL_TPM,
        MAX_PARALLEL,
        REQUESTS_PER_DAY,
        TOKENS_PER_DAY,
        TOKENS_PER_MONTH,
    }
)
QUOTA_REASONS = frozenset({REQUESTS_PER_DAY, TOKENS_PER_DAY, TOKENS_PER_MONTH})

# The error ``type`` clients see, per status and error style.
_KINDS = {
    (403, "openai"): "permission_error",
    (403, "anthropic"): "permission_error",
    (429, "openai"): "rate_limit_error",
    (429, "anthropic"): "rate_limit_error",
    (503, "openai"): "service_unavailable",
    (503, "anthropic"): "api_error",
}


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    message: str
    retry_after: float | None = None
    headers: tuple[tuple[bytes, bytes], ...] = field(default=())

    def body(self, style: allowlist.ErrorStyle) -> bytes:
        kind = _KINDS.get((self.status, style), "invalid_request_error")
        if self.reason in QUOTA_REASONS and style == "openai":
            kind = "insufficient_quota"  # what OpenAI's clients expect for a spent quota
        return allowlist.error_body(style, self.status, self.message, kind)

    def response_headers(self) -> list[tuple[bytes, bytes]]:
        headers = list(self.headers)
        if self.retry_after is not None:
            headers.append((b"retry-after", str(max(1, math.ceil(self.retry_after))).encode()))
        return headers


def model_denied(
    name: str, allows_none: bool = False, invalid: bool = False, unknown: bool = False
) -> Refusal:
    if unknown and not (invalid or allows_none):
        return Refusal(
            403,
            MODEL_DENIED,
            f"model {name!r} is not one of the configured models, and {POLICY_NAME} lets "
            "only those through; ask for a model that GET /v1/models lists",
        )
    if invalid:
        why = "organization policy invalid: every model is refused until it is fixed"
    elif allows_none:
        # What the agent sends when policy files exist but none was ever valid.
        why = (
            "it allows no model (if that is not intended, the organization policy is invalid: "
            'see "litellm-bridge policy show")'
        )
    else:
        why = "ask your administrator which models you may use"
    return Refusal(403, MODEL_DENIED, f"model {name!r} is not allowed by {POLICY_NAME}; {why}")


def model_uncheckable(why: str) -> Refusal:
    return Refusal(
        400,
        MODEL_UNCHECKABLE,
        f'{why}: {POLICY_NAME} is checked on the JSON body\'s one "model"; send the model '
        "there, one per request",
    )


def audit_unavailable(why: str) -> Refusal:
    return Refusal(
        503,
        AUDIT_UNAVAILABLE,
        f"the audit log cannot be written ({why}) and {POLICY_NAME} requires one "
        "(audit.required): requests are refused until it can be written again; free disk "
        'space or see "litellm-bridge doctor"',
        5.0,
    )
