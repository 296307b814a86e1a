"""The usage tracker inside a real agent core (its thread, queue and snapshots) with real
files: what it counts from every sidecar generation, when it tells the core and saves, and
how it survives a broken file. Its clocks are injected and it is ticked by hand."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.helpers.host import Host
from tray_agent.core.agent import Agent
from tray_agent.core.events import SidecarEvent, TokenStateChanged
from tray_agent.paths import Paths
from tray_agent.policy.events import PolicyChanged
from tray_agent.policy.schema import Policy
from tray_agent.policy.usage import UsageTracker, read_summary
from tray_agent.secrets import MemoryStore

BERLIN = "Europe/Berlin"
QUOTA = {
    "requests_per_day": 10,
    "tokens_per_day": 1000,
    "tokens_per_month": 5000,
    "timezone": BERLIN,
}


class Clocks:
    def __init__(self, wall: float) -> None:
        self.now = wall
        self.mono = 1000.0

    def wall(self) -> float:
        return self.now

    def clock(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


@pytest.fixture
def core(paths: Paths) -> Iterator[Agent]:
    agent = Agent(paths, MemoryStore())
    agent.start_thread()
    try:
        yield agent
    finally:
        agent.shutdown(10)


def _noon() -> float:
    return dt.datetime(2026, 7, 1, 12, tzinfo=ZoneInfo(BERLIN)).timestamp()


def _tracker(core: Agent, paths: Paths, clocks: Clocks) -> UsageTracker:
    return UsageTracker(Host(core, paths, core.secrets), wall=clocks.wall, clock=clocks.clock)


def _request(generation: int, tokens: int = 30) -> SidecarEvent:
    return SidecarEvent(
        generation,
        {
            "event": "request",
            "route": "/v1/chat/completions",
            "model": "corp-llm",
            "status": 200,
            "latency_ms": 3.0,
            "stream": False,
            "tokens_in": tokens - 10,
            "tokens_out": 10,
        },
    )


def _settle(core: Agent) -> dict[str, Any]:
    """The snapshot once the core has handled everything posted so far."""
    core.call("status").result(10)
    return core.snapshot()


def _usage(core: Agent) -> dict[str, Any] | None:
    usage: dict[str, Any] | None = _settle(core)["policy"].get("usage")
    return usage


def _policy(core: Agent, quota: dict[str, Any] | None) -> None:
    """What the policy watcher posts: the view carries the effective policy's document."""
    policy = Policy.model_validate({"quota": quota}) if quota else Policy()
    view = {"source": ["policy.json"], "valid": True, "error": None, "refused": None}
    view["effective"] = policy.model_dump(mode="json")
    core.post(PolicyChanged(policy.enforced() if quota else None, view))
    _settle(core)


def test_both_sidecars_of_a_swap_count_into_one_total_that_status_shows(
    core: Agent, paths: Paths
) -> None:
    clocks = Clocks(_noon())
    tracker = _tracker(core, paths, clocks)
    _policy(core, QUOTA)
    core.post(TokenStateChanged({"state": "valid", "employee_id": "e1001", "expires_at": None}))
    _settle(core)
    tracker.tick()
    for generation in (1, 2, 1, 2):
        core.post(_request(generation))
    _settle(core)
    clocks.advance(1.0)
    tracker.tick()
    usage = _usage(core)
    assert usage is not None
    assert usage["employee_id"] == "e1001"
    assert (usage["requests_today"], usage["tokens_today"], usage["tokens_month"]) == (4, 120, 120)
    assert usage["period"] == {"day": "2026-07-01", "month": "2026-07", "timezone": BERLIN}
    assert usage["quota"] == {k: v for k, v in QUOTA.items() if k != "timezone"}
    tomorrow = dt.datetime(2026, 7, 2, tzinfo=ZoneInfo(BERLIN)).timestamp()
    assert usage["resets"]["day"] == tomorrow
    tracker.stop()


def test_posts_at_most_once_a_second_and_saves_at_most_every_two(core: Agent, paths: Paths) -> None:
    clocks = Clocks(_noon())
    tracker = _tracker(core, paths, clocks)
    file = paths.data_dir / "usage.json"
    tracker.tick()  # the start: the (empty) usage is posted at once
    assert _usage(core) is not None and _usage(core)["requests_today"] == 0  # type: ignore[index]
    core.post(_request(1))
    _settle(core)
    clocks.advance(0.5)
    tracker.tick()
    assert _usage(core)["requests_today"] == 0  # type: ignore[index]
    clocks.advance(0.5)
    tracker.tick()
    assert _usage(core)["requests_today"] == 1  # type: ignore[index]
    assert not file.exists()  # 1 s since the tracker started: not saved yet
    clocks.advance(1.0)
    tracker.tick()
    saved = json.loads(file.read_text())
    assert saved["employees"]["unknown"]["requests_today"] == 1
    core.post(_request(1))
    _settle(core)
    tracker.stop()  # stopping saves at once
    assert json.loads(file.read_text())["employees"]["unknown"]["requests_today"] == 2
    assert read_summary(paths, now=clocks.now)["requests_today"] == 2  # type: ignore[index]


