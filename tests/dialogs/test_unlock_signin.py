"""Local password and sign-in dialogs: inline errors, Enter/Escape, lockout."""

from __future__ import annotations

import pytest

from tests.dialogs.conftest import FakeServices, Harness, press
from tray_agent.control.protocol import ControlError
from tray_agent.dialogs.signin import SignInDialog
from tray_agent.dialogs.unlock import UnlockDialog

pytestmark = [pytest.mark.gui, pytest.mark.timeout(60)]


def test_create_mode_checks_length_and_repeat_inline(ui: Harness, services: FakeServices) -> None:
    dlg = ui.open(UnlockDialog, {"create": True}, services)
    assert isinstance(dlg, UnlockDialog) and dlg.repeat is not None
    dlg.password.var.set("short")
    dlg.submit()
    ui.pump()
    assert "at least 8" in dlg.password.error_var.get()
    dlg.password.var.set("long enough 1")
    dlg.repeat.var.set("different 1")
    dlg.submit()
    assert "differ" in dlg.repeat.error_var.get()
    ui.shot(dlg, "unlock-create-error")
    dlg.repeat.var.set("long enough 1")
    press(dlg.repeat.entry, "Return")
    ui.until(lambda: dlg.result is not None, what="result")
    assert dlg.result == {"ok": True}
    assert services.account.check("long enough 1")


def test_wrong_password_is_shown_inline_and_locks_out(ui: Harness, services: FakeServices) -> None:
    services.account.create("right password")
    dlg = ui.open(UnlockDialog, {}, services)
    assert isinstance(dlg, UnlockDialog)
    for i in range(3):
        dlg.password.var.set("wrong password")
        dlg.submit()
        ui.until(lambda n=i + 1: services.account.failures() == n, what="failure counted")
        ui.pump(0.3)
    assert "try again in" in dlg.password.error_var.get()
    assert "disabled" in dlg.ok.state()
    ui.shot(dlg, "unlock-locked")
    press(dlg.password.entry, "Escape")
    ui.until(lambda: dlg.result is not None)
    assert dlg.result == {"cancelled": True}


def test_signin_shows_the_agent_error_next_to_the_password(
    ui: Harness, services: FakeServices
) -> None:
    services.answers["token.login"] = ControlError("IAM refused the employee ID or password")
    dlg = ui.open(SignInDialog, {"employee_id": "e1001"}, services)
    assert isinstance(dlg, SignInDialog)
    ui.shot(dlg, "signin")
    dlg.submit()
    assert "enter your password" in dlg.form.password.error_var.get()
    dlg.form.password.var.set("pw")
    dlg.form.remember.set(True)
    dlg.submit()
    ui.until(lambda: bool(dlg.form.password.error_var.get()), what="agent error")
    assert "refused" in dlg.form.password.error_var.get()
    assert dlg.form.password.value == ""
    ui.shot(dlg, "signin-error")
    services.answers["token.login"] = {"state": "valid", "expires_at": 2e9}
    dlg.form.password.var.set("pw")
    press(dlg.form.password.entry, "Return")
    ui.until(lambda: dlg.result is not None, what="result")
    assert dlg.result is not None and dlg.result["ok"] and dlg.result["employee_id"] == "e1001"
    method, params = services.calls[-1]
    assert method == "token.login" and params["remember"] is True


def test_signin_at_200_percent_scale(
    ui: Harness, services: FakeServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITELLM_BRIDGE_UI_SCALE", "2")
    dlg = ui.open(SignInDialog, {"employee_id": "e1001"}, services)
    small = dlg.root.winfo_reqwidth()
    ui.shot(dlg, "signin-200")
    assert dlg.scale == 2.0 and small > 700
