"""``os.environ/NAME`` in ``bridge.iam`` means the same with and without a running agent.

Both ``token login`` paths build the IAM client with ``iam_from_config`` against the
environment the sidecar sees: the process environment, then the enabled env entries, which
win. The stand-in IAM refuses a wrong client secret (``invalid_client``), so a sign-in that
succeeds shows which value was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import AgentProc, cli, env_for, token_login, write_config
from tests.conftest import free_port
from tests.standins.iam import StandinIam
from tray_agent.token.iam import OAuth2PasswordIam, iam_from_config, sidecar_environ

pytestmark = pytest.mark.timeout(400)

PASSWORD = "correct horse"
CLIENT_SECRET = "client-s3cret"  # what the stand-in expects for client "bridge"


@pytest.fixture
def iam() -> Iterator[StandinIam]:
    with StandinIam(ttl=600.0) as server:
        yield server


def oauth_section(iam: StandinIam) -> dict[str, str]:
    return {
        "kind": "oauth2-password",
        "token_url": iam.url + "/oauth/token",
        "client_id": "bridge",
        "client_secret": "os.environ/CORP_IAM_SECRET",
    }


def test_the_env_entry_wins_over_the_process_environment_with_and_without_an_agent(
    tmp_path: Path, iam: StandinIam
) -> None:
    home = tmp_path / "home"
    write_config(home, free_port(), bridge={"iam": oauth_section(iam)})
    # The shell (and so the agent started from it) has a stale value; the entry is right.
    env = env_for(home, CORP_IAM_SECRET="stale-secret-from-the-shell")
    r = cli(home, "env", "set", "CORP_IAM_SECRET", CLIENT_SECRET, "--secret", env=env)
    assert r.returncode == 0, r.stderr

    direct = token_login(home, env, PASSWORD + "\n")
    assert direct.returncode == 0, direct.stderr
    assert "signed in as e1001" in direct.stdout
    assert cli(home, "token", "logout", env=env).returncode == 0

    agent = AgentProc(home, env=env)
    try:
        agent.wait_running()
        through_agent = token_login(home, env, PASSWORD + "\n")
        assert through_agent.returncode == 0, through_agent.stderr + agent.output()
        status = cli(home, "token", "status", "--json", env=env)
        assert '"source":"agent"' in status.stdout.replace(" ", "")
        assert '"state":"valid"' in status.stdout.replace(" ", "")
    finally:
        agent.stop()
    # Both sign-ins reached the token endpoint with the entry's secret: none was refused.
    assert iam.calls["/oauth/token"] == 2


def test_a_name_only_in_the_process_environment_resolves_too(
    tmp_path: Path, iam: StandinIam
) -> None:
    section = oauth_section(iam)
    client = iam_from_config(section, {}, tmp_path, process_env={"CORP_IAM_SECRET": CLIENT_SECRET})
    assert isinstance(client, OAuth2PasswordIam) and client.client_secret == CLIENT_SECRET
    grant = client.login("e1001", PASSWORD)
    assert grant.employee_id == "e1001"
    entries_win = sidecar_environ({"CORP_IAM_SECRET": "entry"}, {"CORP_IAM_SECRET": "shell"})
    assert entries_win["CORP_IAM_SECRET"] == "entry"
