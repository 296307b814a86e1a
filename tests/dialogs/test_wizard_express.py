"""First run with an admin-deployed setup: the real wizard, typed into with xdotool.

The organization's policy (a root-owned directory) locks config.yaml to its managed copy and
sets the shared env value, so the wizard asks only for the local password, the employee ID
and company password, and which tools. The test counts every input a person makes (a field
filled or a key that presses a button) from the first window to "Claude Code answered",
and the machine time it took (printed, and kept in test-artifacts/first-run.json). Real
agent, sidecar, keyring, stand-in IAM and LLM, and the real ``claude`` program
(tests/e2e/install_clis.sh). It runs the wizard from source, not the frozen build.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.agentproc import AgentProc, env_for
from tests.clients.bridge import private_home
from tests.conftest import free_port
from tests.dialogs.conftest import Harness
from tests.helpers.live_bridge import json_iam
from tests.policy.policy_files import needs_root, policy_dir, write_policy
from tests.standins.iam import StandinIam
from tests.standins.llm import StandInLLM
from tests.tray.desktop import find_window, focus
from tray_agent.dialogs.services import Services
from tray_agent.dialogs.wizard import DoneStep, WizardDialog
from tray_agent.dialogs.wizard_express import ExpressStep
from tray_agent.paths import get_paths

pytestmark = [pytest.mark.gui, pytest.mark.slow, needs_root, pytest.mark.timeout(400)]

EMPLOYEE, PASSWORD = "e1001", "correct horse"
REPLY = "corp model says ready"
MAX_INPUTS = 5
HANG_SECONDS = 180.0
"""Far above the measured ~35-55 s: a bound for a hang, not a timing check (tests check
behaviour; the measured time is printed and written to test-artifacts/first-run.json)."""


@pytest.fixture
def iam() -> Iterator[StandinIam]:
    with StandinIam(users={EMPLOYEE: PASSWORD}, ttl=3600) as s:
        yield s


@pytest.fixture
def corp_llm() -> Iterator[StandInLLM]:
    with StandInLLM(reply=REPLY, models=("internal-model",)) as server:
        yield server


def deploy(home: Path, base: Path, iam: StandinIam, llm: StandInLLM) -> dict[str, str]:
    """What an admin ships: config.yaml and a policy that locks it and sets CORP_PROJECT."""
    model = {
        "model_name": "corp-llm",
        "litellm_params": {
            "model": "hosted_vllm/internal-model",
            "api_base": llm.url + "/v1",
            "api_key": "none",
            "extra_body": {
                "token": "os.environ/LITELLM_BRIDGE_TOKEN",
                "project": "os.environ/CORP_PROJECT",
            },
        },
    }
    # The internal model only: the tools are set up with the first model served.
    doc = {"model_list": [model], "bridge": {"port": free_port(), "iam": json_iam(iam)}}
    config = home / "config" / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    d = policy_dir(base, "policy")
    write_policy(d / "config.yaml", config.read_bytes())
    write_policy(
        d / "policy.json",
        {
            "lock": {"config": True},
            "managed_config": "config.yaml",
            "env": {"CORP_PROJECT": "proj-42"},
        },
    )
    return {"LITELLM_BRIDGE_POLICY_DIR": str(d)}


class Person:
    """Types into the wizard's window through the X server, and counts the inputs."""

    def __init__(self, ui: Harness, wid: str) -> None:
        self.ui = ui
        self.wid = wid
        self.inputs = 0

    def _xdotool(self, *args: str) -> None:
        proc = subprocess.Popen(["xdotool", *args])
        while proc.poll() is None:  # the dialog runs in this process: keep it answering
            self.ui.pump(0.05)
        assert proc.returncode == 0
        self.ui.pump(0.2)

    def fill(self, text: str) -> None:
        self._xdotool("type", "--delay", "5", text)
        self.inputs += 1

    def next_field(self) -> None:
        self._xdotool("key", "Tab")  # moving between fields is not an input

    def press(self, key: str) -> None:
        self._xdotool("key", key)
        self.inputs += 1


def test_admin_deployed_first_run_takes_five_inputs_to_claude_code_answering(
    ui: Harness,
    home: Path,
    tmp_path: Path,
    iam: StandinIam,
    corp_llm: StandInLLM,
    cli_bin: Path | None,
    monkeypatch: pytest.MonkeyPatch,
    artifacts: Path,
) -> None:
    if cli_bin is None:
        pytest.skip("npm is not installed: the real claude is not here")
    policy = deploy(home, tmp_path, iam, corp_llm)
    for name, value in policy.items():
        monkeypatch.setenv(name, value)
    user = tmp_path / "u"
    user.mkdir()
    private_home(user, monkeypatch, cli_bin)
    agent = AgentProc(home, env=env_for(home, **policy), start_sidecar=False)
    try:
        agent.wait_for(lambda s: s["sidecar"]["state"] == "stopped", 60, "agent up")
        began = time.monotonic()
        dlg = ui.open(WizardDialog, {}, Services(get_paths()))
        assert isinstance(dlg, WizardDialog)
        assert dlg.express, "the managed config was not seen"
        step = dlg.step
        assert isinstance(step, ExpressStep)
        assert [type(s).__name__ for s in dlg.steps] == [
            "ExpressStep",
            "EnvStep",
            "StartStep",
            "DoneStep",
        ]
        assert step.ticks["claude-code"].get()
        wid = find_window(WizardDialog.title)
        focus(wid)
        ui.shot(dlg, "wizard-express-1")
        person = Person(ui, wid)
        person.fill("local password 1")
        person.next_field()
        person.fill("local password 1")
        person.next_field()
        person.fill(EMPLOYEE)
        person.next_field()
        person.fill(PASSWORD)
        ui.shot(dlg, "wizard-express-2-filled")
        person.press("Return")  # "Set up": account, sign-in, start, tools, tests

        def claude_answered() -> bool:
            done = dlg.step
            if not isinstance(done, DoneStep) or done.panel is None:
                return False
            result = done.panel.tests.get("claude-code")
            return result is not None

        phases: dict[str, float] = {}

        def mark() -> bool:
            now = round(time.monotonic() - began, 1)
            if dlg.signed_in:
                phases.setdefault("signed_in", now)
            if type(dlg.step).__name__ == "DoneStep":
                phases.setdefault("proxy_started", now)
            return claude_answered()

        ui.until(mark, 300, "Claude Code tested")
        took = time.monotonic() - began
        done = dlg.step
        assert isinstance(done, DoneStep) and done.panel is not None
        line = done.panel.results["claude-code"].get()
        ui.shot(dlg, "wizard-express-3-answered")
        assert line.startswith("Claude Code answered in "), line
        test = done.panel.tests["claude-code"]
        assert test.binary is not None and REPLY in test.binary.answer
        phases["claude_code_answered"] = round(took, 1)
        measured = {"inputs": person.inputs, "seconds": phases}
        print(f"\nfirst run, admin-deployed: {json.dumps(measured)}")
        (artifacts / "first-run.json").write_text(json.dumps(measured, indent=2) + "\n")
        assert person.inputs <= MAX_INPUTS
        assert took <= HANG_SECONDS, f"{took:.1f} s from first launch to Claude Code answering"
        assert dlg.created_account and dlg.signed_in
        assert not (home / "config" / "env.json").exists() or (
            "proj-42" not in (home / "config" / "env.json").read_text()
        )
    finally:
        agent.stop()
