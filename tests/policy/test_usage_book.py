"""What a request adds to the quota counters, how they roll over, and their file: real files,
a fixed clock."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tray_agent.policy.usage_book import UsageBook, charge, load_book, write_book

BERLIN = "Europe/Berlin"


def _berlin(*wall: int) -> float:
    return dt.datetime(*wall, tzinfo=ZoneInfo(BERLIN)).timestamp()  # type: ignore[arg-type,misc]


def _ok(tokens_in: object = 10, tokens_out: object = 5, **extra: object) -> dict[str, object]:
    return {
        "event": "request",
        "route": "/v1/chat/completions",
        "model": "corp-llm",
        "status": 200,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        **extra,
    }


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (_ok(), (1, 15)),
        (_ok(None, None), (1, 0)),  # tokens unknown: the request still counts
        (_ok(route="/v1/messages"), (1, 15)),
        (_ok(route="/v1beta/models/corp-llm:streamGenerateContent", stream=True), (1, 15)),
        (_ok(status=502, tokens_in=None, tokens_out=None), (0, 0)),  # upstream failed
        (_ok(status=500, error="APIConnectionError"), (0, 15)),  # used tokens still count
        (_ok(status=401, tokens_in=None, tokens_out=None), (0, 0)),  # wrong key
        (_ok(status=429, refused="quota", tokens_in=None, tokens_out=None), (0, 0)),
        (_ok(status=403, refused="model"), (0, 0)),  # refused by the bridge: nothing upstream
        (_ok(route="/v1/models", tokens_in=None, tokens_out=None), (0, 0)),
        (_ok(route="/v1/messages/count_tokens"), (0, 0)),
        (_ok(route="/v1beta/models/corp-llm:countTokens"), (0, 0)),
        (_ok(tokens_in=-5, tokens_out=True), (1, 0)),  # nonsense numbers count nothing
        (_ok(tokens_in=1.5, tokens_out="7"), (1, 0)),
        (_ok(status=None), (0, 15)),
    ],
)
def test_what_a_request_event_adds(payload: dict[str, object], expected: tuple[int, int]) -> None:
    assert charge(payload) == expected


def _book(quota: dict[str, object] | None = None) -> UsageBook:
    book = UsageBook()
    book.set_quota({"tokens_per_day": 1000, "timezone": BERLIN, **(quota or {})})
    book.set_employee("e1001")
    return book


def test_counters_start_again_at_local_midnight_and_the_month_on_the_first() -> None:
    book = _book()
    book.record(_ok(), _berlin(2026, 1, 31, 23, 59))
    book.record(_ok(), _berlin(2026, 1, 31, 23, 59, 59))
    u = book.usage(_berlin(2026, 1, 31, 23, 59, 59))
    assert (u["requests_today"], u["tokens_today"], u["tokens_month"]) == (2, 30, 30)
    assert u["period"] == {"day": "2026-01-31", "month": "2026-01", "timezone": BERLIN}
    assert u["resets"] == {"day": _berlin(2026, 2, 1), "month": _berlin(2026, 2, 1)}
    # One second later, in Berlin, it is February: day and month start from zero.
    u = book.usage(_berlin(2026, 2, 1))
    assert (u["requests_today"], u["tokens_today"], u["tokens_month"]) == (0, 0, 0)
    book.record(_ok(), _berlin(2026, 2, 1, 8))
    book.record(_ok(), _berlin(2026, 2, 2, 8))  # a new day, the same month
    u = book.usage(_berlin(2026, 2, 2, 8))
    assert (u["requests_today"], u["tokens_today"], u["tokens_month"]) == (1, 15, 30)
    assert u["employee_id"] == "e1001"
    assert u["quota"] == {
        "requests_per_day": None,
        "tokens_per_day": 1000,
        "tokens_per_month": None,
    }


def test_a_day_in_utc_is_not_a_day_in_berlin() -> None:
    """23:30 UTC on 10 June is already 11 June in Berlin: a request there is on a new day."""
    utc = _book({"timezone": "UTC"})
    berlin = _book()
    first = dt.datetime(2026, 6, 10, 12, tzinfo=dt.UTC).timestamp()
    late = dt.datetime(2026, 6, 10, 23, 30, tzinfo=dt.UTC).timestamp()
    for book in (utc, berlin):
        book.record(_ok(), first)
        book.record(_ok(), late)
    assert utc.usage(late)["requests_today"] == 2
    assert berlin.usage(late)["requests_today"] == 1
    assert berlin.usage(late)["tokens_month"] == 30


def test_the_dst_night_is_one_day() -> None:
    book = _book()
    book.record(_ok(), _berlin(2026, 3, 29, 0, 30))  # before the clocks jump 02:00 -> 03:00
    book.record(_ok(), _berlin(2026, 3, 29, 3, 30))
    book.record(_ok(), _berlin(2026, 3, 29, 23, 59))
    assert book.usage(_berlin(2026, 3, 29, 23, 59))["requests_today"] == 3
    assert book.usage(_berlin(2026, 3, 30))["requests_today"] == 0


def test_a_clock_set_back_never_hands_out_a_fresh_quota() -> None:
    book = _book()
    book.record(_ok(), _berlin(2026, 5, 2, 9))
    # The wall clock goes back a day (or the policy moves west): the counts stay.
    book.record(_ok(), _berlin(2026, 5, 1, 9))
    u = book.usage(_berlin(2026, 5, 1, 9))
    assert (u["requests_today"], u["period"]["day"]) == (2, "2026-05-01")
    # The next real midnight does start again.
    assert book.usage(_berlin(2026, 5, 2, 0))["requests_today"] == 0


def test_each_employee_has_their_own_counters() -> None:
    book = _book()
    now = _berlin(2026, 7, 1, 10)
    book.record(_ok(), now)
    assert book.set_employee("e2002") is True
    book.record(_ok(), now)
    book.record(_ok(), now)
    assert book.usage(now)["requests_today"] == 2
    book.set_employee(None)
    u = book.usage(now)
    assert (u["employee_id"], u["requests_today"]) == (None, 0)
    book.set_employee("e1001")
    assert book.usage(now)["requests_today"] == 1


def test_the_file_keeps_everything_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "usage.json"
    book = _book({"requests_per_day": 50})
    now = _berlin(2026, 7, 1, 10)
    for _ in range(3):
        book.record(_ok(), now)
    write_book(book.to_json(), path)
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
    again, problem = load_book(path)
    assert problem is None
    assert again.usage(now) == book.usage(now)
    assert again.timezone == BERLIN and again.current == "e1001"


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"version": 99, "employees": {}}',
        b"\xff\xfe garbage",
        b'{"version": 1, "employees": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_an_unreadable_file_is_a_fresh_start_with_a_reason(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "usage.json"
    path.write_bytes(content)
    book, problem = load_book(path)
    assert problem and "usage" in problem
    assert book.employees == {}


def test_wrong_entries_are_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "usage.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "current": "e1001",
                "timezone": BERLIN,
                "quota": {"requests_per_day": "many"},
                "employees": {
                    "e1001": {"day": "2026-07-01", "month": "2026-07", "requests_today": 4},
                    "e2002": "nonsense",
                    "e3003": {"day": 5, "month": "2026-07"},
                    "e4004": {"day": "2026-07-01", "month": "2026-07", "tokens_today": -9},
                },
            }
        )
    )
    book, problem = load_book(path)
    assert problem is None
    assert set(book.employees) == {"e1001", "e4004"}
    assert book.employees["e4004"].tokens_today == 0
    assert book.quota["requests_per_day"] is None
    assert book.usage(_berlin(2026, 7, 1, 12))["requests_today"] == 4


def test_a_missing_file_is_no_problem(tmp_path: Path) -> None:
    book, problem = load_book(tmp_path / "usage.json")
    assert problem is None and book.employees == {}


def test_a_directory_or_huge_file_is_refused_not_read(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    assert load_book(tmp_path / "dir")[1]
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (2 << 20))
    assert load_book(big)[1]


def test_the_last_minute_goes_to_the_sidecars_and_survives_the_file(tmp_path: Path) -> None:
    # The window the sidecars replay into a new rate bucket (sidecar.policy.limits).
    book, now = UsageBook(), 1_767_225_600.0
    book.record(_ok(latency_ms=2500), now)  # started 2.5 s before its event arrived
    book.record(_ok(refused="rpm"), now)  # refused: the buckets took nothing
    book.record(_ok(route="/v1/models"), now)  # no generation request
    book.record(_ok(model="other", tokens_in=0, tokens_out=0), now + 1)
    assert book.usage(now + 1)["recent"] == [
        [int(now) - 3, "corp-llm", 1, 0],
        [int(now), "corp-llm", 0, 15],
        [int(now) + 1, "other", 1, 0],
    ]
    path = tmp_path / "usage.json"
    write_book(book.to_json(), path)
    again, problem = load_book(path)
    assert problem is None and again.usage(now + 1)["recent"] == book.usage(now + 1)["recent"]
    # A minute later it is gone; a malformed file entry is dropped, not fatal.
    assert again.usage(now + 62)["recent"] == []
    raw = json.loads(path.read_text())
    raw["recent"] = [["x"], [int(now), "corp-llm", "2", 1], 5]
    path.write_text(json.dumps(raw))
    assert load_book(path)[0].usage(now)["recent"] == [[int(now), "corp-llm", 0, 1]]
