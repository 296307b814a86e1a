"""Tray notices at 80 % and 100 % of each quota, once per period, from status snapshots (the
notices module is pure: no display, no agent)."""

from __future__ import annotations

import copy
from typing import Any

from tray_agent.tray.notices import Notices

BASE: dict[str, Any] = {
    "sidecar": {"state": "running", "url": "http://127.0.0.1:4000", "restarts": 0, "error": None},
    "config": {"valid": True, "errors": []},
    "token": {"state": "valid", "expires_at": 2_000_000_000.0, "employee_id": "e1001"},
}
QUOTA = {"requests_per_day": 100, "tokens_per_day": 10_000, "tokens_per_month": 200_000}


def snap(
    requests: int = 0,
    tokens: int = 0,
    month: int = 0,
    day: str = "2026-07-01",
    employee: str | None = "e1001",
    quota: dict[str, Any] | None = None,
) -> dict[str, Any]:
    s = copy.deepcopy(BASE)
    s["policy"] = {
        "source": ["/etc/litellm-bridge/policy.json"],
        "valid": True,
        "usage": {
            "employee_id": employee,
            "period": {"day": day, "month": day[:7], "timezone": "Europe/Berlin"},
            "requests_today": requests,
            "tokens_today": tokens,
            "tokens_month": month,
            "resets": {"day": 1_782_943_200.0, "month": 1_785_535_200.0},
            "quota": QUOTA if quota is None else quota,
        },
    }
    return s


def kinds(notices: Notices, s: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n.kind, n.title) for n in notices.update(s)]


def test_80_and_100_percent_are_announced_once_each_per_day() -> None:
    n = Notices()
    assert kinds(n, snap(requests=79)) == []
    assert kinds(n, snap(requests=80)) == [("quota-warning", "Daily request quota 80 % used")]
    assert kinds(n, snap(requests=81)) == []
    assert kinds(n, snap(requests=99)) == []
    assert kinds(n, snap(requests=100)) == [("quota-reached", "Daily request quota used up")]
    assert kinds(n, snap(requests=100)) == []
    # A new day: the count starts over, and so do the notices.
    assert kinds(n, snap(requests=3, day="2026-07-02")) == []
    assert kinds(n, snap(requests=85, day="2026-07-02")) == [
        ("quota-warning", "Daily request quota 80 % used")
    ]


def test_a_jump_past_both_levels_announces_only_the_higher() -> None:
    n = Notices()
    got = n.update(snap(tokens=12_000))
    assert [(x.kind, x.title) for x in got] == [("quota-reached", "Daily token quota used up")]
    assert "12,000 of 10,000 tokens today" in got[0].message
    assert "refused until the quota resets at" in got[0].message
    assert kinds(n, snap(tokens=12_000)) == []


def test_each_quota_has_its_own_notice_and_the_month_its_own_period() -> None:
    n = Notices()
    got = kinds(n, snap(requests=80, tokens=8_000, month=160_000))
    assert got == [
        ("quota-warning", "Daily request quota 80 % used"),
        ("quota-warning", "Daily token quota 80 % used"),
        ("quota-warning", "Monthly token quota 80 % used"),
    ]
    # The next day in the same month: the daily ones may come again, the monthly one not.
    got = kinds(n, snap(requests=90, tokens=9_000, month=170_000, day="2026-07-02"))
    assert got == [
        ("quota-warning", "Daily request quota 80 % used"),
        ("quota-warning", "Daily token quota 80 % used"),
    ]
    assert kinds(n, snap(month=10_000, day="2026-08-01")) == []  # a new month starts low
    assert kinds(n, snap(month=160_000, day="2026-08-20")) == [
        ("quota-warning", "Monthly token quota 80 % used")
    ]


def test_usage_missing_for_a_moment_does_not_repeat_the_notice() -> None:
    """A restarted agent or a policy reload shows no usage for a moment: not a new period."""
    n = Notices()
    assert kinds(n, snap(requests=100)) == [("quota-reached", "Daily request quota used up")]
    gone = snap()
    gone["policy"]["usage"] = None
    assert kinds(n, gone) == []
    del gone["policy"]
    assert kinds(n, gone) == []
    assert kinds(n, snap(requests=100)) == []


def test_another_employee_has_their_own_notices() -> None:
    n = Notices()
    assert kinds(n, snap(requests=100)) == [("quota-reached", "Daily request quota used up")]
    assert kinds(n, snap(requests=100, employee="e2002")) == [
        ("quota-reached", "Daily request quota used up")
    ]
    assert kinds(n, snap(requests=100)) == []  # e1001 was told today already


def test_no_quota_zero_quota_or_nonsense_announces_nothing() -> None:
    n = Notices()
    assert kinds(n, snap(requests=10**6, quota={})) == []
    assert kinds(n, snap(requests=5, quota={"requests_per_day": None})) == []
    assert kinds(n, snap(requests=5, quota={"requests_per_day": 0})) == []
    assert kinds(n, snap(requests=5, quota={"requests_per_day": "5"})) == []
    weird = snap(requests=100)
    weird["policy"]["usage"]["requests_today"] = "100"
    assert kinds(n, weird) == []


def test_quota_notices_live_beside_the_other_notices() -> None:
    n = Notices()
    s = snap(requests=80)
    s["sidecar"]["state"] = "crashed"
    assert sorted(k for k, _ in kinds(n, s)) == ["crashed", "quota-warning"]
