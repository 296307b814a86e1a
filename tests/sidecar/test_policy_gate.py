"""The policy gate's decisions, in process with a controlled clock: names, buckets, quotas."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from sidecar import allowlist
from sidecar.metrics import RequestRecord
from sidecar.policy import Admission, PolicyGate, Refusal
from sidecar.policy.buckets import reset_text
from sidecar.policy.models import ModelNames
from sidecar.policy.quota import next_day_start, next_month_start
from sidecar.state import BridgeState

CHAT = allowlist.match("POST", "/v1/chat/completions")
GEMINI = allowlist.match("POST", "/v1beta/models/corp-llm:generateContent")
assert CHAT is not None and GEMINI is not None


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.wall = 1_767_225_600.0  # 2026-01-01T00:00:00Z

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += seconds


def make_gate(
    policy: dict[str, Any] | None, names: ModelNames | None = None
) -> tuple[PolicyGate, BridgeState, Clock]:
    state = BridgeState()
    state.policy = policy
    clock = Clock()
    gate = PolicyGate(
        state, lambda: names or ModelNames(), clock=lambda: clock.now, wall=lambda: clock.wall
    )
    return gate, state, clock


def request(
    gate: PolicyGate, model: str, route: allowlist.ServedRoute = CHAT, body: bytes | None = None
) -> tuple[Admission | Refusal | None, RequestRecord, dict[str, Any]]:
    """One request through the gate (with its record) and the scope it saw."""
    raw = body if body is not None else json.dumps({"model": model}).encode()
    path = f"/v1beta/models/{model}:generateContent" if route is GEMINI else "/v1/chat/completions"
    scope: dict[str, Any] = {"path": path, "headers": [(b"content-length", str(len(raw)).encode())]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def run() -> tuple[Admission | Refusal | None, RequestRecord]:
        record = RequestRecord(route=path)
        policy = gate.current()
        assert policy is not None
        return await gate.admit(policy, scope, receive, route, record), record

    outcome, record = asyncio.run(run())
    return outcome, record, scope


def refused(outcome: Admission | Refusal | None) -> Refusal:
    assert isinstance(outcome, Refusal), outcome
    return outcome


def admitted(outcome: Admission | Refusal | None) -> Admission:
    assert isinstance(outcome, Admission), outcome
    return outcome


def test_no_policy_is_nothing_to_enforce() -> None:
    gate, _, _ = make_gate(None)
    assert gate.current() is None


def test_the_asked_name_and_the_configured_name_it_resolves_to_must_both_be_allowed() -> None:
    names = ModelNames(["corp-llm", "team/*"], {"gpt-4": "corp-llm"})
    gate, _, _ = make_gate({"models": {"allow": ["gpt-*", "team/*"], "deny": []}}, names)
    denied = refused(request(gate, "gpt-4")[0])  # the alias is allowed, its target is not
    assert denied.status == 403 and "'gpt-4'" in denied.message
    outcome, record, scope = request(gate, "team/coder")  # resolves to the wildcard name
    admitted(outcome)
    assert record.model == "team/*"
    assert scope["litellm_bridge.parsed_body"] == {"model": "team/coder"}
    refused(request(gate, "other")[0])


def test_gemini_model_comes_from_the_path() -> None:
    names = ModelNames(["corp-llm", "corp-other"])
    gate, _, _ = make_gate({"models": {"allow": ["corp-*"], "deny": ["corp-llm"]}}, names)
    assert refused(request(gate, "corp-llm", GEMINI, body=b"{}")[0]).reason == "model_denied"
    admitted(request(gate, "corp-other", GEMINI, body=b"{}")[0])


def test_a_malformed_policy_refuses_every_model() -> None:
    gate, _, _ = make_gate({"limits": {"rpm": "lots"}})
    assert refused(request(gate, "anything")[0]).reason == "model_denied"


def test_rpm_bucket_refills_at_the_limit_rate_and_survives_the_same_policy_resent() -> None:
    gate, state, clock = make_gate({"limits": {"rpm": 2}})
    admitted(request(gate, "m")[0])
    admitted(request(gate, "m")[0])
    over = refused(request(gate, "m")[0])
    assert over.reason == "rpm" and over.retry_after == pytest.approx(30.0)
    headers = dict(over.response_headers())
    assert headers[b"retry-after"] == b"30"
    assert headers[b"x-ratelimit-limit-requests"] == b"2"
    assert headers[b"x-ratelimit-remaining-requests"] == b"0"
    assert headers[b"x-ratelimit-reset-requests"] == b"1m0s"
    state.policy = {"limits": {"rpm": 2}}  # the same limits, a new message: same bucket
    refused(request(gate, "m")[0])
    clock.advance(30)
    admitted(request(gate, "m")[0])
    state.policy = {"limits": {"rpm": 3}}  # a new limit starts full
    for _ in range(3):
        admitted(request(gate, "m")[0])


def test_tokens_are_charged_at_the_end_from_usage_or_bytes() -> None:
    gate, _, clock = make_gate({"limits": {"tpm": 60}})
    first, record, _ = request(gate, "m")
    record.status, record.tokens_in, record.tokens_out = 200, 50, 20
    # It held its prompt estimate (14 bytes / 4 = 3 tokens) and is charged the other 67:
    # 70 of 60, 10 in debt, and the next one needs its own 3.
    admitted(first).settled(record)
    over = refused(request(gate, "m")[0])
    assert over.reason == "tpm" and over.retry_after == pytest.approx(13.0, abs=0.01)
    clock.advance(13.5)
    second, record, _ = request(gate, "m")
    record.status, record.bytes_in, record.bytes_out = 200, 400, 0  # no usage: bytes / 4
    admitted(second).settled(record)
    assert refused(request(gate, "m")[0]).reason == "tpm"


def big_request(tokens: int) -> bytes:
    """A chat body of about ``tokens`` estimated tokens (4 bytes each)."""
    head = b'{"model": "m", "messages": [{"role": "user", "content": "'
    tail = b'"}]}'
    return head + b"x" * (tokens * 4 - len(head) - len(tail)) + tail


def test_parallel_large_requests_cannot_all_start_on_the_last_tokens() -> None:
    gate, _, _ = make_gate({"limits": {"tpm": 100}})
    first = admitted(request(gate, "m", body=big_request(50))[0])
    admitted(request(gate, "m", body=big_request(50))[0])
    # Neither has ended: without a reservation each would see 100 tokens left.
    assert refused(request(gate, "m", body=big_request(50))[0]).reason == "tpm"
    assert first.reserved == 50
    # A prompt larger than the whole limit still runs once the bucket is full.
    gate, _, _ = make_gate({"limits": {"tpm": 100}})
    assert admitted(request(gate, "m", body=big_request(500))[0]).reserved == 100


def test_a_new_bucket_starts_from_the_agents_last_minute_not_full() -> None:
    # What a sidecar after a config swap or restart sees: the agent's record of the last
    # minute over every sidecar ([epoch second, model, requests, tokens]).
    gate, state, clock = make_gate({"limits": {"rpm": 3}})
    state.usage = {"recent": [[clock.wall - 10, "m", 2, 0], ["bad"], [None, "m", 1, 1]]}
    admitted(request(gate, "m")[0])  # 2 taken 10 s ago: 1.5 left, not 3
    assert refused(request(gate, "m")[0]).reason == "rpm"
    gate, state, clock = make_gate({"limits": {"tpm": 1200}})
    state.usage = {"recent": [[clock.wall - 1, "m", 1, 1190]]}
    assert refused(request(gate, "m", body=big_request(40))[0]).reason == "tpm"  # ~30 left
    # Per model: only that model's entries count against its bucket.
    gate, state, clock = make_gate({"limits": {"per_model": {"m": {"rpm": 1}}}})
    state.usage = {"recent": [[clock.wall - 1, "other", 5, 0]]}
    admitted(request(gate, "m")[0])
    # Entries older than a minute are refilled already.
    gate, state, clock = make_gate({"limits": {"rpm": 2}})
    state.usage = {"recent": [[clock.wall - 120, "m", 5, 0]]}
    admitted(request(gate, "m")[0])
    admitted(request(gate, "m")[0])


def test_per_model_limits_apply_to_the_asked_or_the_configured_name() -> None:
    names = ModelNames(["corp-llm"], {"alias": "corp-llm"})
    gate, _, _ = make_gate({"limits": {"per_model": {"corp-llm": {"rpm": 1}}}}, names)
    admitted(request(gate, "alias")[0])
    assert refused(request(gate, "corp-llm")[0]).reason == "model_rpm"
    admitted(request(gate, "other")[0])


def test_max_parallel_counts_until_release() -> None:
    gate, _, _ = make_gate({"limits": {"max_parallel": 1}})
    first = admitted(request(gate, "m")[0])
    assert refused(request(gate, "m")[0]).reason == "max_parallel"
    first.release()
    first.release()  # twice is once
    assert gate.running == 0
    admitted(request(gate, "m")[0])


def test_quota_uses_the_agents_counts_until_their_period_ends() -> None:
    gate, state, clock = make_gate({"quota": {"requests_per_day": 2, "timezone": "UTC"}})
    state.usage = {
        "requests_today": 1,
        "resets": {"day": clock.wall + 60, "month": clock.wall + 120},
    }
    admitted(request(gate, "m")[0])  # 1 + this one = 2
    over = refused(request(gate, "m")[0])
    assert over.reason == "requests_per_day" and over.retry_after == pytest.approx(60)
    assert "2026-01-01T00:01+00:00" in over.message
    clock.advance(61)  # a new day: the agent's count is of yesterday
    admitted(request(gate, "m")[0])
    admitted(request(gate, "m")[0])
    refused(request(gate, "m")[0])
    state.usage = {"requests_today": 0, "resets": {"day": clock.wall + 600}}  # a new message
    admitted(request(gate, "m")[0])


def test_token_quota_counts_tokens_spent_here() -> None:
    gate, state, _ = make_gate({"quota": {"tokens_per_month": 100}})
    state.usage = None  # no message yet: this sidecar's own count, periods from the zone
    first, record, _ = request(gate, "m")
    record.status, record.tokens_in, record.tokens_out = 200, 60, 40
    admitted(first).settled(record)
    over = refused(request(gate, "m")[0])
    assert over.reason == "tokens_per_month"
    assert "2026-02-01T00:00+00:00" in over.message


def test_periods_end_at_local_midnight_and_on_the_first() -> None:
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    noon = 1_767_268_800.0  # 2026-01-01T12:00:00Z
    assert next_day_start(noon, berlin) == 1_767_308_400.0  # 2026-01-01T23:00:00Z
    assert next_month_start(1_764_590_400.0, berlin) == 1_767_222_000.0  # December -> January


def test_reset_text_is_written_like_openai() -> None:
    assert reset_text(0.02) == "20ms"
    assert reset_text(1.5) == "1.5s"
    assert reset_text(360) == "6m0s"


def test_a_policy_allowing_no_model_says_it_may_be_invalid() -> None:
    gate, _, _ = make_gate({"models": {"allow": [], "deny": []}})
    assert "organization policy is invalid" in refused(request(gate, "m")[0]).message
    gate, _, _ = make_gate({"models": "everything"})
    assert "organization policy invalid" in refused(request(gate, "m")[0]).message
