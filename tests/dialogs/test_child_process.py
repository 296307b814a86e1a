"""Dialogs as the tray runs them: a child process, JSON in on stdin, JSON out on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agentproc import ROOT, env_for
from tests.tray import desktop
from tray_agent.account import Account

pytestmark = [pytest.mark.gui, pytest.mark.timeout(90)]


def spawn(home: Path, name: str, params: dict[str, object]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tray_agent", "dialog", name],
        env=env_for(home),
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(params))
    proc.stdin.close()
    return proc


def result(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None and proc.stderr is not None
    proc.wait(30)
    out = proc.stdout.read()
    assert proc.returncode == 0, proc.stderr.read()
    value: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return value


def test_save_dialog_answers_on_stdout_after_enter(home: Path, tmp_path: Path) -> None:
    desktop.require_desktop()
    proc = spawn(
        home,
        "save",
        {"title": "Export diagnostics", "filename": "d.zip", "directory": str(tmp_path)},
    )
    wid = desktop.find_window("LiteLLM Bridge: Export diagnostics")
    desktop.focus(wid)
    desktop.xdotool("key", "Return")
    assert result(proc) == {"path": str(tmp_path / "d.zip")}


def test_unlock_dialog_typed_with_xdotool_creates_the_account(home: Path) -> None:
    desktop.require_desktop()
    proc = spawn(home, "unlock", {"create": True})
    wid = desktop.find_window("LiteLLM Bridge: local password")
    desktop.focus(wid)
    desktop.xdotool("type", "typed password 1")
    desktop.xdotool("key", "Tab")
    desktop.xdotool("type", "typed password 1")
    desktop.xdotool("key", "Return")
    assert result(proc) == {"ok": True}
    assert Account(home / "config" / "account.json").check("typed password 1")


def test_escape_cancels(home: Path) -> None:
    desktop.require_desktop()
    proc = spawn(home, "unlock", {})
    wid = desktop.find_window("LiteLLM Bridge: local password")
    assert desktop.key_until_gone(wid, "LiteLLM Bridge: local password", "Escape")
    assert result(proc) == {"cancelled": True}
