"""Refresh timing: ~2/3 of the remaining lifetime with bounded jitter; capped backoff."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from tray_agent.token.schedule import (
    DEFAULT_POLICY,
    RefreshPolicy,
    backoff_delay,
    refresh_at,
    refresh_window,
)

times = st.floats(min_value=1e9, max_value=4e9, allow_nan=False)
lifetimes = st.floats(min_value=0.5, max_value=30 * 86400, allow_nan=False)


@given(now=times, lifetime=lifetimes, seed=st.integers(0, 2**32))
def test_refresh_falls_in_the_window_before_expiry(now: float, lifetime: float, seed: int) -> None:
    at = refresh_at(now, now + lifetime, random.Random(seed))
    earliest, latest = refresh_window(now, now + lifetime)
    assert earliest - 1e-6 <= at <= latest + 1e-6
    assert now < at < now + lifetime
    margin = min(DEFAULT_POLICY.safety_margin, lifetime * DEFAULT_POLICY.safety_share)
    assert at <= now + lifetime - margin + 1e-6


def test_one_hour_token_refreshes_after_about_forty_minutes() -> None:
    rng = random.Random(1)
    delays = [refresh_at(0.0, 3600.0, rng) for _ in range(500)]
    assert min(delays) >= 3600 * 2 / 3 * 0.9 - 1e-6
    assert max(delays) <= 3600 * 2 / 3 + 1e-6
    assert max(delays) - min(delays) > 100  # jitter actually spreads machines out


def test_safety_margin_wins_for_short_lifetimes() -> None:
    policy = RefreshPolicy(fraction=0.99, jitter=0.0, safety_margin=30.0)
    assert refresh_at(0.0, 600.0, random.Random(0), policy) == 570.0
    assert refresh_at(0.0, 60.0, random.Random(0), policy) == 45.0  # a quarter of 60 s


def test_expired_token_is_due_now() -> None:
    assert refresh_at(100.0, 50.0, random.Random(0)) == 100.0


@given(attempt=st.integers(1, 50), seed=st.integers(0, 2**32))
def test_backoff_is_capped_and_never_zero(attempt: int, seed: int) -> None:
    delay = backoff_delay(attempt, random.Random(seed))
    expected = min(DEFAULT_POLICY.backoff_max, 2.0 ** (attempt - 1))
    assert expected / 2 <= delay <= expected


def test_backoff_grows_then_plateaus() -> None:
    rng = random.Random(3)
    means = [sum(backoff_delay(a, rng) for _ in range(200)) / 200 for a in range(1, 10)]
    assert means[0] < means[2] < means[4] < means[6]
    assert means[-1] <= DEFAULT_POLICY.backoff_max


def test_retry_after_is_honoured_but_bounded() -> None:
    rng = random.Random(0)
    assert backoff_delay(1, rng, retry_after=20) == 20
    assert backoff_delay(1, rng, retry_after=10**6) == DEFAULT_POLICY.max_retry_after
