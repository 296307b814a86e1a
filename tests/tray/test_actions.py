"""Menu actions that hand work to dialogs and shared modules: CLI setup, export diagnostics."""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tray_agent.envstore import EnvStore
from tray_agent.logs.redact import MASK, redact
from tray_agent.paths import Paths
from tray_agent.secrets import MemoryStore, open_secret_store
from tray_agent.tray import app as tray_app
from tray_agent.tray.app import TrayApp

URL = "http://127.0.0.1:4123"


class FakePort:
    def snapshot(self) -> dict[str, Any]:
        return {"sidecar": {"state": "running", "url": URL}, "token": {}, "config": {}}

    def subscribe(self, fn: Any) -> None:
        pass

    def call(self, method: str, **params: Any) -> Any:
        assert method == "key"
        return {"key": "sk-bridge-key-0123456789"}


class FakeRunner:
    """Records the dialogs asked for; answers from ``answers``."""

    def __init__(self, answers: dict[str, dict[str, Any] | None]) -> None:
        self.answers = answers
        self.shown: list[tuple[str, dict[str, Any]]] = []

    def run(self, name: str, payload: dict[str, Any] | None = None) -> dict[str, Any] | None:
        self.shown.append((name, payload or {}))
        return self.answers.get(name)

    def close_all(self) -> None:
        pass


@pytest.fixture
def notified(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    sent: list[tuple[str, str]] = []

    def notify(title: str, message: str, icon: Path | None = None) -> bool:
        sent.append((title, message))
        return True

    monkeypatch.setattr(tray_app.desktop, "notify", notify)
    return sent


def test_set_up_coding_tools_opens_the_tools_dialog_for_the_proxy_url(paths: Paths) -> None:
    runner = FakeRunner({"tools": {"ok": True}})
    TrayApp(FakePort(), paths, runner=runner).copy_setup()  # type: ignore[arg-type]
    [(name, payload)] = runner.shown
    assert name == "tools"
    # The dialog asks the agent for the key itself: it never travels in the parameters.
    assert payload == {"url": URL}


def test_export_diagnostics_writes_the_full_redacted_bundle_and_says_where(
    paths: Paths, tmp_path: Path, notified: list[tuple[str, str]]
) -> None:
    # Stored the way `env set --secret` stores it: in the keyring the export itself opens.
    # Nothing registers it with the redactor here, and it matches none of the redactor's
    # patterns: only the export's own registration of the stored secrets can hide it.
    secret = f"corp-{uuid.uuid4().hex}-value"
    secrets = open_secret_store(paths.keyring_namespace)
    assert not isinstance(secrets, MemoryStore), "this test needs the desktop keyring"
    EnvStore(paths.env_file, secrets).set("CORP_API_KEY", secret, secret=True)
    assert redact(f"INFO leaked {secret} here") == f"INFO leaked {secret} here"
    paths.agent_log.write_text(f"INFO leaked {secret} here\n")
    paths.config_file.write_text("model_list: []\n")
    out = tmp_path / "support" / "bundle.zip"
    out.parent.mkdir()
    runner = FakeRunner({"save": {"path": str(out)}})
    app = TrayApp(FakePort(), paths, runner=runner)  # type: ignore[arg-type]

    target = app.export_diagnostics()

    assert target == out.resolve()
    [(name, payload)] = runner.shown
    assert name == "save" and payload["filename"].startswith("litellm-bridge-diagnostics-")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        blob = b"".join(zf.read(n) for n in names)
    # The bundle of `litellm-bridge diagnostics`, not a smaller copy of it.
    for part in ("about.json", "status.json", "errors.json", "metrics.json", "env.json"):
        assert part in names
    assert {"doctor.txt", "config/config.yaml", "logs/agent.log"} <= names
    assert secret.encode() not in blob
    with zipfile.ZipFile(out) as zf:
        assert f"INFO leaked {MASK} here" in zf.read("logs/agent.log").decode()
    assert notified == [("Diagnostics exported", f"Saved to {out.resolve()}")]
    assert app.sent[-1].message == f"Saved to {out.resolve()}"


def test_cancelled_export_writes_nothing(
    paths: Paths, tmp_path: Path, notified: list[tuple[str, str]]
) -> None:
    app = TrayApp(FakePort(), paths, runner=FakeRunner({"save": None}))  # type: ignore[arg-type]
    assert app.export_diagnostics() is None
    assert notified == [] and list(tmp_path.rglob("*.zip")) == []
