"""What lands on disk: facts in the state file, secrets only in the secret store."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.standins.iam import StandinIam
from tests.token.conftest import EMPLOYEE, PASSWORD, make_oauth_iam
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore
from tray_agent.token.lifecycle import TokenManager
from tray_agent.token.store import read_state, status_from_state


@pytest.fixture
def signed_in(standin: StandinIam, home: Paths, secrets: SecretStore) -> TokenManager:
    manager = TokenManager(make_oauth_iam(standin.url), secrets, home.state_file)
    manager.login(EMPLOYEE, PASSWORD, remember=True)
    return manager


def test_state_file_has_expiry_and_employee_but_no_secret(
    signed_in: TokenManager, home: Paths, secrets: SecretStore
) -> None:
    raw = home.state_file.read_text()
    data = json.loads(raw)["token"]
    assert data["employee_id"] == EMPLOYEE
    assert data["expires_at"] == signed_in.status().expires_at
    for secret in (secrets.get("token"), secrets.get("refresh-token"), PASSWORD):
        assert secret and secret not in raw
    if os.name != "nt":
        assert stat.S_IMODE(home.state_file.stat().st_mode) == 0o600


def test_status_needs_only_the_state_file(signed_in: TokenManager, home: Paths) -> None:
    status = status_from_state(read_state(home.state_file), signed_in.clock(), 300)
    assert status.state == "valid" and status.employee_id == EMPLOYEE
    assert status.can_refresh_silently and status.password_remembered


def test_other_sections_of_the_state_file_are_kept(
    standin: StandinIam, home: Paths, secrets: SecretStore
) -> None:
    home.state_file.write_text(json.dumps({"sidecar": {"port": 4000}}))
    TokenManager(make_oauth_iam(standin.url), secrets, home.state_file).login(EMPLOYEE, PASSWORD)
    whole = json.loads(home.state_file.read_text())
    assert whole["sidecar"] == {"port": 4000} and whole["token"]["employee_id"] == EMPLOYEE


def test_no_secret_in_any_file_under_home(
    signed_in: TokenManager, home: Paths, secrets: SecretStore
) -> None:
    signed_in.refresh_now()
    secret_values = [secrets.get("token"), secrets.get("refresh-token"), PASSWORD]
    assert all(secret_values)
    root = home.config_dir.parent
    scanned = 0
    for path in root.rglob("*"):
        if path.is_file():
            scanned += 1
            content = path.read_bytes()
            for value in secret_values:
                assert value is not None and value.encode() not in content, path
    assert scanned >= 1


def test_unreadable_state_file_reads_as_signed_out(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    assert read_state(path).has_token is False
