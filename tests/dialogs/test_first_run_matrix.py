"""The first-run matrix: each fault a first run meets, ending in success or its named cause.

The sign-in and start variants share one real agent (no sidecar until a start is asked) and
one stand-in IAM: each variant writes its config.yaml and the wizard's sign-in step reloads
it, as the wizard does. The tool variants share the sidecar of tests/clients/bridge.py.
Every variant drives the real wizard (or its last step's panel) through its widgets and
reads what the person sees.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProc, env_for, write_config
from tests.clients.bridge import private_home, store_key
from tests.conftest import free_port
from tests.dialogs.conftest import FakeServices, Harness
from tests.helpers.live_bridge import json_iam
from tests.helpers.sidecar import Sidecar
from tests.standins.iam import StandinIam, make_test_ca
from tray_agent.account import Account
from tray_agent.clients.states import BY_HAND, NOT_FOUND
from tray_agent.dialogs.services import Services
from tray_agent.dialogs.tools import ToolsDialog
from tray_agent.dialogs.wizard import SignInStep, StartStep, WizardDialog
from tray_agent.paths import get_paths

pytestmark = [pytest.mark.gui, pytest.mark.slow, pytest.mark.timeout(600)]

EMPLOYEE, PASSWORD = "e1001", "correct horse"


@dataclass
class Shared:
    home: Path
    agent: AgentProc
    iam: StandinIam
    tls_iam: StandinIam


@pytest.fixture(scope="module")
def shared() -> Iterator[Shared]:
    root = Path(tempfile.mkdtemp(prefix="lb-matrix-"))
    home = root / "litellm-bridge"
    home.mkdir()
    with (
        pytest.MonkeyPatch.context() as mp,
        StandinIam(users={EMPLOYEE: PASSWORD}, ttl=3600) as iam,
        StandinIam(users={EMPLOYEE: PASSWORD}, ttl=3600, tls=make_test_ca(root / "ca")) as tls,
    ):
        mp.setenv("LITELLM_BRIDGE_HOME", str(home))
        write_config(home, free_port(), bridge={"iam": json_iam(iam)})
        paths = get_paths()
        paths.ensure()
        Account(paths.account_file, cost=(2**10, 8, 1)).create("local password 1")
        agent = AgentProc(home, env=env_for(home), start_sidecar=False)
        try:
            agent.wait_for(lambda s: s["sidecar"]["state"] == "stopped", 60, "agent up")
            yield Shared(home, agent, iam, tls)
        finally:
            agent.stop()
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def wizard_home(shared: Shared, monkeypatch: pytest.MonkeyPatch) -> Shared:
    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(shared.home))
    shared.iam.clear_faults()
    return shared


def configure(shared: Shared, iam: dict[str, Any], port: int | None = None) -> None:
    write_config(shared.home, port or free_port(), bridge={"iam": iam})


def open_at(ui: Harness, kind: type) -> tuple[WizardDialog, Any]:
    dlg = ui.open(WizardDialog, {}, Services(get_paths()))
    assert isinstance(dlg, WizardDialog)
    index = next(i for i, s in enumerate(dlg.steps) if isinstance(s, kind))
    dlg.goto(index)
    ui.pump()
    return dlg, dlg.step


def sign_in(ui: Harness, password: str) -> tuple[WizardDialog, SignInStep]:
    dlg, step = open_at(ui, SignInStep)
    step.form.employee.var.set(EMPLOYEE)
    step.form.password.var.set(password)
    dlg.next()
    ui.until(
        lambda: step.signed_in or bool(step.form.password.error_var.get()), 90, "sign-in outcome"
    )
    if not step.signed_in:
        ui.until(lambda: step.diagnosis.text.get() != "Looking for the cause…", 60, "diagnosis")
    return dlg, step


def test_wrong_password_is_said_once_without_a_retry_and_the_right_one_then_works(
    ui: Harness, wizard_home: Shared
) -> None:
    configure(wizard_home, json_iam(wizard_home.iam))
    before = wizard_home.iam.failed_password_attempts[EMPLOYEE]
    dlg, step = sign_in(ui, "wrong one")
    assert not step.signed_in
    error = step.form.password.error_var.get()
    assert error, "no error shown"
    # One press, one attempt: the wizard never retries a rejected password (no lockout).
    assert wizard_home.iam.failed_password_attempts[EMPLOYEE] == before + 1
    problem = step.diagnosis.problem
    assert problem is not None and problem.id == "iam_password", step.diagnosis.text.get()
    assert "lockout" in step.diagnosis.text.get()
    ui.shot(dlg, "matrix-wrong-password")
    step.form.password.var.set(PASSWORD)
    dlg.next()
    ui.until(lambda: not isinstance(dlg.step, SignInStep), 60, "signed in after the fix")
    assert dlg.signed_in


def test_cancelled_after_sign_in_the_wizard_resumes_past_it(
    ui: Harness, wizard_home: Shared
) -> None:
    configure(wizard_home, json_iam(wizard_home.iam))
    dlg, step = sign_in(ui, PASSWORD)
    assert step.signed_in
    dlg.cancel()
    assert dlg.result == {"cancelled": True}
    wizard_home.agent.wait_for(lambda s: s["token"]["state"] == "valid", 30, "a valid token")
    # Opened again (the tray's "First-run setup…"): the account and the sign-in are kept.
    again = ui.open(WizardDialog, {}, Services(get_paths()))
    assert isinstance(again, WizardDialog)
    applies = {type(s).__name__: s.applies() for s in again.steps}
    assert applies["AccountStep"] is False and applies["SignInStep"] is False
    assert type(again.step).__name__ == "TemplateStep"
    assert again.step.choice.get() == ""  # type: ignore[attr-defined]  # keep config.yaml
    again.next()
    ui.until(lambda: isinstance(again.step, StartStep), 30, "straight to the start step")


def test_iam_unreachable_names_the_step_that_failed(ui: Harness, wizard_home: Shared) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    iam = json_iam(wizard_home.iam)
    iam["url"] = dead + "/json/login"
    configure(wizard_home, iam)
    dlg, step = sign_in(ui, PASSWORD)
    assert step.diagnosis.problem is not None, step.diagnosis.text.get()
    assert step.diagnosis.problem.id == "iam"
    text = step.diagnosis.text.get()
    assert text.startswith("Cause: ") and "\nFix: " in text
    assert "127.0.0.1" in text
    ui.shot(dlg, "matrix-iam-unreachable")


def test_untrusted_corporate_ca_is_named_with_the_ca_bundle_fix(
    ui: Harness, wizard_home: Shared
) -> None:
    configure(wizard_home, json_iam(wizard_home.tls_iam))  # no ca_bundle: the CA is unknown
    dlg, step = sign_in(ui, PASSWORD)
    problem = step.diagnosis.problem
    assert problem is not None and problem.id == "iam", step.diagnosis.text.get()
    assert problem.data.get("untrusted_ca") is True
    assert "ca_bundle" in (problem.fix or "")
    ui.shot(dlg, "matrix-untrusted-ca")


def test_a_slow_iam_still_signs_in(ui: Harness, wizard_home: Shared) -> None:
    configure(wizard_home, json_iam(wizard_home.iam, timeout=20))
    wizard_home.iam.fault(1, delay=3.0)
    _dlg, step = sign_in(ui, PASSWORD)
    assert step.signed_in


def test_an_expired_company_password_shows_the_iams_words(ui: Harness, wizard_home: Shared) -> None:
    configure(wizard_home, json_iam(wizard_home.iam))
    body = json.dumps({"error": "password_expired", "message": "password expired"}).encode()
    wizard_home.iam.fault(1, status=403, body=body)
    dlg, step = sign_in(ui, PASSWORD)
    assert not step.signed_in
    error = step.form.password.error_var.get()
    assert "password_expired" in error, error
    text = step.diagnosis.text.get()
    assert text.startswith("Cause: the IAM says your company password has expired"), text
    assert "Fix: change it where your company changes passwords" in text
    ui.shot(dlg, "matrix-expired-password")


def test_port_in_use_by_another_program_is_named_at_start(ui: Harness, wizard_home: Shared) -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        port = holder.getsockname()[1]
        configure(wizard_home, json_iam(wizard_home.iam), port=port)
        dlg, step = open_at(ui, StartStep)
        assert isinstance(step, StartStep)
        dlg.next()
        ui.until(lambda: bool(step.error.get()), 180, "start failure")
        ui.until(lambda: step.diagnosis.problem is not None, 60, "diagnosis")
        problem = step.diagnosis.problem
        assert problem is not None and problem.id == "port"
        assert "already in use by" in step.diagnosis.text.get()
        assert "bridge.port" in step.diagnosis.text.get()
        ui.shot(dlg, "matrix-port-in-use")
    finally:
        holder.close()
        with contextlib.suppress(Exception):
            wizard_home.agent.status()


def test_no_keyring_is_named_before_the_start(
    ui: Harness, wizard_home: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An agent (and this process) without a usable OS keyring.
    monkeypatch.setenv("LITELLM_BRIDGE_SECRET_STORE", "memory")
    wizard_home.agent.stop()
    agent = AgentProc(wizard_home.home, env=env_for(wizard_home.home), start_sidecar=False)
    try:
        agent.wait_for(lambda s: s["sidecar"]["state"] == "stopped", 60, "agent up")
        dlg, step = open_at(ui, StartStep)
        assert isinstance(step, StartStep)
        ui.until(lambda: step.diagnosis.problem is not None, 60, "keyring diagnosis")
        problem = step.diagnosis.problem
        assert problem is not None and problem.id == "keyring"
        assert "no secure OS keyring is usable" in step.diagnosis.text.get()
        ui.shot(dlg, "matrix-no-keyring")
    finally:
        agent.stop()
        monkeypatch.delenv("LITELLM_BRIDGE_SECRET_STORE")
        wizard_home.agent = AgentProc(
            wizard_home.home, env=env_for(wizard_home.home), start_sidecar=False
        )
        wizard_home.agent.wait_for(lambda s: s["sidecar"]["state"] == "stopped", 60, "agent up")


@pytest.fixture
def tools(
    ui: Harness,
    services: FakeServices,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    sidecar: Sidecar,
    cli_bin: Path | None,
) -> tuple[FakeServices, Path]:
    user = home.parent / "u"
    user.mkdir()
    private_home(user, monkeypatch, cli_bin)
    store_key(sidecar)
    services.answers["status"] = {"sidecar": {"url": sidecar.url, "state": "running"}}
    services.answers["key"] = {"key": sidecar.master_key}
    return services, user


def open_tools(ui: Harness, services: FakeServices) -> ToolsDialog:
    dlg = ui.open(ToolsDialog, {}, services)
    assert isinstance(dlg, ToolsDialog)
    ui.until(lambda: dlg.panel.loaded is not None, 30, "the tool list")
    return dlg


def test_proxy_variables_capturing_loopback_are_named_for_the_tool(
    ui: Harness, tools: tuple[FakeServices, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, _user = tools
    dlg = open_tools(ui, services)
    panel = dlg.panel
    for name, var in panel.ticks.items():
        var.set(name == "curl")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NO_PROXY", "")
    panel.setup_button.invoke()
    ui.until(lambda: "tools answered" in panel.note.get(), 60, "curl tested")
    line = panel.results["curl"].get()
    assert line.startswith("curl did not answer: HTTP_PROXY sends the requests"), line
    assert "NO_PROXY" in line.split("Fix: ", 1)[1]
    ui.shot(dlg, "matrix-proxy-capture")


def test_a_tool_not_installed_and_one_set_up_by_hand_are_left_alone(
    ui: Harness, tools: tuple[FakeServices, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, user = tools
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no claude, gemini or codex here
    (user / ".codex").mkdir()
    mine = 'model_provider = "corp"\n[model_providers.corp]\nbase_url = "https://llm.corp/v1"\n'
    (user / ".codex" / "config.toml").write_text(mine)
    dlg = open_tools(ui, services)
    panel = dlg.panel
    assert panel.loaded is not None
    states = {s.client.name: s.state for s in panel.loaded.states}
    assert states["claude-code"] == NOT_FOUND and not panel.ticks["claude-code"].get()
    assert states["codex"] == BY_HAND and not panel.ticks["codex"].get()
    panel.ticks["curl"].set(True)
    panel.setup_button.invoke()
    ui.until(lambda: "tools answered" in panel.note.get(), 60, "curl tested")
    assert panel.results["curl"].get().startswith("curl answered in ")
    assert (user / ".codex" / "config.toml").read_text() == mine
    assert not (user / ".claude").exists()
