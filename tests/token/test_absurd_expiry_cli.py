"""A broken IAM's absurd expiries through the real CLI: clamped or refused, never stored.

Each case runs ``litellm-bridge token login`` as a child process against the stand-in IAM
answering with one absurd expiry, then checks what was printed, what the state file holds
and that ``token status`` (text and ``--json``) works and prints strict JSON.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
import yaml

from tests.agentproc import cli, env_for, token_login
from tests.standins.iam import StandinIam
from tests.token.conftest import EMPLOYEE, OAUTH_ENV, oauth_profile
from tests.token.jsoncheck import root_of, strict_loads
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore
from tray_agent.token.iam import MAX_LIFETIME

pytestmark = pytest.mark.timeout(300)

IAM_PASSWORD = "correct horse"


def configure(home: Paths, iam: dict[str, Any]) -> None:
    config = {
        "model_list": [
            {
                "model_name": "internal",
                "litellm_params": {"model": "hosted_vllm/internal", "api_base": "http://x/v1"},
            }
        ],
        "bridge": {"iam": iam, "notify_before": 10},
    }
    home.config_file.write_text(yaml.safe_dump(config))


def json_iam(url: str, path: str) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "kind": "json",
        "url": url + path,
        "token_path": "data.session.jwt",
        "timeout": 5.0,
    }
    if path == "/json/login-ttl":
        profile["expires_in_path"] = "data.session.ttl"
    else:
        profile["expires_at_path"] = "data.session.valid_until"
    return profile


def configure_for(home: Paths, iam: StandinIam, endpoint: str) -> None:
    if endpoint == "/oauth/token":
        configure(home, oauth_profile(iam.url, timeout=5.0))
    else:
        configure(home, json_iam(iam.url, endpoint))


def login_env(home: Paths) -> dict[str, str]:
    return env_for(root_of(home), **OAUTH_ENV)


def assert_state_is_valid(home: Paths) -> dict[str, Any]:
    """The state file, if any, is strict JSON with a finite, bounded expiry."""
    if not home.state_file.exists():
        return {}
    section = strict_loads(home.state_file.read_text())["token"]
    for key in ("expires_at", "next_refresh_at"):
        value = section.get(key)
        assert value is None or (
            isinstance(value, int | float)
            and math.isfinite(value)
            and 0 < value <= time.time() + MAX_LIFETIME + 60
        ), (key, value)
    return section


def assert_status_works(home: Paths) -> dict[str, Any]:
    root = root_of(home)
    text = cli(root, "token", "status")
    assert text.returncode in (0, 1), text.stderr
    assert "Traceback" not in text.stderr and text.stdout.startswith("token: ")
    as_json = cli(root, "token", "status", "--json")
    assert as_json.returncode in (0, 1), as_json.stderr
    status = strict_loads(as_json.stdout)
    assert isinstance(status, dict) and "Traceback" not in as_json.stderr
    return status


@pytest.fixture
def iam() -> Any:
    with StandinIam(users={EMPLOYEE: IAM_PASSWORD}, ttl=600.0) as server:
        yield server


# (endpoint, raw JSON text the IAM sends as the expiry, the field named in the message)
REFUSED = [
    ("/json/login-ttl", "1e400", "data.session.ttl"),  # Python's json reads it as inf
    ("/json/login-ttl", "-5", "data.session.ttl"),
    ("/json/login-ttl", "0", "data.session.ttl"),
    ("/json/login-ttl", "NaN", "data.session.ttl"),
    ("/json/login-ttl", "Infinity", "data.session.ttl"),
    ("/json/login-ttl", "true", "data.session.ttl"),
    ("/json/login-ttl", '"soon"', "data.session.ttl"),
    ("/json/login-ttl", "1" + "0" * 400, "data.session.ttl"),  # an integer beyond any float
    ("/json/login", "1e400", "data.session.valid_until"),
    ("/json/login", "-1700000000", "data.session.valid_until"),
    ("/json/login", "NaN", "data.session.valid_until"),
    ("/json/login", "false", "data.session.valid_until"),
    ("/json/login", '"next tuesday"', "data.session.valid_until"),
    ("/json/login", "1e25", "data.session.valid_until"),  # too large for any epoch unit
    ("/oauth/token", "1e400", "expires_in"),
    ("/oauth/token", "-3600", "expires_in"),
    ("/oauth/token", "NaN", "expires_in"),
]


@pytest.mark.parametrize(("endpoint", "raw", "field"), REFUSED)
def test_absurd_expiry_is_refused_naming_field_and_url(
    home: Paths,
    iam: StandinIam,
    secrets: SecretStore,
    endpoint: str,
    raw: str,
    field: str,
) -> None:
    configure_for(home, iam, endpoint)
    iam.fault(1, expiry=raw)
    result = token_login(root_of(home), login_env(home), IAM_PASSWORD + "\n")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert field in result.stderr and iam.url + endpoint in result.stderr
    assert "nothing was saved" in result.stderr
    assert secrets.get("token") is None
    section = assert_state_is_valid(home)
    assert not section.get("has_token")
    status = assert_status_works(home)
    assert status["state"] in ("absent", "error") and status["expires_at"] is None


# (endpoint, raw expiry, expected lifetime in seconds after conversion or clamping, clamped).
# A raw expiry (seconds ahead, unit scale) is an absolute epoch time made when the test runs:
# parameters must be the same on every xdist worker, so nothing here reads the clock.
Raw = str | tuple[int, float]
ACCEPTED: list[tuple[str, Raw, float, bool]] = [
    ("/json/login-ttl", "1e12", MAX_LIFETIME, True),
    ("/json/login-ttl", str(365 * 86400), MAX_LIFETIME, True),
    ("/oauth/token", "1e12", MAX_LIFETIME, True),
    ("/json/login", (3600, 1e3), 3600.0, False),  # epoch milliseconds
    ("/json/login", (3600, 1e6), 3600.0, False),  # epoch microseconds
    ("/json/login", (3600, 1e9), 3600.0, False),  # epoch nanoseconds
    ("/json/login", (5 * 365 * 86400, 1e3), MAX_LIFETIME, True),
    ("/json/login", '"9999-12-31T23:59:59Z"', MAX_LIFETIME, True),
]


def _raw_expiry(raw: Raw) -> str:
    if isinstance(raw, str):
        return raw
    ahead, scale = raw
    return str(int((time.time() + ahead) * scale))


@pytest.mark.parametrize(("endpoint", "raw", "lifetime", "clamped"), ACCEPTED)
def test_long_or_unit_shifted_expiry_is_converted_or_clamped(
    home: Paths,
    iam: StandinIam,
    secrets: SecretStore,
    endpoint: str,
    raw: Raw,
    lifetime: float,
    clamped: bool,
) -> None:
    configure_for(home, iam, endpoint)
    iam.fault(1, expiry=_raw_expiry(raw))
    started = time.time()
    result = token_login(root_of(home), login_env(home), IAM_PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "signed in as" in result.stdout
    if clamped:
        assert "at most 30 days" in result.stderr and iam.url in result.stderr
    section = assert_state_is_valid(home)
    assert section["has_token"] is True
    assert abs(section["expires_at"] - (started + lifetime)) < 120
    status = assert_status_works(home)
    assert status["state"] == "valid" and status["expires_at"] == section["expires_at"]
    assert (status["expiry_note"] is not None) == clamped
    text = cli(root_of(home), "token", "status").stdout
    assert ("note: " in text) == clamped
