"""Environment editor, Status, CLI setup and Save dialogs driven through their widgets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.dialogs.conftest import FakeServices, Harness, press
from tray_agent.control.protocol import ControlError
from tray_agent.dialogs.env_editor import MASK, EnvDialog
from tray_agent.dialogs.save import SaveDialog
from tray_agent.dialogs.setup import BOX_COLUMNS, SetupDialog
from tray_agent.dialogs.status import StatusDialog
from tray_agent.dialogs.wizard import DoneStep, WizardDialog
from tray_agent.envstore import EnvStore
from tray_agent.metrics import MetricsStore
from tray_agent.tray.app import TrayApp

pytestmark = [pytest.mark.gui, pytest.mark.timeout(60)]


def _values(dlg: EnvDialog) -> dict[str, tuple[str, ...]]:
    return {i: tuple(dlg.table.item(i, "values")) for i in dlg.table.get_children()}


def test_env_editor_adds_masks_reveals_toggles_and_exports(
    ui: Harness, services: FakeServices, tmp_path: Path
) -> None:
    services.account.create("local password")
    store = EnvStore(services.paths.env_file, services.secrets)
    store.set("CORP_PROJECT", "alpha", secret=False)
    dlg = ui.open(EnvDialog, {}, services)
    assert isinstance(dlg, EnvDialog)
    dlg.new()
    dlg.name.var.set("CORP_API_KEY")
    dlg.value.var.set("sk-very-secret")
    dlg.secret.set(True)
    press(dlg.value.entry, "Return")
    ui.pump()
    assert _values(dlg)["CORP_API_KEY"][0] == MASK
    assert store.value(store.get("CORP_API_KEY")) == "sk-very-secret"  # type: ignore[arg-type]
    assert "sk-very-secret" not in services.paths.env_file.read_text()
    ui.shot(dlg, "env")

    dlg.local.var.set("wrong password")
    dlg.reveal()
    ui.until(lambda: bool(dlg.local.error_var.get()), what="reveal error")
    assert _values(dlg)["CORP_API_KEY"][0] == MASK
    dlg.local.var.set("local password")
    dlg.reveal()
    ui.until(lambda: dlg.revealed, what="revealed")
    assert _values(dlg)["CORP_API_KEY"][0] == "sk-very-secret"

    dlg.table.selection_set("CORP_PROJECT")
    ui.pump()
    dlg.toggle_enabled()
    assert _values(dlg)["CORP_PROJECT"][1] == "no"
    assert store.get("CORP_PROJECT").enabled is False  # type: ignore[union-attr]

    out = tmp_path / "out.env"
    dlg.export_file(str(out))
    text = out.read_text()
    assert "CORP_API_KEY=" in text and "# disabled: CORP_PROJECT=" in text

    src = tmp_path / "in.env"
    src.write_text("NEW_PLAIN=1\nNEW_TOKEN=abc\n")
    dlg.import_file(str(src))
    assert store.get("NEW_TOKEN").secret  # type: ignore[union-attr]
    press(dlg.table, "Escape")
    ui.until(lambda: dlg.result is not None)


def test_env_editor_shows_a_bad_name_inline(ui: Harness, services: FakeServices) -> None:
    dlg = ui.open(EnvDialog, {}, services)
    assert isinstance(dlg, EnvDialog)
    dlg.name.var.set("1 bad name")
    dlg.value.var.set("x")
    dlg.save_entry()
    assert dlg.name.error_var.get()
    ui.shot(dlg, "env-error")


SNAP = {
    "agent": {"pid": 1, "version": "0.1.0", "home": "/h"},
    "sidecar": {
        "state": "running",
        "pid": 4242,
        "url": "http://127.0.0.1:4000",
        "restarts": 2,
        "error": None,
        "last_output": [],
    },
    "config": {
        "path": "config.yaml",
        "valid": False,
        "errors": [{"file": "config.yaml", "line": 7, "column": 3, "message": "unknown key"}],
        "apply_error": None,
    },
    "token": {"state": "valid", "expires_at": 2_000_000_000, "employee_id": "e1001"},
    "keyring": {"persistent": True, "backend": "SecretService"},
}


def metrics_after(requests: list[tuple[float, dict[str, Any]]], now: float) -> dict[str, Any]:
    """A real store's summary at ``now`` after requests recorded at the given times."""
    clock = [now - 3600]
    store = MetricsStore(clock=lambda: clock[0])
    for at, payload in requests:
        clock[0] = at
        store.record({"route": "/v1/chat/completions", "stream": False, **payload})
    clock[0] = now
    store.set_in_flight(requests=1, connections=3)
    return store.summary()


