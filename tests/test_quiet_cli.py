"""Everyday commands print nothing on stderr (no runtime-dir or library warnings, no notes),
and every command that reports state has ``--json``."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import ROOT, cli, write_config
from tests.conftest import free_port

pytestmark = pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG platforms")

QUIET = [
    ("paths",),
    ("paths", "--json"),
    ("status",),
    ("status", "--json"),
    ("metrics",),
    ("metrics", "--json"),
    ("templates",),
    ("templates", "--json"),
    ("env", "list"),
    ("env", "list", "--json"),
    ("logs",),
    ("stop",),
    ("stop", "--json"),
    ("token", "status"),
    ("--version",),
]


@pytest.fixture
def home() -> Iterator[Path]:
    h = Path(tempfile.mkdtemp(prefix="lbq-"))
    yield h
    shutil.rmtree(h, ignore_errors=True)


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "LITELLM_BRIDGE"))}
    env["HOME"] = str(home)  # a first run: nothing configured, no XDG_RUNTIME_DIR
    return subprocess.run(
        [sys.executable, "-m", "tray_agent", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@pytest.mark.parametrize("args", QUIET, ids=" ".join)
def test_a_first_run_without_xdg_runtime_dir_prints_nothing_on_stderr(
    home: Path, args: tuple[str, ...]
) -> None:
    r = run(home, *args)
    assert r.stderr == "", r.stderr
    assert r.stdout.strip(), "every command says something on stdout"
    if "--json" in args:
        json.loads(r.stdout)


def test_config_validate_reports_ok_on_stdout_and_as_json(home: Path) -> None:
    cfg = write_config(home / "bridge", free_port())
    r = run(home, "config", "validate", str(cfg), "--no-env")
    assert r.returncode == 0 and r.stderr == "" and r.stdout.strip().endswith(": OK")
    r = run(home, "config", "validate", str(cfg), "--no-env", "--json")
    doc = json.loads(r.stdout)
    assert doc["valid"] is True and doc["errors"] == 0 and doc["issues"] == []
    cfg.write_text("model_list: [\n")
    r = run(home, "config", "validate", str(cfg), "--no-env", "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 1 and doc["valid"] is False and doc["issues"][0]["severity"]


@pytest.mark.timeout(300)
def test_start_status_stop_as_json_and_the_status_paths_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home, free_port())
    r = cli(home, "start", "--json")
    try:
        assert r.returncode == 0, r.stderr
        assert r.stderr == ""
        started = json.loads(r.stdout)
        assert started["url"].startswith("http://127.0.0.1:") and started["took_seconds"] > 0
        doc = json.loads(cli(home, "status", "--json").stdout)
        agent_part = doc["agent"]
        assert agent_part["config_dir"] == str(home / "config")
        assert agent_part["bridge_home"] == str(home)
        assert agent_part["home"] == str(home)  # the old key stays for scripts
        assert doc["start"]["last_duration"] > 0 and doc["start"]["elapsed"] is None
        assert doc["requests"]["last_minute"] == 0
    finally:
        r = cli(home, "stop", "--agent", "--json")
    assert json.loads(r.stdout) == {"sidecar": "stopped", "agent": "stopped"}


@pytest.mark.timeout(300)
def test_start_on_a_terminal_shows_progress_then_the_result(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home, free_port())
    env = {**os.environ, "LITELLM_BRIDGE_HOME": str(home)}
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tray_agent", "start"],
        env=env,
        stdout=follower,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    os.close(follower)
    out = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            out += chunk
        assert proc.wait(60) == 0
        text = out.decode(errors="replace")
        assert "\rstarting… " in text and " s" in text.split("starting… ")[1]
        assert "running at http://127.0.0.1:" in text and "ready in" in text
        assert proc.stderr is not None and proc.stderr.read() == b""
    finally:
        os.close(leader)
        cli(home, "stop", "--agent")


def test_an_unexpected_error_is_one_line_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tray_agent import cli as cli_module
    from tray_agent.commands import agent

    def broken(args: object, ctx: object) -> int:
        raise RuntimeError("the paths table is broken")

    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(tmp_path / "h"))
    monkeypatch.setattr(agent, "cmd_paths", broken)
    monkeypatch.delenv(cli_module.DEBUG_ENV, raising=False)
    assert cli_module.main(["paths"]) == 70
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: unexpected RuntimeError: the paths table is broken",
        "hint: run it again with LITELLM_BRIDGE_DEBUG=1 for the details, and attach "
        "`litellm-bridge diagnostics` when you report it",
    ]
    monkeypatch.setenv(cli_module.DEBUG_ENV, "1")
    assert cli_module.main(["paths"]) == 70
    assert "Traceback" in capsys.readouterr().err  # asked for: the details


def test_status_text_shows_progress_requests_and_the_quota() -> None:
    from tests.tray.test_headline import QUOTA
    from tray_agent.commands.agent import format_status

    snap: dict[str, object] = {
        "agent": {"pid": 10},
        "sidecar": {"state": "running", "url": "http://127.0.0.1:4000", "pid": 11, "restarts": 0},
        "config": {"valid": True, "path": "config.yaml"},
        "token": {"state": "valid"},
        "requests": {"last_minute": 9, "in_flight": {"requests": 2}},
        "policy": QUOTA,
    }
    text = format_status(snap)
    assert "requests 9 in the last minute, 2 in flight" in text
    assert "quota    1000 of 50k tokens left today" in text
    snap["sidecar"] = {**snap["sidecar"], "state": "starting"}  # type: ignore[dict-item]
    snap["start"] = {"elapsed": 4.0, "last_duration": 14.6}
    text = format_status(snap)
    assert "sidecar  starting (4 s of ~15 s)" in text and "requests" not in text
