"""Every doctor run ends with the next step: the first failure's fix, starting the proxy,
or setting up a tool."""

from __future__ import annotations

import json
from pathlib import Path

from tests.agentproc import cli
from tray_agent.doctor.context import CheckResult
from tray_agent.doctor.next_step import next_step


def result(id: str, status: str, fix: str | None = None) -> CheckResult:
    return CheckResult(id, f"{id} ok", status, "detail", fix)  # type: ignore[arg-type]


def test_the_first_failure_comes_first() -> None:
    checks = [
        result("config", "fail", "create one: litellm-bridge init --template demo"),
        result("sidecar", "fail", "restart it"),
    ]
    text = next_step(checks, agent_running=False)
    assert text.startswith("fix 'config ok' first (1 more after it): create one: ")
    assert text.endswith("then run `litellm-bridge doctor` again")


def test_a_clean_run_without_proxy_says_start_and_with_it_says_set_up_a_tool() -> None:
    quiet = [result("config", "pass"), result("sidecar", "warn", "start it")]
    assert next_step(quiet, agent_running=False).startswith("start the proxy")
    running = [result("config", "pass"), result("sidecar", "pass")]
    assert "litellm-bridge clients setup <name>" in next_step(running, agent_running=True)
    warned = [*running, result("disk", "warn", "free some space")]
    assert "'disk ok' is worth a look: free some space" in next_step(warned, True)


def test_the_doctor_command_prints_the_next_step_in_text_and_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = cli(home, "doctor")
    assert r.returncode == 1
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("next: fix 'config valid") and "litellm-bridge init" in last
    doc = json.loads(cli(home, "doctor", "--json").stdout)
    assert doc["next_step"] == last.removeprefix("next: ")
