"""Wait on what the product shows (status, events, log lines, stand-in records), not on time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """The first truthy result of ``predicate``; fails naming ``what`` after ``timeout`` s.

    The deadline is generous on purpose: it only bounds a hang, it is never what a test checks.
    """
    deadline = time.monotonic() + timeout
    last: T = predicate()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")
        time.sleep(interval)
        last = predicate()
    return last
