"""Expiry parsing: epoch seconds, epoch milliseconds, ISO 8601, seconds from now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tray_agent.token.iam import IamResponseError, parse_expires_at, parse_expires_in


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1_900_000_000, 1_900_000_000.0),
        (1_900_000_000.5, 1_900_000_000.5),
        ("1900000000", 1_900_000_000.0),
        (1_900_000_000_000, 1_900_000_000.0),  # milliseconds
        ("2030-03-17T17:46:40Z", 1_900_000_000.0),
        ("2030-03-17T18:46:40+01:00", 1_900_000_000.0),
        ("2030-03-17T17:46:40", 1_900_000_000.0),  # no offset: UTC
        ("2030-03-17 17:46:40.250Z", 1_900_000_000.25),
    ],
)
def test_expires_at_shapes(raw: object, expected: float) -> None:
    assert parse_expires_at(raw) == pytest.approx(expected)


@pytest.mark.parametrize("raw", [None, True, "tomorrow", "", [], {}, -5, 0])
def test_bad_expires_at_names_the_path(raw: object) -> None:
    with pytest.raises(IamResponseError, match=r"data\.exp"):
        parse_expires_at(raw, "https://iam.example/login", "data.exp")


@pytest.mark.parametrize(("raw", "expected"), [(3600, 3600.0), ("90", 90.0), (1.5, 1.5)])
def test_expires_in_shapes(raw: object, expected: float) -> None:
    assert parse_expires_in(raw) == expected


@pytest.mark.parametrize("raw", [None, False, "soon", 0, -1, float("nan")])
def test_bad_expires_in(raw: object) -> None:
    with pytest.raises(IamResponseError, match="expires_in"):
        parse_expires_in(raw, "u", "expires_in")


@given(
    st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2900, 1, 1)),
    st.integers(-14 * 60, 14 * 60),
)
def test_any_iso_timestamp_round_trips(moment: datetime, offset_minutes: int) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    assert parse_expires_at(aware.isoformat()) == pytest.approx(aware.timestamp())
    assert parse_expires_at(aware.astimezone(UTC).isoformat().replace("+00:00", "Z")) == (
        pytest.approx(aware.timestamp())
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1_900_000_000_000_000, 1_900_000_000.0),  # microseconds
        (1_900_000_000_000_000_000, 1_900_000_000.0),  # nanoseconds
        ("1900000000000000", 1_900_000_000.0),
        ("9999-12-31T23:59:59Z", 253402300799.0),  # a date is never read as milliseconds
    ],
)
def test_expires_at_units_by_magnitude(raw: object, expected: float) -> None:
    assert parse_expires_at(raw) == pytest.approx(expected)


@pytest.mark.parametrize(
    "raw",
    [float("inf"), float("-inf"), float("nan"), 10**400, "1e400", "NaN", "Infinity", 1e25, False],
)
def test_non_finite_or_absurd_expires_at_is_refused(raw: object) -> None:
    with pytest.raises(IamResponseError, match=r"data\.session\.valid_until.*nothing was saved"):
        parse_expires_at(raw, "https://iam.example/login", "data.session.valid_until")


@pytest.mark.parametrize("raw", [float("inf"), 10**400, "1e400", "Infinity", "-3600", True])
def test_non_finite_or_negative_expires_in_is_refused(raw: object) -> None:
    with pytest.raises(IamResponseError, match=r"https://iam\.example/token.*expires_in"):
        parse_expires_in(raw, "https://iam.example/token", "expires_in")
