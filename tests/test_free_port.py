"""Ports handed to test agents cannot be taken by another test process before the agent binds."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.conftest import ROOT, free_port
from tests.helpers.ports import _ephemeral_range

# Every holder starts its search at the same port, so only the locks keep them apart.
HOLDER = (
    "import sys\n"
    "from tests.helpers import ports\n"
    "ports._start_offset = lambda span: 0\n"
    "print(' '.join(str(ports.reserve_port()) for _ in range(25)), flush=True)\n"
    "sys.stdin.read()\n"
)


def test_concurrent_processes_never_get_the_same_port() -> None:
    holders = [
        subprocess.Popen(
            [sys.executable, "-c", HOLDER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(4)
    ]
    try:
        # Each holder keeps its ports reserved until its stdin closes: all are alive together.
        ports = [int(p) for h in holders for p in h.stdout.readline().split()]  # type: ignore[union-attr]
        mine = [free_port() for _ in range(25)]
    finally:
        for h in holders:
            h.communicate(timeout=30)
    assert len(ports) == 100
    assert len(set(ports + mine)) == 125


def test_port_is_outside_the_kernel_ephemeral_range_and_bindable() -> None:
    low, high = _ephemeral_range()
    port = free_port()
    assert not low <= port <= high
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
