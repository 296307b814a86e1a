"""``file_lock`` between real processes: a queue of holders is waited out, a hung one is named."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tray_agent.fsutil import LockTimeout, file_lock

HOLD = """
import sys, time
from tray_agent.fsutil import file_lock
with file_lock(sys.argv[1], timeout=60):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(target: Path, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, str(target), str(seconds)], stdout=subprocess.PIPE, text=True
    )


RELAY = """
import os, sys, time
from tray_agent.fsutil import file_lock
target = sys.argv[1]
lock = os.path.join(os.path.dirname(target), "." + os.path.basename(target) + ".lock")
with file_lock(target, timeout=60):
    print("held", flush=True)
    # Four holders in a row, 1.2 s each, as a queue of commands hands the lock on: every
    # holder writes its own mark into the lock file.
    for turn in range(4):
        fd = os.open(lock, os.O_RDWR)
        os.pwrite(fd, f"{os.getpid()}-{turn}".encode().ljust(40), 0)
        os.close(fd)
        time.sleep(1.2)
"""


def test_a_queue_longer_than_the_timeout_is_waited_out(tmp_path: Path) -> None:
    target = tmp_path / "env.json"
    relay = subprocess.Popen(
        [sys.executable, "-c", RELAY, str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert relay.stdout is not None and relay.stdout.readline() == "held\n"
        started = time.monotonic()
        # The queue ahead lasts ~4.8 s, past the 2 s timeout; no single holder exceeds it.
        with file_lock(target, timeout=2.0):
            waited = time.monotonic() - started
    finally:
        relay.kill()
        relay.wait(10)
    assert waited > 2.0


def test_one_holder_past_the_timeout_is_reported(tmp_path: Path) -> None:
    target = tmp_path / "env.json"
    hung = _holder(target, 30)
    try:
        assert hung.stdout is not None and hung.stdout.readline() == "held\n"
        with pytest.raises(LockTimeout) as caught, file_lock(target, timeout=1.0):
            pass
        assert str(target) in str(caught.value) and "more than 1 s" in str(caught.value)
    finally:
        hung.kill()
        hung.wait(10)
