"""The metrics store: windows, percentiles, per-model breakdown, what counts as an error."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tray_agent.metrics.store import MetricsStore, percentile


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def ev(**kw: Any) -> dict[str, Any]:
    base = {"event": "request", "route": "/v1/chat/completions", "model": "m", "status": 200}
    base.update({"latency_ms": 10.0, "stream": False, "tokens_in": 1, "tokens_out": 2})
    base.update(kw)
    return base


def test_windows_forget_old_requests() -> None:
    clock = Clock()
    store = MetricsStore(clock=clock)
    store.record(ev())
    clock.now += 120
    store.record(ev(status=500))
    clock.now += 1000
    store.record(ev())
    w = store.summary()["windows"]
    assert (w["1m"]["requests"], w["15m"]["requests"], w["1h"]["requests"]) == (1, 1, 3)
    assert w["1h"]["errors"] == 1
    clock.now += 3601
    assert store.summary()["windows"]["1h"]["requests"] == 0
    assert store.summary()["total_requests"] == 3


def test_error_rules_match_what_the_client_saw() -> None:
    store = MetricsStore(clock=Clock())
    store.record(ev(status=401, error="HTTPException"))
    store.record(ev(status=200, error="InternalServerError"))  # retried, then answered
    store.record(ev(status=200, stream=True, error="ReadError"))  # stream broke
    store.record(ev(status=None))
    w = store.summary()["windows"]["1m"]
    assert w["requests"] == 4 and w["errors"] == 3 and w["streams"] == 1


def test_per_model_and_tokens_ignore_unknown_counts() -> None:
    store = MetricsStore(clock=Clock())
    store.record(ev(model="a", tokens_in=5, tokens_out=None))
    store.record(ev(model="b", tokens_in=None, tokens_out=7))
    store.record(ev(model=None, status=400, tokens_in=None, tokens_out=None))
    w = store.summary()["windows"]["15m"]
    assert set(w["models"]) == {"a", "b", "(none)"}
    assert w["tokens_in"] == 5 and w["tokens_out"] == 7
    assert w["models"]["(none)"]["errors"] == 1


def test_in_flight_reported_by_the_sidecar_is_kept() -> None:
    store = MetricsStore(clock=Clock())
    assert store.summary()["in_flight"] == {"requests": None, "connections": None}
    store.record(ev(in_flight=3))
    store.set_in_flight(connections=2)
    assert store.summary()["in_flight"] == {"requests": 3, "connections": 2}


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1))
def test_percentiles_are_values_of_the_sample_in_order(values: list[float]) -> None:
    data = sorted(values)
    p50, p95 = percentile(data, 50), percentile(data, 95)
    assert p50 in data and p95 in data
    assert p50 <= p95 <= data[-1]


def test_policy_refusals_are_counted_by_reason_and_shown() -> None:
    from tray_agent.metrics.format import format_metrics

    store = MetricsStore(clock=Clock())
    store.record(ev(status=403, error="PolicyRefused", refused="model_denied"))
    store.record(ev(status=429, error="PolicyRefused", refused="rpm"))
    store.record(ev(status=429, error="PolicyRefused", refused="rpm"))
    store.record(ev(status=429, error="RateLimitError"))  # the upstream's own 429
    summary = store.summary()
    w = summary["windows"]["1m"]
    assert w["refused"] == {"model_denied": 1, "rpm": 2}
    assert w["models"]["m"]["refused"] == {"model_denied": 1, "rpm": 2}
    assert "refused by policy: model_denied 1, rpm 2" in format_metrics(summary)
