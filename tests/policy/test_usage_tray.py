"""The real tray announces a quota at 80 % once: a real tray and agent under a real policy,
with usage already recorded today (no sidecar needed: the counts come from ``usage.json``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import write_config
from tests.conftest import free_port
from tests.policy.policy_files import needs_root, policy_dir, write_policy
from tests.tray import desktop
from tests.tray.desktop import NotificationMonitor
from tests.tray.trayproc import TrayProc
from tray_agent.policy.periods import period_at

pytestmark = [needs_root, pytest.mark.gui, pytest.mark.timeout(180)]

TITLE = "Daily request quota 80 % used"


@pytest.fixture
def notifications() -> Iterator[NotificationMonitor]:
    desktop.require_desktop()
    mon = NotificationMonitor()
    yield mon
    mon.close()


def _seed_usage(home: Path, requests_today: int) -> None:
    """What an earlier agent saved today (in the policy's zone), without any quota."""
    today = period_at(time.time(), "Europe/Berlin")
    data = home / "data"
    data.mkdir(parents=True, exist_ok=True)
    counts = {"day": today.day, "month": today.month, "requests_today": requests_today}
    (data / "usage.json").write_text(
        json.dumps(
            {
                "version": 1,
                "current": "unknown",
                "timezone": "Europe/Berlin",
                "quota": {},
                "employees": {"unknown": counts},
            }
        )
    )


def _quota_notices(tray: TrayProc) -> list[str]:
    return [n["title"] for n in tray.describe()["notices"] if n["kind"].startswith("quota")]


def test_the_tray_announces_80_percent_of_a_quota_once(
    tmp_path: Path, notifications: NotificationMonitor
) -> None:
    d = policy_dir(tmp_path)
    policy = d / "policy.json"
    write_policy(policy, {"quota": {"requests_per_day": 5, "timezone": "Europe/Berlin"}})
    home = tmp_path / "home"
    home.mkdir()
    write_config(home, free_port())
    _seed_usage(home, 4)
    mark = notifications.mark()
    tray = TrayProc(
        home,
        "--no-start",
        "--no-wizard",
        extra_env={"LITELLM_BRIDGE_POLICY_DIR": str(d), "LITELLM_BRIDGE_SECRET_STORE": "memory"},
    )
    try:
        _summary, body = notifications.wait_for(TITLE, 60, since=mark)
        assert "4 of 5 requests today" in body and "resets at" in body
        # A policy change re-posts the usage (a new snapshot for the tray): not a new period.
        write_policy(
            policy,
            {"quota": {"requests_per_day": 5, "timezone": "Europe/Berlin"}, "limits": {"rpm": 9}},
        )
        tray.wait_for(
            lambda _d: (tray.status()["policy"].get("effective") or {})["limits"]["rpm"] == 9,
            30,
            "the changed policy",
        )
        seen_at = time.monotonic()
        while time.monotonic() - seen_at < 3:  # a few of the tray's status polls
            assert _quota_notices(tray) == [TITLE]
            time.sleep(0.2)
        assert len(notifications.matching(TITLE, since=mark)) == 1
    finally:
        tray.stop()
