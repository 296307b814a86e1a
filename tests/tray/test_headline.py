"""The tray's headline (menu's first line and tooltip): state, start progress, requests in
the last minute, token expiry and the quota left."""

from __future__ import annotations

import copy
from typing import Any

from tray_agent.tray.view import TOOLTIP_MAX, build_view, quota_left

NOW = 2_000_000_000.0
RUNNING: dict[str, Any] = {
    "sidecar": {"state": "running", "url": "http://127.0.0.1:40123", "restarts": 0},
    "token": {"state": "valid", "expires_at": NOW + 3600},
    "config": {"valid": True},
    "requests": {"last_minute": 14, "errors_last_minute": 0},
}
QUOTA = {
    "usage": {
        "requests_today": 120,
        "tokens_today": 49_000,
        "tokens_month": 0,
        "quota": {"requests_per_day": 500, "tokens_per_day": 50_000, "tokens_per_month": None},
    }
}


def snap(**parts: Any) -> dict[str, Any]:
    s = copy.deepcopy(RUNNING)
    for k, v in parts.items():
        s[k] = {**s[k], **v} if isinstance(s.get(k), dict) and isinstance(v, dict) else v
    return s


def test_running_headline_has_requests_and_token_and_the_tooltip_the_same() -> None:
    v = build_view(snap(), now=NOW)
    assert v.headline.startswith("Proxy running at http://127.0.0.1:40123 · 14 requests/min")
    assert "token valid until" in v.headline
    lines = v.tooltip.splitlines()
    assert lines[0] == "LiteLLM Bridge: running"
    assert "14 requests/min" in lines and any(ln.startswith("token valid") for ln in lines)


def test_the_tightest_quota_is_shown_when_one_applies() -> None:
    assert quota_left(None) is None and quota_left({"usage": None}) is None
    assert quota_left({"usage": {"quota": {"requests_per_day": None}}}) is None
    # 380 of 500 requests (76 %) vs 1,000 of 50,000 tokens (2 %) left: tokens are tighter.
    assert quota_left(QUOTA) == "1000 of 50k tokens left today"
    v = build_view(snap(policy=QUOTA), now=NOW)
    assert v.headline.endswith("· 1000 of 50k tokens left today")
    assert "1000 of 50k tokens left today" in v.tooltip
    assert len(v.tooltip) <= TOOLTIP_MAX
    spent = copy.deepcopy(QUOTA)
    spent["usage"]["requests_today"] = 700
    assert quota_left(spent) == "0 of 500 requests left today"


def test_starting_shows_progress_against_the_last_start() -> None:
    starting = snap(
        sidecar={"state": "starting"},
        start={"state": "starting", "elapsed": 6.2, "last_duration": 15.0},
    )
    v = build_view(starting, now=NOW)
    assert v.headline.startswith("Proxy starting (6 s of ~15 s)")
    assert v.tooltip.startswith("LiteLLM Bridge: starting (6 s of ~15 s)")
    assert "requests/min" not in v.tooltip  # nothing is served while starting
    first = snap(sidecar={"state": "starting"}, start={"elapsed": 3.0, "last_duration": None})
    assert build_view(first, now=NOW).headline.startswith("Proxy starting (3 s)")
    # The core's own snapshot (no polled parts yet) still reads plainly.
    plain = {"sidecar": {"state": "starting"}, "token": {}, "config": {}}
    assert build_view(plain, now=NOW).headline == "Proxy starting"


def test_a_full_tooltip_drops_the_url_before_cutting_text() -> None:
    long = snap(
        policy=QUOTA,
        sidecar={"url": "http://127.0.0.1:40123"},
        token={"state": "expiring", "expires_at": NOW + 60},
        config={"valid": False},
    )
    v = build_view(long, now=NOW)
    assert len(v.tooltip) <= TOOLTIP_MAX
    assert "tokens left today" in v.tooltip and "…" not in v.tooltip