def busy_hour(now: float) -> list[tuple[float, dict[str, Any]]]:
    out: list[tuple[float, dict[str, Any]]] = []
    for i in range(60):
        model = "corp-chat" if i % 3 else "corp-coder"
        status = 502 if i % 20 == 7 else 200
        latency = 180.0 + (i * 37) % 900
        out.append(
            (
                now - 3500 + i * 58,
                {"model": model, "status": status, "latency_ms": latency, "tokens_in": 40 + i},
            )
        )
    out += [(now - 20, {"model": "corp-chat", "status": 200, "latency_ms": 210.0})]
    out += [(now - 10, {"model": "corp-coder", "status": 200, "latency_ms": 640.0})]
    return out


def test_status_shows_state_errors_metrics_and_filters_the_live_log(
    ui: Harness, services: FakeServices
) -> None:
    now = 2_000_000_000.0
    services.answers["status"] = {
        **SNAP,
        "config": {**SNAP["config"], "path": str(services.paths.config_file)},  # type: ignore[dict-item]
    }
    services.answers["metrics"] = metrics_after(busy_hour(now), now)
    log = services.paths.agent_log
    log.write_text(
        "2026-01-01T00:00:00.000Z INFO    core sidecar.ready pid=1\n"
        "2026-01-01T00:00:01.000Z ERROR   core config.invalid errors=x\n"
    )
    dlg = ui.open(StatusDialog, {}, services)
    assert isinstance(dlg, StatusDialog)
    ui.until(lambda: dlg.rows["Proxy"].get().startswith("running"), what="status")
    assert dlg.rows["Restarts"].get() == "2"
    assert "e1001" in dlg.rows["Token"].get()
    assert "config.yaml:7:3: unknown key" in dlg.errors.get("1.0", "end")
    shown = dlg.metrics_box.get("1.0", "end")
    for part in ("last 1m", "last 15m", "last 1h", "requests", "errors", "rate", "p50", "p95"):
        assert part in shown
    assert "corp-chat" in shown and "corp-coder" in shown
    hour = shown.split("last 1h")[1].splitlines()[2]
    assert hour.split()[2:5] == ["62", "3", "4.8%"]  # all models: requests, errors, rate
    ui.shot(dlg, "status")
    dlg.show_log()
    ui.until(lambda: "sidecar.ready" in dlg.log.get("1.0", "end"), what="log")
    with log.open("a") as fh:
        fh.write("2026-01-01T00:00:02.000Z WARNING core late.line\n")
    ui.until(lambda: "late.line" in dlg.log.get("1.0", "end"), what="live tail")
    dlg.level.set("ERROR")
    ui.pump()
    assert dlg.shown_lines() == [ln for ln in dlg.shown_lines() if "ERROR" in ln]
    assert "sidecar.ready" not in dlg.log.get("1.0", "end")
    dlg.level.set("ALL")
    dlg.search.set("late")
    ui.pump()
    assert [ln for ln in dlg.shown_lines()] == [dlg.shown_lines()[0]]
    ui.shot(dlg, "status-log")

    # The metrics follow the status poll.
    later = [*busy_hour(now), (now - 5, {"model": "corp-chat", "status": 500})]
    services.answers["metrics"] = metrics_after(later, now)
    ui.until(lambda: "63 requests since" in dlg.metrics_box.get("1.0", "end"), 5, "refresh")


