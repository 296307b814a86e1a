"""Per-minute chart points of the last hour, the tray's headline and the start clock."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.metrics.test_store import Clock, ev
from tray_agent.core.startclock import StartClock, progress_text, read_last_duration
from tray_agent.metrics.store import SERIES_POINTS, MetricsStore, series
from tray_agent.paths import get_paths


def test_series_has_one_point_per_minute_with_counts_errors_and_percentiles() -> None:
    clock = Clock()
    clock.now = 1_000_020.0  # 20 s into a minute
    store = MetricsStore(clock=clock)
    for latency in (100.0, 200.0, 300.0, 400.0):
        store.record(ev(latency_ms=latency))
    store.record(ev(status=502, latency_ms=900.0))
    clock.now += 60  # the next minute
    store.record(ev(latency_ms=50.0))
    series = store.summary()["series"]
    assert len(series) == SERIES_POINTS
    assert [p["at"] for p in series] == sorted(p["at"] for p in series)
    last, before = series[-1], series[-2]
    assert last["at"] <= clock.now < last["at"] + 60
    assert (last["requests"], last["errors"], last["p50"]) == (1, 0, 50.0)
    assert (before["requests"], before["errors"]) == (5, 1)
    assert (before["p50"], before["p95"]) == (300.0, 900.0)
    assert all(p["requests"] == 0 and p["p50"] is None for p in series[:-2])
    clock.now += 3600  # an hour later every point is empty again
    assert sum(p["requests"] for p in store.summary()["series"]) == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=-30, max_value=400),  # seconds to step the clock (some back)
            st.sampled_from([200, 200, 429, 502]),
            st.one_of(st.none(), st.floats(min_value=0, max_value=5000)),
        ),
        max_size=80,
    ),
    st.floats(min_value=0, max_value=4000),
)
def test_the_kept_minutes_match_a_pass_over_every_request(
    steps: list[tuple[float, int, float | None]], later: float
) -> None:
    """The store keeps per-minute buckets as requests arrive; they must say what a fresh
    count over the kept requests says, also after the clock stepped back, at any moment."""
    clock = Clock()
    store = MetricsStore(clock=clock)
    for step, status, latency in steps:
        clock.now += step
        store.record(ev(status=status, latency_ms=latency))
        store.summary()  # closed minutes get cached between requests
    clock.now += later
    assert store.summary()["series"] == series(store.samples(), clock.now)


def test_headline_counts_only_the_last_minute() -> None:
    clock = Clock()
    store = MetricsStore(clock=clock)
    store.record(ev())
    clock.now += 61
    store.record(ev())
    store.record(ev(status=500))
    store.set_in_flight(requests=2, connections=4)
    h = store.headline()
    assert (h["last_minute"], h["errors_last_minute"]) == (2, 1)
    assert h["in_flight"] == {"requests": 2, "connections": 4}


class Host:
    """The two parts of a runtime the start clock uses."""

    def __init__(self, home: Path) -> None:
        self.paths = get_paths({"LITELLM_BRIDGE_HOME": str(home)})
        self.paths.ensure()
        self.status_extras: dict[str, Callable[[], Any]] = {}
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.agent = self

    def subscribe(self, fn: Callable[[dict[str, Any]], None]) -> None:
        self.listeners.append(fn)

    def publish(self, state: str) -> None:
        for fn in self.listeners:
            fn({"sidecar": {"state": state}})


def _wait_saved(path: Path) -> None:
    for t in threading.enumerate():
        if t.name == "start-clock":
            t.join(5)
    assert path.is_file()


def test_start_clock_times_a_start_and_remembers_it_across_agents(tmp_path: Path) -> None:
    host = Host(tmp_path / "home")
    now = [100.0]
    clock = StartClock(host, clock=lambda: now[0])  # type: ignore[arg-type]
    assert host.status_extras["start"]()["elapsed"] is None
    host.publish("starting")
    now[0] += 4
    s = host.status_extras["start"]()
    assert (s["state"], s["elapsed"], s["last_duration"]) == ("starting", 4.0, None)
    assert progress_text(s) == "4 s"
    now[0] += 8
    host.publish("running")
    _wait_saved(clock.path)
    assert read_last_duration(clock.path) == 12.0
    assert host.status_extras["start"]()["elapsed"] is None

    # A new agent reads the last duration; an aborted start does not replace it.
    again = Host(tmp_path / "home")
    StartClock(again, clock=lambda: now[0])  # type: ignore[arg-type]
    again.publish("restarting")
    now[0] += 3
    assert progress_text(again.status_extras["start"]()) == "3 s of ~12 s"
    again.publish("error")
    assert again.status_extras["start"]()["last_duration"] == 12.0


def test_an_unreadable_start_file_is_no_duration(tmp_path: Path) -> None:
    path = tmp_path / "start-times.json"
    for text in ("", "[]", '{"last_duration": true}', '{"last_duration": -1}', "{"):
        path.write_text(text)
        assert read_last_duration(path) is None
    path.write_text(json.dumps({"last_duration": 15.2}))
    assert read_last_duration(path) == 15.2
    assert progress_text(None) is None
