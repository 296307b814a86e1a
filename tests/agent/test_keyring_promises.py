"""README promises about where the master key lives, with real agent processes: with a
keyring it stays the same across agent restarts; headless with no keyring at all (no D-Bus)
the agent still runs, warns once and keeps the key in memory only."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.agentproc import AgentProc, cli, env_for, write_config
from tests.conftest import free_port
from tests.helpers.keyring import require_keyring
from tray_agent.paths import get_paths
from tray_agent.secrets import open_secret_store
from tray_agent.secrets.store import NO_KEYRING_HINT

pytestmark = pytest.mark.timeout(400)

WARNING = NO_KEYRING_HINT.split(":")[0]  # "no secure OS keyring is available"


def _key(agent: AgentProc) -> str:
    r = cli(agent.home, "key", env=agent.env, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _chat(agent: AgentProc, key: str) -> httpx.Response:
    s = agent.wait_running()
    return httpx.post(
        s["sidecar"]["url"] + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )


def _files_containing(root: Path, secret: str) -> list[Path]:
    found = []
    for p in root.rglob("*"):
        if p.is_file() and secret.encode() in p.read_bytes():
            found.append(p)
    return found


def test_master_key_stays_the_same_across_agent_restarts(home: Path) -> None:
    require_keyring(open_secret_store(get_paths().keyring_namespace))
    write_config(home, free_port())
    first = AgentProc(home, start_sidecar=False)
    try:
        s = first.wait_for(lambda s: s["agent"]["pid"] == first.proc.pid, timeout=60, what="up")
        assert s["keyring"]["persistent"], s["keyring"]
        key = _key(first)
    finally:
        first.stop()
    second = AgentProc(home)
    try:
        # Ask the running agent, not the keyring behind its back (`key` reads the keyring
        # itself while no agent runs).
        second.wait_for(lambda s: s["agent"]["pid"] == second.proc.pid, timeout=60, what="up")
        assert _key(second) == key, "a restarted agent made a new proxy key"
        r = _chat(second, key)
        assert r.status_code == 200, r.text  # clients set up before the restart still work
    finally:
        second.stop()
    assert _files_containing(home, key) == [], "the master key was written to a file"


def test_headless_without_dbus_runs_warns_once_and_keeps_the_key_in_memory(home: Path) -> None:
    write_config(home, free_port())
    # No session bus at all: nothing to find a Secret Service on.
    env = env_for(home, DBUS_SESSION_BUS_ADDRESS=f"unix:path={home}/no-bus")
    env.pop("LITELLM_BRIDGE_SECRET_STORE", None)
    agent = AgentProc(home, env=env)
    try:
        s = agent.wait_running()
        assert s["keyring"]["persistent"] is False, s["keyring"]
        key = _key(agent)
        assert _chat(agent, key).status_code == 200
        human = cli(home, "status", env=env).stdout
        assert "secrets are kept in memory for this run only" in human
    finally:
        agent.stop()
    log = (home / "logs" / "agent.log").read_text()
    assert log.count(WARNING) == 1, f"expected one keyring warning in the agent log:\n{log}"
    assert "gnome-keyring" in log, "the warning names what to install"
    assert _files_containing(home, key) == [], "the in-memory key reached a file"
    again = AgentProc(home, env=env, start_sidecar=False)
    try:
        again.wait_for(lambda s: s["agent"]["pid"] == again.proc.pid, timeout=60, what="up")
        assert _key(again) != key, "a key kept in memory cannot outlive the run"
    finally:
        again.stop()