def test_status_says_why_metrics_are_missing(ui: Harness, services: FakeServices) -> None:
    services.answers["status"] = SNAP
    services.answers["metrics"] = RuntimeError("unknown command 'metrics'")
    dlg = ui.open(StatusDialog, {}, services)
    assert isinstance(dlg, StatusDialog)
    ui.until(lambda: "unknown command" in dlg.metrics_box.get("1.0", "end"), what="reason")
    services.answers["status"] = ControlError("gone")
    ui.until(lambda: "not running" in dlg.metrics_box.get("1.0", "end"), what="agent gone")


def _buttons(widget: Any) -> list[Any]:
    found = [widget] if widget.winfo_class() == "TButton" else []
    for child in widget.winfo_children():
        found += _buttons(child)
    return found


class FakePort:
    def __init__(self, url: str) -> None:
        self.url = url

    def snapshot(self) -> dict[str, Any]:
        return {**SNAP, "sidecar": {**SNAP["sidecar"], "url": self.url}}  # type: ignore[dict-item]

    def subscribe(self, fn: Any) -> None:
        pass

    def call(self, method: str, **params: Any) -> Any:
        return {"key": "sk-k"} if method == "key" else None


URL = "http://127.0.0.1:39787"


def test_setup_fits_its_box_and_copies_text_and_key(ui: Harness, services: FakeServices) -> None:
    text = TrayApp(FakePort(URL), services.paths).setup_text()
    dlg = ui.open(SetupDialog, {"text": text, "key": "sk-k"}, services)
    assert isinstance(dlg, SetupDialog)
    ui.shot(dlg, "setup")
    box = dlg.panel.box
    assert int(box.cget("width")) == BOX_COLUMNS
    assert dlg.panel.wrapped_lines() == 0  # every line fits: nothing wraps or hides
    assert box.xview() == (0.0, 1.0)
    assert "litellm-bridge clients setup claude-code" in dlg.panel.shown_text()
    by_text = {b.cget("text"): b for b in _buttons(dlg.frame)}
    by_text["Copy API key"].invoke()
    assert dlg.root.clipboard_get() == "sk-k"
    by_text["Copy setup"].invoke()
    assert dlg.root.clipboard_get() == text
    press(dlg.frame, "Return")
    ui.until(lambda: dlg.result is not None)
    assert dlg.result == {"ok": True, "copied": ["API key", "setup"]}


def test_wizard_last_page_lists_the_tools_and_copies_the_trays_setup_text(
    ui: Harness, services: FakeServices
) -> None:
    services.account.create("local password")
    services.answers["key"] = {"key": "sk-k"}
    tray_text = TrayApp(FakePort(URL), services.paths).setup_text()
    dlg = ui.open(WizardDialog, {}, services)
    assert isinstance(dlg, WizardDialog)
    dlg.url = URL
    dlg.goto(len(dlg.steps) - 1)
    ui.pump()
    done = dlg.step
    assert isinstance(done, DoneStep) and done.panel is not None
    panel = done.panel
    ui.until(lambda: panel.loaded is not None, 10, "the tool list")
    assert "claude-code" in panel.ticks
    panel.copy_button.invoke()
    assert dlg.root.clipboard_get() == tray_text
    assert done.copied == ["setup"]
    ui.shot(dlg, "wizard-done-tools")


def test_save_dialog_checks_the_folder_inline(ui: Harness, services: FakeServices) -> None:
    folder = services.paths.config_dir.parent  # a short path: it shows in the screenshot
    dlg = ui.open(SaveDialog, {"title": "Export diagnostics", "filename": "d.zip"}, services)
    assert isinstance(dlg, SaveDialog)
    dlg.path.var.set(str(folder / "missing" / "d.zip"))
    dlg.submit()
    assert "does not exist" in dlg.path.error_var.get()
    ui.shot(dlg, "save-error")
    dlg.path.var.set(str(folder / "d.zip"))
    press(dlg.path.entry, "Return")
    ui.until(lambda: dlg.result is not None)
    assert dlg.result == {"path": str(folder / "d.zip")}
    assert json.dumps(dlg.result)
