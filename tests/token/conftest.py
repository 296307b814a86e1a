"""Fixtures for the token tests: a stand-in IAM, a relocated home and the real secret store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.standins.iam import StandinIam
from tray_agent.paths import HOME_ENV, Paths, get_paths
from tray_agent.secrets import SecretStore, open_secret_store
from tray_agent.token.iam import Iam, make_iam

EMPLOYEE = "e1001"
PASSWORD = 'correct horse {employee_id} "battery" \\ staple'


@pytest.fixture
def standin() -> Iterator[StandinIam]:
    with StandinIam(users={EMPLOYEE: PASSWORD}, ttl=60.0) as iam:
        yield iam


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    paths = get_paths()
    paths.ensure()
    return paths


@pytest.fixture
def secrets(home: Paths) -> Iterator[SecretStore]:
    store = open_secret_store(home.keyring_namespace)
    yield store
    for name in ("token", "refresh-token", "iam-password"):
        store.delete(name)


def json_profile(url: str, path: str = "/json/login", **overrides: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "kind": "json",
        "url": url + path,
        "body": {"credentials": {"employee_id": "{employee_id}", "password": "{password}"}},
        "token_path": "data.session.jwt",
        "timeout": 2.0,
    }
    if path == "/json/login-ttl":
        profile["expires_in_path"] = "data.session.ttl"
    else:
        profile["expires_at_path"] = "data.session.valid_until"
    profile.update(overrides)
    return profile


def oauth_profile(url: str, **overrides: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "kind": "oauth2-password",
        "token_url": url + "/oauth/token",
        "client_id": "bridge",
        "client_secret": "os.environ/IAM_CLIENT_SECRET",
        "timeout": 2.0,
    }
    profile.update(overrides)
    return profile


OAUTH_ENV = {"IAM_CLIENT_SECRET": "client-s3cret"}


def make_json_iam(url: str, **kw: Any) -> Iam:
    return make_iam(json_profile(url, **kw), {})


def make_oauth_iam(url: str, **kw: Any) -> Iam:
    return make_iam(oauth_profile(url, **kw), OAUTH_ENV)
