"""Updates inside a real agent process: status's ``update`` part, the ``update_check`` control
method the tray's "Check for updates…" calls, a rollback notice shown once."""

from __future__ import annotations

import random
from pathlib import Path

from installer import release
from tests.agentproc import AgentProc, write_config
from tests.conftest import free_port
from tests.update.repo import fake_app, serve
from tray_agent.control.client import ControlClient
from tray_agent.paths import get_paths
from tray_agent.update.layout import Layout, State
from tray_agent.update.link import FIRST_CHECK, INTERVAL, next_wait, summary


def test_checks_are_spread_with_jitter() -> None:
    rng = random.Random(7)
    first = [next_wait(rng, True) for _ in range(200)]
    later = [next_wait(rng, False) for _ in range(200)]
    assert FIRST_CHECK[0] <= min(first) and max(first) <= FIRST_CHECK[1]
    assert min(later) >= 0.9 * INTERVAL and max(later) <= 1.1 * INTERVAL
    assert len({round(w) for w in later}) > 150  # not one fleet-wide instant


def test_agent_checks_on_request_installs_and_shows_a_rollback_notice_once(
    tmp_path: Path, update_env: Path
) -> None:
    repo = tmp_path / "repo"
    release.publish(repo, fake_app(tmp_path, "0.2.0", update_env), level=1)
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    layout = Layout(home / "data")
    layout.root.mkdir()
    layout.save(State(notice="update 0.3.0 was rolled back to 0.1.0: it failed to start"))
    with serve(repo) as url:
        write_config(home, free_port(), bridge={"update": {"url": url, "mode": "manual"}})
        agent = AgentProc(home, start_sidecar=False)
        try:
            status = agent.wait_for(lambda s: "update" in s, 60, "the update part of status")
            part = status["update"]
            assert part["notice"].startswith("update 0.3.0 was rolled back")
            assert part["running"] == "0.1.0" and part["ready"] is None
            assert layout.load().notice is None  # shown once: not again at the next start
            paths = get_paths({"LITELLM_BRIDGE_HOME": str(home)})
            client = ControlClient.connect(paths)
            assert client is not None
            with client:
                result = client.call("update_check", install=True, timeout=60)
            assert result["ready"] == "0.2.0" and result["error"] is None
            title, message = summary(result)
            assert title == "Update 0.2.0 installed" and "next time" in message
            status = agent.wait_for(lambda s: s["update"]["ready"] == "0.2.0", 30, "ready")
            assert layout.load().current == "0.2.0"
            with ControlClient.require(paths) as client:
                again = client.call("update_check", install=True, timeout=60)
            assert summary(again)[0] == "No update"
        finally:
            agent.stop()


def test_a_refused_check_is_reported_with_its_reason(tmp_path: Path, update_env: Path) -> None:
    release.shipped_root()  # the development root this run trusts
    home = tmp_path / "home"
    # Discard port 9 on loopback: nothing listens there.
    write_config(home, free_port(), bridge={"update": {"url": "http://127.0.0.1:9/"}})
    agent = AgentProc(home, start_sidecar=False)
    try:
        agent.wait_for(lambda s: "update" in s, 60, "the update part of status")
        with ControlClient.require(get_paths({"LITELLM_BRIDGE_HOME": str(home)})) as client:
            result = client.call("update_check", install=True, timeout=120)
        assert result["ready"] is None
        assert "cannot reach the update repository http://127.0.0.1:9/" in result["error"]
        title, _message = summary(result)
        assert title == "Update refused"
        status = agent.wait_for(lambda s: bool(s["update"]["error"]), 30, "the error")
        assert "cannot reach" in status["update"]["error"]
    finally:
        agent.stop()
