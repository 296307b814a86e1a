"""Commands find the agent of their home: none, a stale socket, one starting, one stuck."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tray_agent.control.client import ControlClient
from tray_agent.control.protocol import ControlError
from tray_agent.paths import Paths

ROOT = Path(__file__).resolve().parents[2]

# Takes the instance lock like an agent, then listens only after argv[1] seconds (never if < 0).
HOLDER = """
import os, sys, time
from tray_agent.control.server import ControlServer
from tray_agent.paths import get_paths
from tray_agent.single_instance import InstanceLock
paths = get_paths()
paths.ensure()
lock = InstanceLock(paths.lock_file, "home")
lock.acquire()
print("locked", flush=True)
delay = float(sys.argv[1])
if delay >= 0:
    time.sleep(delay)
    ControlServer(paths.control_address, lambda method, params: {"pid": os.getpid()}).start()
time.sleep(120)
"""


@pytest.fixture
def holder(home: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[str]] = []

    def start(delay: float) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(delay)],
            cwd=ROOT,
            env={**os.environ, "LITELLM_BRIDGE_HOME": str(home)},
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(10)


def test_no_agent_means_none(paths: Paths) -> None:
    assert ControlClient.connect(paths) is None


def test_a_stale_socket_file_means_none_at_once(paths: Paths) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(paths.control_address)
    s.close()  # the file stays, nobody listens, nobody holds the lock
    began = time.monotonic()
    assert ControlClient.connect(paths) is None
    # Not the up-to-15 s wait for a starting agent; a loose bound, not a speed test.
    assert time.monotonic() - began < 10


def test_a_starting_agent_is_waited_for(paths: Paths, holder: object) -> None:
    proc = holder(1.5)  # type: ignore[operator]
    client = ControlClient.connect(paths)
    assert client is not None
    with client:
        assert client.call("ping", timeout=10) == {"pid": proc.pid}


def test_an_agent_that_never_answers_is_an_error_naming_it(paths: Paths, holder: object) -> None:
    proc = holder(-1)  # type: ignore[operator]
    with pytest.raises(ControlError, match=rf"agent \(pid {proc.pid}\) .* does not answer"):
        ControlClient.connect(paths, wait=1.0)
