"""``litellm-bridge token ...``: directly against the IAM, or forwarded to a running agent."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.standins.iam import StandinIam
from tests.token.conftest import EMPLOYEE, PASSWORD, json_profile
from tray_agent.cli import main
from tray_agent.commands.context import CliContext
from tray_agent.control.protocol import ControlError
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore


@pytest.fixture
def configured(home: Paths, standin: StandinIam, secrets: SecretStore) -> Iterator[Paths]:
    config = {
        "model_list": [
            {
                "model_name": "internal",
                "litellm_params": {"model": "hosted_vllm/internal", "api_base": "http://x/v1"},
            }
        ],
        "bridge": {"iam": json_profile(standin.url), "notify_before": 10},
    }
    home.config_file.write_text(yaml.safe_dump(config))
    yield home


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["token", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_login_status_refresh_logout_without_agent(
    configured: Paths,
    standin: StandinIam,
    secrets: SecretStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(monkeypatch, capsys, "status")
    assert code == 1 and "token: absent" in out

    code, out, err = run(
        monkeypatch,
        capsys,
        "login",
        "--employee-id",
        EMPLOYEE,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, err
    token = secrets.get("token")
    assert token and token not in out + err and PASSWORD not in out + err
    assert f"signed in as {EMPLOYEE}" in out
    assert standin.password_attempts[EMPLOYEE] == 1

    code, out, _ = run(monkeypatch, capsys, "status", "--json")
    status = json.loads(out)
    assert code == 0 and status["state"] == "valid" and status["employee_id"] == EMPLOYEE
    assert status["can_refresh_silently"] is False and token not in out

    code, out, err = run(monkeypatch, capsys, "refresh")
    assert code == 1 and "--remember" in err

    code, out, _ = run(monkeypatch, capsys, "logout")
    assert code == 0 and secrets.get("token") is None
    code, out, _ = run(monkeypatch, capsys, "status")
    assert code == 1 and "token: absent" in out and EMPLOYEE in out


def test_wrong_password_reports_once_without_echo(
    configured: Paths,
    standin: StandinIam,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        monkeypatch,
        capsys,
        "login",
        "--employee-id",
        EMPLOYEE,
        "--password-stdin",
        stdin="hunter2\n",
    )
    assert code == 1 and "refused the sign-in" in err and "hunter2" not in out + err
    assert standin.password_attempts[EMPLOYEE] == 1


def test_remember_lets_refresh_sign_in_again(
    configured: Paths,
    standin: StandinIam,
    secrets: SecretStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        monkeypatch,
        capsys,
        "login",
        "--employee-id",
        EMPLOYEE,
        "--password-stdin",
        "--remember",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, err
    first = secrets.get("token")
    code, out, err = run(monkeypatch, capsys, "refresh")
    assert code == 0, err
    assert secrets.get("token") != first and "token renewed" in out
    secret_values = [v for v in (secrets.get("token"), first, PASSWORD) if v]
    for path in configured.config_dir.parent.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(v.encode() in content for v in secret_values), path


def test_login_without_terminal_or_stdin_flag_explains(
    configured: Paths, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(monkeypatch, capsys, "login", "--employee-id", EMPLOYEE)
    assert code == 1 and "--password-stdin" in err


def test_login_without_config_says_what_to_do(
    home: Paths, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        monkeypatch,
        capsys,
        "login",
        "--employee-id",
        EMPLOYEE,
        "--password-stdin",
        stdin="pw\n",
    )
    assert code == 1 and "config" in err


class FakeAgent:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, method: str, timeout: float = 120.0, **params: Any) -> Any:
        self.calls.append((method, params))
        answer = self.answers[method]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def __enter__(self) -> FakeAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


STATUS = {
    "state": "valid",
    "expires_at": 2_000_000_000.0,
    "employee_id": EMPLOYEE,
    "last_error": None,
    "can_refresh_silently": True,
    "next_refresh_at": 1_999_999_000.0,
    "password_remembered": False,
}


def test_commands_are_forwarded_to_a_running_agent(
    home: Paths, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = FakeAgent(
        {
            "token.login": STATUS,
            "token.status": STATUS,
            "token.refresh": STATUS,
            "token.logout": {**STATUS, "state": "absent", "expires_at": None},
        }
    )
    monkeypatch.setattr(CliContext, "agent", lambda self: agent)
    code, _, err = run(
        monkeypatch,
        capsys,
        "login",
        "--employee-id",
        EMPLOYEE,
        "--password-stdin",
        "--remember",
        stdin="pw\n",
    )
    assert code == 0, err
    assert agent.calls[-1] == (
        "token.login",
        {"employee_id": EMPLOYEE, "password": "pw", "remember": True},
    )
    code, out, _ = run(monkeypatch, capsys, "status", "--json")
    assert code == 0 and json.loads(out)["source"] == "agent"
    assert run(monkeypatch, capsys, "refresh")[0] == 0
    assert run(monkeypatch, capsys, "logout")[0] == 0
    assert [c[0] for c in agent.calls] == [
        "token.login",
        "token.status",
        "token.refresh",
        "token.logout",
    ]


def test_agent_errors_are_shown(
    home: Paths, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = FakeAgent({"token.refresh": ControlError("the IAM at https://iam/x answered 503")})
    monkeypatch.setattr(CliContext, "agent", lambda self: agent)
    code, _, err = run(monkeypatch, capsys, "refresh")
    assert code == 1 and "answered 503" in err
