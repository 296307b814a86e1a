"""Liveness probe of the serving sidecar: ``GET /health/liveliness`` (never ``/health``,
which calls every model upstream).

The probe runs on its own thread and only reports; the core decides. A sidecar that stops
answering for ``failures`` probes in a row while its process is alive is hung, and the core
restarts it like a crash.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx

LIVENESS_PATH = "/health/liveliness"


def probe(url: str, timeout: float = 5.0) -> str | None:
    """None when the sidecar answers 200, else a short reason."""
    try:
        r = httpx.get(url + LIVENESS_PATH, timeout=timeout, trust_env=False)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if r.status_code == 200 else f"HTTP {r.status_code}"


class HealthProbe:
    """Calls ``report(generation, reason_or_None)`` every ``interval`` seconds."""

    def __init__(
        self,
        target: Callable[[], tuple[int, str] | None],
        report: Callable[[int, str | None], object],
        interval: float = 15.0,
        check: Callable[[str], str | None] = probe,
    ) -> None:
        self._target = target
        self._report = report
        self._interval = interval
        self._check = check
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            target: Any = self._target()
            if target is None:
                continue
            generation, url = target
            self._report(generation, self._check(url))