def test_a_new_day_is_posted_without_any_request(core: Agent, paths: Paths) -> None:
    clocks = Clocks(dt.datetime(2026, 7, 1, 23, 59, tzinfo=ZoneInfo(BERLIN)).timestamp())
    tracker = _tracker(core, paths, clocks)
    _policy(core, QUOTA)
    tracker.tick()
    core.post(_request(1))
    _settle(core)
    clocks.advance(1.0)
    tracker.tick()
    assert _usage(core)["requests_today"] == 1  # type: ignore[index]
    clocks.advance(60.0)  # 00:00:01 in Berlin
    tracker.tick()
    usage = _usage(core)
    assert usage is not None
    assert (usage["period"]["day"], usage["requests_today"], usage["tokens_month"]) == (
        "2026-07-02",
        0,
        30,
    )
    tracker.stop()


def test_usage_survives_a_new_tracker_and_follows_the_signed_in_employee(
    core: Agent, paths: Paths
) -> None:
    clocks = Clocks(_noon())
    first = _tracker(core, paths, clocks)
    core.post(TokenStateChanged({"state": "valid", "employee_id": "e1001"}))
    core.post(_request(1))
    core.post(_request(1))
    _settle(core)
    first.stop()
    core.post(TokenStateChanged({"state": "valid", "employee_id": "e2002"}))
    _settle(core)
    second = _tracker(core, paths, clocks)
    second.tick()
    assert _usage(core)["employee_id"] == "e2002"  # type: ignore[index]
    assert _usage(core)["requests_today"] == 0  # type: ignore[index]
    core.post(TokenStateChanged({"state": "absent", "employee_id": "e1001"}))  # signed out
    _settle(core)
    clocks.advance(1.0)
    second.tick()
    usage = _usage(core)
    assert usage is not None and (usage["employee_id"], usage["requests_today"]) == ("e1001", 2)
    second.stop()


def test_a_corrupt_file_loses_the_count_says_so_and_is_kept_aside(
    core: Agent, paths: Paths, caplog: pytest.LogCaptureFixture
) -> None:
    file = paths.data_dir / "usage.json"
    file.write_text('{"version": 1, "employees": {"e1001": {"day": "2026-07-01", "mon')
    clocks = Clocks(_noon())
    with caplog.at_level(logging.WARNING, logger="tray_agent.policy.usage"):
        tracker = _tracker(core, paths, clocks)
    assert "usage.file_unreadable" in caplog.text
    assert (paths.data_dir / "usage.json.corrupt").read_text().startswith('{"version": 1')
    tracker.tick()
    core.post(_request(1))
    _settle(core)
    tracker.stop()
    assert json.loads(file.read_text())["employees"]["unknown"]["requests_today"] == 1


def test_no_policy_still_counts_in_utc(core: Agent, paths: Paths) -> None:
    clocks = Clocks(_noon())
    tracker = _tracker(core, paths, clocks)
    _policy(core, QUOTA)
    _policy(core, None)  # the policy went away
    tracker.tick()
    usage = _usage(core)
    assert usage is not None
    assert usage["period"]["timezone"] == "UTC"
    assert set(usage["quota"].values()) == {None}
    tracker.stop()


def test_read_summary_without_any_file_is_none(paths: Paths) -> None:
    assert read_summary(paths) is None


def test_a_failing_save_is_logged_once_and_retried(
    core: Agent, paths: Paths, caplog: pytest.LogCaptureFixture
) -> None:
    clocks = Clocks(_noon())
    tracker = _tracker(core, paths, clocks)
    file = paths.data_dir / "usage.json"
    file.mkdir()  # nothing can replace a directory with a file
    (file / "keep").write_text("")
    with caplog.at_level(logging.WARNING, logger="tray_agent.policy.usage"):
        for _ in range(3):
            core.post(_request(1))
            _settle(core)
            clocks.advance(2.0)
            tracker.tick()
    assert caplog.text.count("usage.save_failed") == 1
    (file / "keep").unlink()
    file.rmdir()
    clocks.advance(2.0)
    tracker.tick()
    assert json.loads(file.read_text())["employees"]["unknown"]["requests_today"] == 3
    tracker.stop()
