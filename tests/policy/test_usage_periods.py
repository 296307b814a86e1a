"""Quota periods in the policy's time zone: midnight, the first of the month, daylight saving
time (23- and 25-hour days) and zones that skip midnight itself. Fixed instants, no sleeping."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tray_agent.policy.periods import period_at


def _at(zone: str, *wall: int) -> float:
    """The epoch of a wall-clock time in ``zone``."""
    return dt.datetime(*wall, tzinfo=ZoneInfo(zone)).timestamp()  # type: ignore[arg-type,misc]


def test_the_day_turns_at_local_midnight_not_utc_midnight() -> None:
    before = period_at(_at("Europe/Berlin", 2026, 6, 10, 23, 59, 59), "Europe/Berlin")
    after = period_at(_at("Europe/Berlin", 2026, 6, 11, 0, 0, 0), "Europe/Berlin")
    assert (before.day, after.day) == ("2026-06-10", "2026-06-11")
    # Berlin's midnight is 22:00 UTC in summer: in UTC both instants are on 2026-06-10.
    assert period_at(_at("Europe/Berlin", 2026, 6, 11, 0, 0, 0), "UTC").day == "2026-06-10"
    assert before.day_reset == _at("Europe/Berlin", 2026, 6, 11)  # local midnight
    assert after.day_reset == _at("Europe/Berlin", 2026, 6, 12)


def test_the_month_starts_on_the_first_at_local_midnight() -> None:
    last = period_at(_at("Asia/Tokyo", 2026, 1, 31, 23, 59, 59), "Asia/Tokyo")
    first = period_at(_at("Asia/Tokyo", 2026, 2, 1, 0, 0, 0), "Asia/Tokyo")
    assert (last.month, first.month) == ("2026-01", "2026-02")
    assert last.month_reset == _at("Asia/Tokyo", 2026, 2, 1)
    assert first.month_reset == _at("Asia/Tokyo", 2026, 3, 1)
    december = period_at(_at("Asia/Tokyo", 2026, 12, 15, 12), "Asia/Tokyo")
    assert december.month_reset == _at("Asia/Tokyo", 2027, 1, 1)
    leap = period_at(_at("Asia/Tokyo", 2028, 2, 29, 12), "Asia/Tokyo")
    assert (leap.day, leap.month_reset) == ("2028-02-29", _at("Asia/Tokyo", 2028, 3, 1))


def test_dst_start_makes_a_23_hour_day_and_dst_end_a_25_hour_day() -> None:
    spring = period_at(_at("Europe/Berlin", 2026, 3, 29, 1, 30), "Europe/Berlin")
    assert spring.day == "2026-03-29"
    assert spring.day_reset - _at("Europe/Berlin", 2026, 3, 29) == 23 * 3600
    autumn = period_at(_at("Europe/Berlin", 2026, 10, 25, 12), "Europe/Berlin")
    assert autumn.day == "2026-10-25"
    assert autumn.day_reset - _at("Europe/Berlin", 2026, 10, 25) == 25 * 3600
    # The hour that happens twice (02:00-03:00 on 25 October) is on the same day both times.
    first = dt.datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    second = dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    assert second - first == 3600
    assert period_at(first, "Europe/Berlin") == period_at(second, "Europe/Berlin")


@pytest.mark.parametrize(
    ("zone", "day"),
    [("America/Santiago", dt.date(2026, 9, 6)), ("Asia/Beirut", dt.date(2026, 3, 29))],
)
def test_a_zone_that_skips_midnight_starts_the_day_at_the_clock_change(
    zone: str, day: dt.date
) -> None:
    """There is no 00:00 on these days: the clocks jump from 23:59:59 to 01:00."""
    eve = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(12), tzinfo=ZoneInfo(zone))
    reset = period_at(eve.timestamp(), zone).day_reset
    assert dt.datetime.fromtimestamp(reset, ZoneInfo(zone)).time() == dt.time(1, 0)
    assert period_at(reset, zone).day == day.isoformat()
    assert period_at(reset - 1, zone).day == (day - dt.timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
)
def test_every_reset_is_the_first_instant_of_the_next_day_all_year(zone: str) -> None:
    """Every 7 hours through 2026: the reset lies ahead, and one second before it is still the
    same day while the reset itself is the next one."""
    now = _at(zone, 2026, 1, 1)
    end = _at(zone, 2027, 1, 1)
    while now < end:
        p = period_at(now, zone)
        assert now < p.day_reset <= p.month_reset
        assert period_at(p.day_reset - 1, zone).day == p.day
        nxt = period_at(p.day_reset, zone)
        assert nxt.day == (dt.date.fromisoformat(p.day) + dt.timedelta(days=1)).isoformat()
        assert (
            period_at(p.month_reset - 1, zone).month
            == p.month
            != period_at(p.month_reset, zone).month
        )
        now += 7 * 3600


def test_the_period_names_its_zone_and_no_zone_means_utc() -> None:
    p = period_at(_at("UTC", 2026, 12, 1, 23, 15), None)
    assert p.as_dict() == {"day": "2026-12-01", "month": "2026-12", "timezone": "UTC"}
    assert period_at(0, "America/New_York").as_dict()["timezone"] == "America/New_York"
