"""The POSIX hand-off: a real child gets the events pipe and the listening socket, writes
"ready" the sidecar's way and serves a connection on the agent's socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from sidecar.wire import event_line
from tray_agent import wire
from tray_agent.platform import handoff, processes

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fd inheritance")

CHILD = textwrap.dedent(
    """
    import os, socket, sys
    from sidecar import handoff
    from sidecar.wire import EVENTS_FD_ENV, LISTEN_FD_ENV, READY, event_line
    events = handoff.events_fd(int(os.environ[EVENTS_FD_ENV]))
    assert handoff.listening_socket(os.environ) is None  # POSIX: the fd itself is served
    listener = socket.socket(fileno=int(os.environ[LISTEN_FD_ENV]))
    os.write(events, event_line(READY, pid=os.getpid()))
    conn, _ = listener.accept()
    conn.sendall(b"served by " + str(os.getpid()).encode())
    conn.close()
    """
)


def test_child_writes_ready_and_serves_on_the_agents_socket() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.set_inheritable(True)
    ev_r, ev_w = os.pipe()
    options = handoff.spawn_options(ev_w, listener)
    assert set(options.env) == {wire.EVENTS_FD_ENV, wire.LISTEN_FD_ENV}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.PIPE,
        env={**os.environ, **options.env},
        close_fds=True,
        **options.popen,
        **processes.popen_kwargs(),
    )
    os.close(ev_w)
    try:
        assert handoff.after_spawn(proc, listener) == []  # nothing needs the pid on POSIX
        with os.fdopen(ev_r, "rb") as events:
            line = events.readline()
        assert wire.parse_event(line) == {"event": wire.READY, "pid": proc.pid}
        with socket.create_connection(listener.getsockname(), timeout=30) as client:
            assert client.recv(100) == f"served by {proc.pid}".encode()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        listener.close()


def test_without_a_listener_only_the_events_pipe_is_passed() -> None:
    ev_r, ev_w = os.pipe()
    try:
        options = handoff.spawn_options(ev_w, None)
        assert options.env == {wire.EVENTS_FD_ENV: str(ev_w)}
        assert options.popen["pass_fds"] == [ev_w]
    finally:
        os.close(ev_r)
        os.close(ev_w)
    assert event_line(wire.READY).endswith(b"\n")
