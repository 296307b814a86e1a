"""Another user's program on the bridge's port while the agent is down is named by
``status``, ``doctor`` and the agent's port-busy error, and ``key`` refuses to hand out the
proxy key then; ``stop --agent`` returns only once the agent process is gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import ROOT, AgentProc, cli, env_for, write_config
from tests.conftest import free_port
from tray_agent.supervisor import proctree
from tray_agent.supervisor.ports import Listener

pytestmark = pytest.mark.timeout(300)

LISTEN = (
    "import socket, sys, time\n"
    "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
    "print('listening', flush=True); time.sleep(600)\n"
)


@pytest.fixture
def squatter(home: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """A listener on the bridge's port run by another user (root can start one as nobody)."""
    if os.geteuid() != 0:
        pytest.skip("starting a process as another user needs root")
    port = free_port()
    proc = subprocess.Popen(
        ["/usr/bin/python3", "-c", LISTEN, str(port)],
        user="nobody",
        cwd="/",
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "listening"
        write_config(home, port)
        yield port, proc
    finally:
        proc.kill()
        proc.wait(10)


def test_status_and_doctor_name_another_users_listener_on_the_port(
    home: Path, squatter: tuple[int, subprocess.Popen[str]]
) -> None:
    port, proc = squatter
    r = cli(home, "status")
    assert r.returncode == 3
    assert f"127.0.0.1:{port}" in r.stdout and f"pid {proc.pid}" in r.stdout
    assert "another user, nobody" in r.stdout and "proxy key" in r.stdout
    r = cli(home, "status", "--json")
    assert r.returncode == 3
    data = json.loads(r.stdout)
    assert data["agent"] is None and data["port"]["port"] == port
    [listener] = data["port"]["foreign_listeners"]
    assert listener["pid"] == proc.pid and listener["user"] == "nobody"
    assert listener["foreign_user"] is True
    r = cli(home, "doctor", "--json", timeout=180)
    checks = {c["id"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["port"]["status"] == "fail"
    assert f"pid {proc.pid}" in checks["port"]["detail"]
    assert "another user, nobody" in checks["port"]["detail"]


def test_key_is_refused_while_another_program_holds_the_port(
    home: Path, squatter: tuple[int, subprocess.Popen[str]]
) -> None:
    port, proc = squatter
    r = cli(home, "key")
    assert r.returncode != 0 and r.stdout == ""
    assert "not printing the proxy key" in r.stderr
    assert f"127.0.0.1:{port}" in r.stderr and f"pid {proc.pid}" in r.stderr


def test_agent_port_busy_error_names_the_other_users_listener(
    home: Path, squatter: tuple[int, subprocess.Popen[str]]
) -> None:
    port, proc = squatter
    agent = AgentProc(home)
    try:
        s = agent.wait_for(lambda s: s["sidecar"]["state"] == "error", timeout=60, what="error")
        err = s["sidecar"]["error"]
        assert f"port {port}" in err and f"pid {proc.pid}" in err
        assert "another user, nobody" in err
        # The agent is up but the port is someone else's: no key for clients either.
        r = cli(home, "key")
        assert r.returncode != 0 and "not printing the proxy key" in r.stderr
    finally:
        agent.stop()


def test_invisible_listener_is_called_a_process_of_another_user() -> None:
    assert "a process of another user" in str(Listener(None))
    assert Listener(None).foreign


def test_stop_agent_returns_only_once_the_agent_is_gone(home: Path) -> None:
    write_config(home, free_port())
    agent = AgentProc(home, start_sidecar=False)
    try:
        agent.wait_for(lambda s: s["agent"]["pid"] == agent.proc.pid, what="agent up")
        log = home / "logs" / "agent.log"
        stop = subprocess.Popen(
            [sys.executable, "-m", "tray_agent", "stop", "--agent"],
            env=env_for(home),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Hold the agent while it is quitting (as a slow shutdown would), longer than the
        # 30 s the command used to wait before saying "stopped" anyway.
        deadline = time.monotonic() + 30
        while "agent.stopping" not in log.read_text():
            assert time.monotonic() < deadline, "the agent was not asked to quit"
            time.sleep(0.002)
        held = agent.proc.poll() is None
        if held:
            os.kill(agent.proc.pid, signal.SIGSTOP)
            try:
                time.sleep(35)
                assert stop.poll() is None, "stop --agent returned while the agent still ran"
            finally:
                os.kill(agent.proc.pid, signal.SIGCONT)
        out, err = stop.communicate(timeout=90)
        assert stop.returncode == 0, err
        assert "stopped the sidecar and the agent" in out
        assert not proctree.is_alive(agent.proc.pid), "the agent outlived stop --agent"
        assert cli(home, "status").returncode == 3
        assert held, "the agent exited before it could be held; the check above did not run"
    finally:
        agent.stop()
