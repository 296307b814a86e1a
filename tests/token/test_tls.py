"""TLS stays on: a company CA works through ca_bundle, an unknown CA fails clearly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standins.iam import StandinIam, make_test_ca
from tests.token.conftest import EMPLOYEE, PASSWORD, json_profile
from tray_agent.token.iam import IamConfigError, PermanentIamError, make_iam


@pytest.fixture
def https_iam(tmp_path: Path) -> Iterator[StandinIam]:
    tls = make_test_ca(tmp_path / "ca")
    with StandinIam(users={EMPLOYEE: PASSWORD}, tls=tls) as iam:
        yield iam


def test_ca_bundle_makes_the_company_ca_trusted(https_iam: StandinIam) -> None:
    assert https_iam.url.startswith("https://") and https_iam.tls
    profile = json_profile(https_iam.url, ca_bundle=str(https_iam.tls.ca_pem))
    assert make_iam(profile, {}).login(EMPLOYEE, PASSWORD).token


def test_untrusted_ca_fails_with_a_hint(https_iam: StandinIam) -> None:
    with pytest.raises(PermanentIamError) as err:
        make_iam(json_profile(https_iam.url), {}).login(EMPLOYEE, PASSWORD)
    message = str(err.value)
    assert "not trusted" in message and "ca_bundle" in message and https_iam.url in message


def test_missing_ca_bundle_file_is_a_config_error(https_iam: StandinIam, tmp_path: Path) -> None:
    profile = json_profile(https_iam.url, ca_bundle=str(tmp_path / "missing.pem"))
    with pytest.raises(IamConfigError, match="ca_bundle"):
        make_iam(profile, {}).login(EMPLOYEE, PASSWORD)


def test_relative_ca_bundle_is_found_next_to_the_config(https_iam: StandinIam) -> None:
    assert https_iam.tls
    folder = https_iam.tls.ca_pem.parent
    profile = json_profile(https_iam.url, ca_bundle="ca.pem")
    assert make_iam(profile, {}, base_dir=folder).login(EMPLOYEE, PASSWORD).token
