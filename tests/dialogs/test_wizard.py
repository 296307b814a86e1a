"""The first-run wizard end to end: a new user reaches a healthy proxy and a copyable setup.

Real agent process, real keyring, the stand-in IAM, a real sidecar; the wizard is driven
through its widgets in this process and talks to the agent over the control channel.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.agentproc import AgentProc, env_for
from tests.conftest import free_port
from tests.dialogs.conftest import Harness
from tests.standins.iam import StandinIam
from tray_agent.dialogs.services import Services
from tray_agent.dialogs.wizard import DoneStep, EnvStep, SignInStep, StartStep, WizardDialog
from tray_agent.paths import get_paths

pytestmark = [pytest.mark.gui, pytest.mark.slow]

EMPLOYEE, PASSWORD = "e1001", "correct horse"


def write_template(directory: Path, iam_url: str) -> None:
    data = {
        "model_list": [
            {
                "model_name": "corp-chat",
                "litellm_params": {
                    "model": "openai/corp-chat",
                    "mock_response": "hello from corp",
                    "api_key": "os.environ/CORP_API_KEY",
                    "extra_body": {
                        "token": "os.environ/LITELLM_BRIDGE_TOKEN",
                        "project": "os.environ/CORP_PROJECT",
                    },
                },
            }
        ],
        "bridge": {
            "port": 4000,
            "iam": {
                "kind": "json",
                "url": iam_url + "/json/login",
                "body": {"credentials": {"employee_id": "{employee_id}", "password": "{password}"}},
                "token_path": "data.session.jwt",
                "expires_at_path": "data.session.valid_until",
            },
        },
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "example-corp.yaml").write_text(
        "# description: Example company: company IAM sign-in, one model\n"
        + yaml.safe_dump(data, sort_keys=False)
    )


@pytest.fixture
def iam() -> Iterator[StandinIam]:
    with StandinIam(users={EMPLOYEE: PASSWORD}, ttl=3600) as s:
        yield s


@pytest.mark.timeout(400)
def test_wizard_reaches_a_healthy_proxy_and_a_copyable_setup(
    ui: Harness, home: Path, iam: StandinIam, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = tmp_path / "templates"
    write_template(templates, iam.url)
    monkeypatch.setenv("LITELLM_BRIDGE_TEMPLATES", str(templates))
    agent = AgentProc(home, env=env_for(home), start_sidecar=False)
    try:
        agent.wait_for(lambda s: s["sidecar"]["state"] == "stopped", 60, "agent up")
        port = free_port()
        paths = get_paths()
        dlg = ui.open(WizardDialog, {"template": "example-corp", "port": port}, Services(paths))
        assert isinstance(dlg, WizardDialog)
        ui.shot(dlg, "wizard-1-account")
        step = dlg.steps[0]
        step.password.var.set("local password 1")  # type: ignore[attr-defined]
        step.repeat.var.set("local password 1")  # type: ignore[attr-defined]
        dlg.next()
        ui.until(lambda: dlg.index == 1, 30, "template step")
        ui.shot(dlg, "wizard-2-template")
        dlg.next()
        ui.until(lambda: isinstance(dlg.step, EnvStep), 30, "env step")
        env = dlg.step
        assert isinstance(env, EnvStep)
        assert set(env.fields) == {"CORP_API_KEY", "CORP_PROJECT"}
        assert env.fields["CORP_API_KEY"][0].entry.cget("show") == "•"
        dlg.next()  # empty values: errors next to the fields
        assert env.fields["CORP_PROJECT"][0].error_var.get() == "enter a value"
        env.fields["CORP_API_KEY"][0].var.set("sk-corp-secret")
        env.fields["CORP_PROJECT"][0].var.set("apollo")
        ui.shot(dlg, "wizard-3-env")
        dlg.next()
        ui.until(lambda: isinstance(dlg.step, SignInStep), 30, "sign-in step")
        sign = dlg.step
        assert isinstance(sign, SignInStep)
        sign.form.employee.var.set(EMPLOYEE)
        sign.form.password.var.set("wrong one")
        dlg.next()
        ui.until(lambda: bool(sign.form.password.error_var.get()), 60, "IAM error inline")
        ui.shot(dlg, "wizard-4-signin-error")
        sign.form.password.var.set(PASSWORD)
        dlg.next()
        ui.until(lambda: isinstance(dlg.step, StartStep), 60, "start step")
        assert "disabled" not in dlg.next_button.state()  # Start can be clicked
        ui.shot(dlg, "wizard-5-start")
        dlg.next_button.invoke()
        ui.until(lambda: "Starting" in dlg.status.get(), 10, "starting")
        ui.shot(dlg, "wizard-5-starting")
        ui.until(lambda: isinstance(dlg.step, DoneStep), 300, "proxy started")
        ui.shot(dlg, "wizard-6-done")
        done = dlg.step
        assert isinstance(done, DoneStep) and done.panel is not None
        panel = done.panel
        ui.until(lambda: panel.loaded is not None, 30, "the tool list")
        assert panel.loaded is not None and panel.loaded.target.url == f"http://127.0.0.1:{port}"
        assert "claude-code" in panel.ticks
        assert panel.loaded.target.key not in panel.shown_diff()
        dlg.next()
        ui.until(lambda: dlg.result is not None, 10, "result")
        assert dlg.result is not None
        assert dlg.result["ok"] and dlg.result["signed_in"]
        assert dlg.result["url"] == f"http://127.0.0.1:{port}"

        status = agent.wait_running(30)
        assert status["token"]["state"] == "valid"
        key = (home / "config").exists() and agent.status()
        assert key
        from tests.agentproc import cli

        api_key = cli(home, "key").stdout.strip()
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            headers={"Authorization": f"Bearer {api_key}"},
            json={"model": "corp-chat", "messages": [{"role": "user", "content": "hi"}]},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        assert "hello from corp" in r.text
        assert "sk-corp-secret" not in (home / "config" / "env.json").read_text()
    finally:
        agent.stop()
