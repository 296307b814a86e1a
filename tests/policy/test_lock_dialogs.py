"""The env editor under the admin lock: locked entries labelled "managed" and read-only,
with ``lock.env: true`` the whole editor (Tk on the private display, as tests/dialogs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dialogs import conftest as dialog_fixtures
from tests.dialogs.conftest import FakeServices, Harness
from tray_agent.dialogs.env_editor import EnvDialog
from tray_agent.envstore import EnvStore
from tray_agent.policy.lock import MANAGED_LABEL

pytestmark = pytest.mark.gui

# The dialogs' fixtures (a private home, scripted services, the Tk harness).
home = dialog_fixtures.home
services = dialog_fixtures.services
ui = dialog_fixtures.ui

POLICY = "/etc/litellm-bridge/policy.json"


def status_with(env: bool | list[str]) -> dict[str, object]:
    return {"policy": {"source": [POLICY], "locked": {"env": env}, "managed_config": None}}


def test_a_locked_entry_is_read_only(ui: Harness, services: FakeServices) -> None:
    store = EnvStore(services.paths.env_file, services.secrets)
    store.set("CORP_PROJECT", "alpha", secret=False)
    store.set("MY_OWN", "x", secret=False)
    services.answers["status"] = status_with(["CORP_PROJECT"])
    dlg = ui.open(EnvDialog, {}, services)
    assert isinstance(dlg, EnvDialog)
    assert dlg.table.item("CORP_PROJECT")["text"] == f"CORP_PROJECT ({MANAGED_LABEL})"
    assert dlg.table.item("MY_OWN")["text"] == "MY_OWN"
    dlg.table.selection_set("CORP_PROJECT")
    ui.pump()
    assert dlg.save_button.instate(["disabled"])
    assert dlg.value.entry.instate(["readonly"])
    assert f"managed by your organization ({POLICY})" in dlg.hint.get()
    ui.shot(dlg, "env-locked")
    # Every change is refused, even when called directly.
    dlg.toggle_enabled()
    dlg.remove()
    entry = store.get("CORP_PROJECT")
    assert entry is not None and entry.enabled and entry.value == "alpha"
    assert "managed by your organization" in dlg.message.get()
    dlg.table.selection_set("MY_OWN")
    ui.pump()
    assert not dlg.save_button.instate(["disabled"])  # an unlocked entry stays editable
    dlg.toggle_enabled()
    assert store.get("MY_OWN").enabled is False  # type: ignore[union-attr]


def test_env_true_makes_the_editor_read_only(
    ui: Harness, services: FakeServices, tmp_path: Path
) -> None:
    store = EnvStore(services.paths.env_file, services.secrets)
    store.set("CORP_PROJECT", "alpha", secret=False)
    services.answers["status"] = status_with(True)
    dlg = ui.open(EnvDialog, {}, services)
    assert isinstance(dlg, EnvDialog)
    assert all(b.instate(["disabled"]) for b in dlg.change_buttons)
    assert "read-only" in dlg.message.get()
    src = tmp_path / "in.env"
    src.write_text("NEW_PLAIN=1\n")
    dlg.import_file(str(src))
    assert store.get("NEW_PLAIN") is None


def test_the_wizard_keeps_a_managed_config(ui: Harness, services: FakeServices) -> None:
    from tray_agent.dialogs.wizard import TemplateStep, WizardDialog

    services.account.create("local password")  # the wizard opens on the template step
    services.answers["status"] = {
        "policy": {"source": [POLICY], "locked": {"config": True}, "managed_config": None}
    }
    dlg = ui.open(WizardDialog, {"template": "demo"}, services)
    assert isinstance(dlg, WizardDialog)
    step = next(s for s in dlg.steps if isinstance(s, TemplateStep))
    assert step.managed and step.choice.get() == ""  # keep, not a template
    radios = [w for w in step.frame.winfo_children() if w.winfo_class() == "TRadiobutton"]
    assert f"managed by your organization ({POLICY})" in radios[0].cget("text")
    assert all(r.instate(["disabled"]) for r in radios[1:]) and len(radios) > 1
    assert step.port.entry.instate(["readonly"])
    step.choice.set("demo")  # as if a template were picked anyway
    step.next(lambda: None)
    assert "managed by your organization" in step.error.get()
    assert not services.paths.config_file.exists()
