"""Every IAM dialect passes the same contract; dialect specifics follow."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.standins import tokens
from tests.standins.iam import StandinIam
from tests.token.conftest import (
    EMPLOYEE,
    OAUTH_ENV,
    PASSWORD,
    json_profile,
    make_json_iam,
    make_oauth_iam,
    oauth_profile,
)
from tray_agent.token.iam import (
    CannotRefreshSilently,
    Iam,
    IamConfigError,
    IamResponseError,
    InvalidCredentialsError,
    JsonIam,
    OAuth2PasswordIam,
    PermanentIamError,
    TransientIamError,
    make_iam,
    substitute,
)


class IamContract:
    """Behaviour every dialect must show against the stand-in IAM."""

    login_path: str

    def make(self, standin: StandinIam) -> Iam:
        raise NotImplementedError

    def test_sign_in_returns_a_token_the_api_accepts(self, standin: StandinIam) -> None:
        before = time.time()
        grant = self.make(standin).login(EMPLOYEE, PASSWORD)
        after = time.time()
        claims = tokens.verify(grant.token)
        assert claims is not None and claims["sub"] == EMPLOYEE
        assert grant.employee_id == EMPLOYEE
        # A relative lifetime is counted from the answer: off by at most the call's duration
        # (plus whole-second rounding), however slow the machine.
        assert abs(grant.expires_at - claims["exp"]) <= (after - before) + 1.0

    def test_wrong_password_is_a_permanent_error_without_secrets(self, standin: StandinIam) -> None:
        with pytest.raises(InvalidCredentialsError) as err:
            self.make(standin).login(EMPLOYEE, "wrong-password")
        message = str(err.value)
        assert standin.url in message and "token login" in message
        assert "wrong-password" not in message
        assert standin.failed_password_attempts[EMPLOYEE] == 1

    def test_server_errors_are_transient(self, standin: StandinIam) -> None:
        standin.fault(1, status=503)
        with pytest.raises(TransientIamError) as err:
            self.make(standin).login(EMPLOYEE, PASSWORD)
        assert "503" in str(err.value) and standin.url in str(err.value)
        assert PASSWORD not in str(err.value)

    def test_rate_limit_carries_retry_after(self, standin: StandinIam) -> None:
        standin.fault(1, status=429, retry_after="7")
        with pytest.raises(TransientIamError) as err:
            self.make(standin).login(EMPLOYEE, PASSWORD)
        assert err.value.retry_after == 7

    def test_slow_answer_times_out_as_transient(self, standin: StandinIam) -> None:
        iam = self.make(standin)
        standin.fault(1, delay=10 * iam.timeout)
        started = time.monotonic()
        with pytest.raises(TransientIamError) as err:
            iam.login(EMPLOYEE, PASSWORD)
        # Generous: proves the deadline cut the wait, far short of the answer's arrival.
        assert time.monotonic() - started < 4 * iam.timeout
        assert f"did not answer within {iam.timeout:g} s" in str(err.value)

    def test_connection_refused_is_transient(self, standin: StandinIam) -> None:
        iam = self.make(standin)
        standin.stop()
        with pytest.raises(TransientIamError, match="cannot reach the IAM"):
            iam.login(EMPLOYEE, PASSWORD)

    def test_malformed_json_is_a_response_error(self, standin: StandinIam) -> None:
        standin.fault(1, status=200, body=b"<html>sign in</html>")
        with pytest.raises(IamResponseError, match="not JSON"):
            self.make(standin).login(EMPLOYEE, PASSWORD)

    @pytest.mark.parametrize("status", [401, 403])
    def test_refusals_are_permanent(self, standin: StandinIam, status: int) -> None:
        standin.fault(1, status=status)
        with pytest.raises(PermanentIamError, match=str(status)):
            self.make(standin).login(EMPLOYEE, PASSWORD)

    def test_other_client_errors_are_permanent(self, standin: StandinIam) -> None:
        standin.fault(1, status=404)
        with pytest.raises(PermanentIamError) as err:
            self.make(standin).login(EMPLOYEE, PASSWORD)
        assert not isinstance(err.value, InvalidCredentialsError)
        assert "bridge.iam" in str(err.value)


class TestJsonDialect(IamContract):
    def make(self, standin: StandinIam) -> Iam:
        return make_json_iam(standin.url)

    @pytest.mark.parametrize("path", ["/json/login", "/json/login-iso", "/json/login-ttl"])
    def test_expiry_in_every_shape(self, standin: StandinIam, path: str) -> None:
        before = time.time()
        grant = make_json_iam(standin.url, path=path).login(EMPLOYEE, PASSWORD)
        after = time.time()
        # Within the call's window, give or take whole-second rounding of the IAM's answer.
        assert before + standin.ttl - 1.0 <= grant.expires_at <= after + standin.ttl + 1.0

    def test_password_is_inserted_as_data_not_template(self, standin: StandinIam) -> None:
        # The password contains "{employee_id}", quotes and a backslash.
        make_json_iam(standin.url).login(EMPLOYEE, PASSWORD)
        assert standin.last_json_body["credentials"] == {
            "employee_id": EMPLOYEE,
            "password": PASSWORD,
        }

    def test_missing_path_names_the_path(self, standin: StandinIam) -> None:
        iam = make_json_iam(standin.url, token_path="data.session.access_token")
        with pytest.raises(IamResponseError) as err:
            iam.login(EMPLOYEE, PASSWORD)
        message = str(err.value)
        assert "data.session.access_token" in message and "token_path" in message
        assert "keys there: jwt, valid_until" in message

    def test_cannot_refresh_silently(self, standin: StandinIam) -> None:
        iam = make_json_iam(standin.url)
        grant = iam.login(EMPLOYEE, PASSWORD)
        assert isinstance(iam, JsonIam) and not iam.can_refresh(grant)
        with pytest.raises(CannotRefreshSilently, match="--remember"):
            iam.refresh(grant)

    def test_already_expired_token_is_refused(self, standin: StandinIam) -> None:
        standin.ttl = -30
        with pytest.raises(IamResponseError, match="system clock"):
            make_json_iam(standin.url).login(EMPLOYEE, PASSWORD)

    def test_headers_resolve_env_references(self, standin: StandinIam) -> None:
        profile = json_profile(standin.url, headers={"X-Api-Key": "os.environ/IAM_KEY"})
        iam = make_iam(profile, {"IAM_KEY": "k"})
        assert isinstance(iam, JsonIam) and iam.headers == {"X-Api-Key": "k"}


class TestOAuth2Dialect(IamContract):
    def make(self, standin: StandinIam) -> Iam:
        return make_oauth_iam(standin.url)

    def test_refresh_grant_renews_without_the_password(self, standin: StandinIam) -> None:
        iam = make_oauth_iam(standin.url)
        first = iam.login(EMPLOYEE, PASSWORD)
        assert first.refresh_token and iam.can_refresh(first)
        second = iam.refresh(first)
        assert tokens.verify(second.token) and second.token != first.token
        assert second.refresh_token and second.refresh_token != first.refresh_token
        assert standin.password_attempts[EMPLOYEE] == 1 and standin.refresh_grants == 1

    def test_refused_refresh_token_asks_to_sign_in(self, standin: StandinIam) -> None:
        iam = make_oauth_iam(standin.url)
        grant = iam.login(EMPLOYEE, PASSWORD)
        standin.revoke_refresh_tokens()
        with pytest.raises(InvalidCredentialsError, match=r"refresh token.*token login"):
            iam.refresh(grant)

    def test_client_secret_post(self, standin: StandinIam) -> None:
        iam = make_oauth_iam(standin.url, client_auth="post")
        assert iam.login(EMPLOYEE, PASSWORD).token

    def test_wrong_client_secret_names_the_client_settings(self, standin: StandinIam) -> None:
        iam = make_iam(oauth_profile(standin.url), {"IAM_CLIENT_SECRET": "nope"})
        with pytest.raises(PermanentIamError, match="client_id") as err:
            iam.login(EMPLOYEE, PASSWORD)
        assert not isinstance(err.value, InvalidCredentialsError)
        assert "nope" not in str(err.value)

    def test_missing_env_entry_is_a_config_error(self, standin: StandinIam) -> None:
        with pytest.raises(IamConfigError, match="IAM_CLIENT_SECRET"):
            make_iam(oauth_profile(standin.url), {})

    def test_without_refresh_tokens_it_cannot_refresh(self, standin: StandinIam) -> None:
        standin.issue_refresh_tokens = False
        iam = make_iam(oauth_profile(standin.url), OAUTH_ENV)
        grant = iam.login(EMPLOYEE, PASSWORD)
        assert isinstance(iam, OAuth2PasswordIam) and not iam.can_refresh(grant)
        with pytest.raises(CannotRefreshSilently):
            iam.refresh(grant)


def test_grant_repr_hides_secrets(standin: StandinIam) -> None:
    grant = make_oauth_iam(standin.url).login(EMPLOYEE, PASSWORD)
    assert grant.token not in repr(grant)
    assert grant.refresh_token and grant.refresh_token not in repr(grant)


@settings(max_examples=60, deadline=None)
@given(
    employee_id=st.text(min_size=1, max_size=20),
    password=st.text(min_size=1, max_size=40),
)
def test_any_credentials_survive_the_body_template(employee_id: str, password: str) -> None:
    template = {
        "credentials": {"employee_id": "{employee_id}", "password": "{password}"},
        "note": "user {employee_id} signs in",
        "list": ["{password}", 1, None],
    }
    body = substitute(template, {"employee_id": employee_id, "password": password})
    assert json.loads(json.dumps(body)) == {
        "credentials": {"employee_id": employee_id, "password": password},
        "note": f"user {employee_id} signs in",
        "list": [password, 1, None],
    }
