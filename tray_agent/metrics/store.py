"""Request metrics over sliding windows, from the sidecar's per-request events.

Each event is kept (without any content: route, model, status, latency, stream, token
counts) for the longest window, one hour, with a hard cap on how many. Summaries are
computed on demand, so the core thread only appends.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import takewhile
from typing import Any

WINDOWS: dict[str, float] = {"1m": 60.0, "15m": 900.0, "1h": 3600.0}
SERIES_STEP = 60.0  # one chart point per minute (the Status window's charts)
SERIES_POINTS = 60  # the last hour
MAX_RECORDS = 250_000  # 1 h at ~70 requests/s, the proxy's ceiling on a small machine
NO_MODEL = "(none)"


@dataclass(frozen=True)
class Sample:
    at: float
    route: str
    model: str
    status: int | None
    latency_ms: float | None
    stream: bool
    tokens_in: int | None
    tokens_out: int | None
    error: str | None
    # Why the organization policy refused it (sidecar/policy), None when it did not.
    refused: str | None = None

    @property
    def failed(self) -> bool:
        """A request the client did not get a full answer for.

        A non-streaming 200 that carries an error is a call LiteLLM retried successfully
        (the error summary still counts the upstream failure); a streaming 200 with an
        error is a stream that broke after it started.
        """
        if self.status is None or self.status >= 400:
            return True
        return self.error is not None and self.stream


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    return int(value) if isinstance(value, int | float) else None


def sample_from_event(payload: Mapping[str, Any], at: float) -> Sample:
    """A sample from one ``{"event": "request", ...}`` line (fields may be missing)."""
    latency = payload.get("latency_ms")
    error = payload.get("error")
    model = payload.get("model")
    return Sample(
        at=at,
        route=str(payload.get("route") or "?"),
        model=str(model) if model else NO_MODEL,
        status=_int_or_none(payload.get("status")),
        latency_ms=float(latency) if isinstance(latency, int | float) else None,
        stream=bool(payload.get("stream")),
        tokens_in=_int_or_none(payload.get("tokens_in")),
        tokens_out=_int_or_none(payload.get("tokens_out")),
        error=str(error) if error else None,
        refused=str(payload["refused"])[:40] if payload.get("refused") else None,
    )


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil without floats drifting
    return sorted_values[min(int(rank), len(sorted_values)) - 1]


def aggregate(samples: Iterable[Sample]) -> dict[str, Any]:
    """Counts, error rate, latency percentiles and token sums of ``samples``."""
    requests = errors = streams = 0
    tokens_in = tokens_out = 0
    latencies: list[float] = []
    by_status: dict[str, int] = {}
    refused: dict[str, int] = {}
    for s in samples:
        if s.refused:
            refused[s.refused] = refused.get(s.refused, 0) + 1
        requests += 1
        errors += s.failed
        streams += s.stream
        tokens_in += s.tokens_in or 0
        tokens_out += s.tokens_out or 0
        if s.latency_ms is not None:
            latencies.append(s.latency_ms)
        key = str(s.status) if s.status is not None else "none"
        by_status[key] = by_status.get(key, 0) + 1
    latencies.sort()
    return {
        "requests": requests,
        "errors": errors,
        "error_rate": round(errors / requests, 4) if requests else 0.0,
        "streams": streams,
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "by_status": dict(sorted(by_status.items())),
        # Refusals by the organization policy, by reason (model_denied, rpm, quota, ...).
        "refused": dict(sorted(refused.items())),
    }


def series(
    samples: Iterable[Sample], now: float, step: float = SERIES_STEP, points: int = SERIES_POINTS
) -> list[dict[str, Any]]:
    """Per-minute buckets of the last hour, oldest first, the current minute last.

    Buckets align to whole minutes of the wall clock, so two polls a second apart show the
    same bars (a window sliding with ``now`` would shift every bar on every poll).
    """
    end = (now // step + 1) * step
    start = end - step * points
    requests = [0] * points
    errors = [0] * points
    latencies: list[list[float]] = [[] for _ in range(points)]
    for s in samples:
        if s.at < start or s.at >= end:
            continue
        i = int((s.at - start) // step)
        requests[i] += 1
        errors[i] += s.failed
        if s.latency_ms is not None:
            latencies[i].append(s.latency_ms)
    out = []
    for i in range(points):
        lat = sorted(latencies[i])
        out.append(
            {
                "at": start + i * step,
                "requests": requests[i],
                "errors": errors[i],
                "p50": percentile(lat, 50),
                "p95": percentile(lat, 95),
            }
        )
    return out


@dataclass
class _Minute:
    """One chart point, kept up to date as requests arrive (the series is then 60 lookups,
    not a pass over every request of the hour on each Status poll)."""

    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    # (p50, p95) once the minute is over; a late request (the clock moved back) clears it.
    done: tuple[float | None, float | None] | None = None

    def percentiles(self, closed: bool) -> tuple[float | None, float | None]:
        if self.done is not None:
            return self.done
        lat = sorted(self.latencies)
        result = (percentile(lat, 50), percentile(lat, 95))
        if closed:
            self.done = result
        return result


class MetricsStore:
    """Thread-safe: the core thread records, any thread summarizes."""

    def __init__(
        self, clock: Callable[[], float] = time.time, max_records: int = MAX_RECORDS
    ) -> None:
        self.clock = clock
        self.started = clock()
        self._samples: deque[Sample] = deque(maxlen=max_records)
        self._lock = threading.Lock()
        self._total = 0
        self._in_flight: dict[str, int | None] = {"requests": None, "connections": None}
        self._minutes: dict[int, _Minute] = {}

    def record(self, payload: Mapping[str, Any]) -> Sample:
        sample = sample_from_event(payload, self.clock())
        with self._lock:
            self._samples.append(sample)
            self._total += 1
            minute = self._minutes.setdefault(int(sample.at // SERIES_STEP), _Minute())
            minute.requests += 1
            minute.errors += sample.failed
            if sample.latency_ms is not None:
                minute.latencies.append(sample.latency_ms)
                minute.done = None
            for key in ("in_flight", "in_flight_requests"):
                value = _int_or_none(payload.get(key))
                if value is not None:
                    self._in_flight["requests"] = value
        return sample

    def set_in_flight(self, requests: int | None = None, connections: int | None = None) -> None:
        with self._lock:
            if requests is not None:
                self._in_flight["requests"] = requests
            if connections is not None:
                self._in_flight["connections"] = connections

    def _prune(self, now: float) -> None:
        horizon = now - max(WINDOWS.values())
        while self._samples and self._samples[0].at < horizon:
            self._samples.popleft()
        oldest = int(now // SERIES_STEP) - SERIES_POINTS
        for key in [k for k in self._minutes if k <= oldest]:
            del self._minutes[key]

    def chart_series(self) -> list[dict[str, Any]]:
        """The per-minute points of the last hour alone (``summary()["series"]``)."""
        now = self.clock()
        with self._lock:
            self._prune(now)
            return self._series(now)

    def _series(self, now: float) -> list[dict[str, Any]]:
        """``series(samples, now)`` from the per-minute buckets (under the lock)."""
        current = int(now // SERIES_STEP)
        out = []
        for key in range(current - SERIES_POINTS + 1, current + 1):
            m = self._minutes.get(key)
            p50, p95 = m.percentiles(closed=key < current) if m else (None, None)
            out.append(
                {
                    "at": key * SERIES_STEP,
                    "requests": m.requests if m else 0,
                    "errors": m.errors if m else 0,
                    "p50": p50,
                    "p95": p95,
                }
            )
        return out

    def samples(self, seconds: float | None = None) -> list[Sample]:
        now = self.clock()
        with self._lock:
            self._prune(now)
            items = list(self._samples)
        if seconds is None:
            return items
        return [s for s in items if s.at >= now - seconds]

    def headline(self) -> dict[str, Any]:
        """What the tray shows (cheap: one pass over the last minute, no percentiles)."""
        now = self.clock()
        with self._lock:
            # Newest last: walk back only as far as the minute reaches.
            recent = list(takewhile(lambda s: s.at >= now - 60.0, reversed(self._samples)))
            in_flight = dict(self._in_flight)
        return {
            "last_minute": len(recent),
            "errors_last_minute": sum(s.failed for s in recent),
            "in_flight": in_flight,
        }

    def summary(self) -> dict[str, Any]:
        """The metrics dict shown by ``litellm-bridge metrics`` and the Status dialog."""
        now = self.clock()
        with self._lock:
            self._prune(now)
            items = list(self._samples)
            total = self._total
            in_flight = dict(self._in_flight)
            points = self._series(now)
        windows: dict[str, Any] = {}
        for name, seconds in WINDOWS.items():
            chosen = [s for s in items if s.at >= now - seconds]
            window = aggregate(chosen)
            window["seconds"] = seconds
            models: dict[str, list[Sample]] = {}
            for s in chosen:
                models.setdefault(s.model, []).append(s)
            window["models"] = {m: aggregate(v) for m, v in sorted(models.items())}
            windows[name] = window
        return {
            "now": now,
            "since": self.started,
            "total_requests": total,
            "in_flight": in_flight,
            "windows": windows,
            # Per-minute points of the last hour, for charts: {at, requests, errors, p50, p95}.
            "series": points,
        }
