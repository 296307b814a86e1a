"""A token that is not one line of printable ASCII is refused when it arrives, never saved.

The stand-in IAM answers a normal sign-in with a mangled token (line break, NUL, an ANSI
escape, 900 KB, ...). ``litellm-bridge token login`` runs as a child process: it must fail
naming the field and the IAM URL, leave the keyring empty and ``token status`` absent, and
never print the token. Refresh goes through the same check.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.agentproc import cli, env_for, token_login
from tests.standins.iam import StandinIam
from tests.token.conftest import EMPLOYEE, OAUTH_ENV, json_profile, make_oauth_iam, oauth_profile
from tests.token.jsoncheck import root_of, strict_loads
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore
from tray_agent.token.iam import IamResponseError

pytestmark = pytest.mark.timeout(300)

IAM_PASSWORD = "correct horse"
MARK = "SECRETPART"  # in every bad token: it must never be printed

BAD_TOKENS: dict[str, tuple[Any, str]] = {
    "newline": (f"eyJhbGciOi.{MARK}\nX-Injected: 1", "more than one line"),
    "carriage-return": (f"{MARK}\r", "more than one line"),
    "nul": (f"abc\x00{MARK}", "control characters"),
    "ansi": (f"\x1b[2J\x1b[31m{MARK}", "control characters"),
    "space": (f"Bearer {MARK}", "outside printable ASCII"),
    "non-ascii": (f"tök{MARK}", "outside printable ASCII"),
    "900KB": (MARK + "A" * 900_000, "900,010 characters long"),
    "number": (12345, "not a string (int)"),
    "empty": ("", "empty"),
}


def configure(home: Paths, iam: dict[str, Any]) -> None:
    config = {
        "model_list": [
            {
                "model_name": "internal",
                "litellm_params": {"model": "hosted_vllm/internal", "api_base": "http://x/v1"},
            }
        ],
        "bridge": {"iam": iam},
    }
    home.config_file.write_text(yaml.safe_dump(config))


@pytest.fixture
def iam() -> Any:
    with StandinIam(users={EMPLOYEE: IAM_PASSWORD}, ttl=600.0) as server:
        yield server


def assert_refused_and_nothing_saved(
    home: Paths, secrets: SecretStore, iam: StandinIam, endpoint: str, field: str, why: str
) -> None:
    root = root_of(home)
    result = token_login(root, env_for(root, **OAUTH_ENV), IAM_PASSWORD + "\n")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output and "signed in" not in output
    assert field in result.stderr and why in result.stderr, result.stderr
    assert iam.url + endpoint in result.stderr and "nothing was saved" in result.stderr
    assert MARK not in output and "\x1b" not in output and "\x00" not in output
    assert secrets.get("token") is None and secrets.get("refresh-token") is None
    status = cli(root, "token", "status", "--json")
    assert "Traceback" not in status.stderr
    shown = strict_loads(status.stdout)
    # No token: "absent", or "error" carrying the refusal (as for any refused answer).
    assert shown["state"] in ("absent", "error") and shown["expires_at"] is None, shown
    assert MARK not in status.stdout + status.stderr


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_json_dialect_refuses_a_mangled_token_at_sign_in(
    home: Paths, iam: StandinIam, secrets: SecretStore, case: str
) -> None:
    configure(home, json_profile(iam.url, timeout=5.0))
    token, why = BAD_TOKENS[case]
    iam.fault(1, token=token)
    field = "token_path 'data.session.jwt'"
    assert_refused_and_nothing_saved(home, secrets, iam, "/json/login", field, why)


@pytest.mark.parametrize("case", ["newline", "nul", "ansi", "900KB"])
def test_oauth_dialect_refuses_a_mangled_access_token_at_sign_in(
    home: Paths, iam: StandinIam, secrets: SecretStore, case: str
) -> None:
    configure(home, oauth_profile(iam.url, timeout=5.0))
    token, why = BAD_TOKENS[case]
    iam.fault(1, token=token)
    assert_refused_and_nothing_saved(home, secrets, iam, "/oauth/token", "access_token", why)


@pytest.mark.parametrize("case", ["newline", "ansi", "900KB"])
def test_oauth_dialect_refuses_a_mangled_refresh_token_at_sign_in(
    home: Paths, iam: StandinIam, secrets: SecretStore, case: str
) -> None:
    configure(home, oauth_profile(iam.url, timeout=5.0))
    token, why = BAD_TOKENS[case]
    iam.fault(1, refresh_token=token)
    assert_refused_and_nothing_saved(home, secrets, iam, "/oauth/token", "refresh_token", why)


@pytest.mark.parametrize("which", ["token", "refresh_token"])
def test_refresh_refuses_a_mangled_token_before_anyone_uses_it(iam: StandinIam, which: str) -> None:
    dialect = make_oauth_iam(iam.url)
    grant = dialect.login(EMPLOYEE, IAM_PASSWORD)
    iam.fault(1, **{which: f"ok\n{MARK}"})
    with pytest.raises(IamResponseError) as err:
        dialect.refresh(grant)
    message = str(err.value)
    field = "access_token" if which == "token" else "refresh_token"
    assert field in message and iam.url + "/oauth/token" in message
    assert MARK not in message and "nothing was saved" in message


def test_a_token_of_exactly_64_kib_of_printable_ascii_is_accepted(
    home: Paths, iam: StandinIam, secrets: SecretStore
) -> None:
    configure(home, json_profile(iam.url, timeout=5.0))
    token = "".join(chr(33 + i % 94) for i in range(65536))
    iam.fault(1, token=token)
    root = root_of(home)
    result = token_login(root, env_for(root), IAM_PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert secrets.get("token") == token
