"""The "Set up coding tools" dialog (tray) driven through its widgets against a real sidecar.

Each tool's state is shown, the diff holds no key, pressing "Set up and test" backs up and
writes, then every ticked tool answers through the bridge (the real claude and gemini where
npm installed them), the user's own keys survive, and Restore puts the files back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clients.bridge import MODEL, private_home, store_key
from tests.dialogs.conftest import FakeServices, Harness
from tests.helpers.sidecar import Sidecar
from tray_agent.clients.setup import latest_backup
from tray_agent.clients.states import BY_HAND, INSTALLED, NOT_FOUND, SET_UP
from tray_agent.dialogs.tools import ToolsDialog

pytestmark = [pytest.mark.gui, pytest.mark.timeout(400)]

MINE = {"theme": "dark", "env": {"MY_FLAG": "1"}, "permissions": {"allow": ["Bash(ls)"]}}
FOREIGN_CODEX = (
    'model_provider = "corp"\n[model_providers.corp]\nbase_url = "https://llm.corp/v1"\n'
)


@pytest.fixture
def user_home(home: Path, monkeypatch: pytest.MonkeyPatch, cli_bin: Path | None) -> Path:
    """A short HOME beside the bridge home (it shows in screenshots), with the user's files."""
    user = home.parent / "u"
    user.mkdir()
    private_home(user, monkeypatch, cli_bin)
    (user / ".claude").mkdir()
    (user / ".claude" / "settings.json").write_text(json.dumps(MINE, indent=2) + "\n")
    (user / ".codex").mkdir()
    (user / ".codex" / "config.toml").write_text(FOREIGN_CODEX)
    return user


def test_tray_dialog_sets_up_tests_and_restores(
    ui: Harness, services: FakeServices, user_home: Path, sidecar: Sidecar, cli_bin: Path | None
) -> None:
    if cli_bin is None:
        pytest.skip("npm is not installed: the real CLIs are not here")
    store_key(sidecar)  # Claude Code's key helper reads it from the keyring
    services.answers["status"] = {"sidecar": {"url": sidecar.url, "state": "running"}}
    services.answers["key"] = {"key": sidecar.master_key}
    dlg = ui.open(ToolsDialog, {}, services)
    assert isinstance(dlg, ToolsDialog)
    panel = dlg.panel
    ui.until(lambda: panel.loaded is not None, 30, "the tool list")
    assert panel.loaded is not None
    states = {s.client.name: s for s in panel.loaded.states}
    assert states["claude-code"].state == INSTALLED  # a settings file, but not the bridge's
    assert states["codex"].state == BY_HAND and "https://llm.corp/v1" in states["codex"].label
    assert states["aider"].state in (NOT_FOUND, INSTALLED)
    assert panel.ticks["claude-code"].get() and not panel.ticks["codex"].get()
    assert panel.model.get() == MODEL
    # Only the programs that answer in a few seconds: the SDK and curl snippets are tested
    # by the `clients test` tests.
    for name, var in panel.ticks.items():
        var.set(name in ("claude-code", "gemini"))
    ui.pump()
    diff = panel.shown_diff()
    assert "ANTHROPIC_BASE_URL" in diff and "GEMINI_API_KEY=****" in diff
    assert sidecar.master_key not in diff
    ui.shot(dlg, "tools-before")
    panel.setup_button.invoke()
    ui.until(lambda: "tools answered" in panel.note.get(), 240, "both tools tested")
    ui.shot(dlg, "tools-answered")
    for name, title in (("claude-code", "Claude Code"), ("gemini", "Gemini CLI")):
        line = panel.results[name].get()
        assert line.startswith(f"{title} answered in "), line
        assert panel.tests[name].binary is not None and panel.tests[name].binary.ok
        assert latest_backup(services.paths, name) is not None
    assert panel.note.get() == "2 of 2 tools answered through the bridge."
    assert panel.state_labels["claude-code"].get() == SET_UP
    settings = user_home / ".claude" / "settings.json"
    written = json.loads(settings.read_text())
    assert written["theme"] == "dark" and written["permissions"] == MINE["permissions"]
    assert written["env"]["MY_FLAG"] == "1" and written["env"]["ANTHROPIC_MODEL"] == MODEL
    assert (user_home / ".codex" / "config.toml").read_text() == FOREIGN_CODEX  # unticked
    panel.restore_button.invoke()
    ui.pump()
    assert json.loads(settings.read_text()) == MINE
    assert panel.state_labels["claude-code"].get() == INSTALLED
    assert not (user_home / ".gemini" / ".env").exists()
    dlg.done()
    assert dlg.result is not None
    assert dlg.result["set_up"] == ["claude-code", "gemini"]
    assert all(t["ok"] for t in dlg.result["tests"].values())
    assert sidecar.master_key not in json.dumps(dlg.result)


def test_a_tool_that_cannot_answer_shows_the_cause_and_fix(
    ui: Harness, services: FakeServices, user_home: Path, sidecar: Sidecar
) -> None:
    services.answers["status"] = {"sidecar": {"url": sidecar.url, "state": "running"}}
    services.answers["key"] = {"key": sidecar.master_key}
    dlg = ui.open(ToolsDialog, {}, services)
    assert isinstance(dlg, ToolsDialog)
    panel = dlg.panel
    ui.until(lambda: panel.loaded is not None, 30, "the tool list")
    for name, var in panel.ticks.items():
        var.set(name == "aider")
    panel.model.set("not-served-model")
    panel.setup_button.invoke()
    ui.until(lambda: "tools answered" in panel.note.get(), 60, "aider tested")
    line = panel.results["aider"].get()
    assert line.startswith("aider did not answer: the bridge does not serve the model"), line
    assert "Fix: `litellm-bridge clients setup aider --model NAME`" in line
    assert str(panel.result_labels["aider"].cget("style")) == "Error.TLabel"
    ui.shot(dlg, "tools-failure")
