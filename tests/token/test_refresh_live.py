"""The refresher thread against the real stand-in IAM, with lifetimes of seconds."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.standins import tokens
from tests.standins.iam import StandinIam
from tests.token.conftest import EMPLOYEE, PASSWORD, make_json_iam, make_oauth_iam
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore
from tray_agent.token.iam import Iam, InvalidCredentialsError
from tray_agent.token.manager import TokenManager, TokenRefresher
from tray_agent.token.schedule import RefreshPolicy
from tray_agent.token.store import TokenStatus

FAST = RefreshPolicy(backoff_initial=0.2, backoff_max=1.0)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


@dataclass
class Listener:
    tokens: list[str | None] = field(default_factory=list)
    states: list[TokenStatus] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_token(self, token: str | None, expires_at: float | None) -> None:
        with self.lock:
            self.tokens.append(token)

    def on_state(self, status: TokenStatus) -> None:
        with self.lock:
            self.states.append(status)

    @property
    def current(self) -> str | None:
        with self.lock:
            return self.tokens[-1] if self.tokens else None


@pytest.fixture
def run(home: Paths, secrets: SecretStore) -> Iterator[Callable[..., Any]]:
    started: list[TokenRefresher] = []

    def start(iam: Iam, **kw: Any) -> tuple[TokenManager, TokenRefresher, Listener]:
        listener = Listener()
        manager = TokenManager(
            iam,
            secrets,
            home.state_file,
            rng=random.Random(11),
            on_token=listener.on_token,
            on_state=listener.on_state,
            policy=kw.pop("policy", FAST),
            **kw,
        )
        refresher = TokenRefresher(manager)
        refresher.start()
        started.append(refresher)
        return manager, refresher, listener

    yield start
    for refresher in started:
        refresher.stop()


def test_token_stays_valid_across_several_short_lifetimes(
    standin: StandinIam, run: Callable[..., Any]
) -> None:
    standin.ttl = 2.5
    manager, refresher, listener = run(make_oauth_iam(standin.url), notify_before=0.5)
    refresher.login(EMPLOYEE, PASSWORD, False).result(5)
    deadline = time.monotonic() + 7.0
    while time.monotonic() < deadline:
        token = listener.current
        assert token is not None and tokens.verify(token) is not None
        time.sleep(0.05)
    assert len(set(listener.tokens)) >= 4
    assert standin.password_attempts[EMPLOYEE] == 1  # renewals used the refresh grant
    assert standin.refresh_grants >= 3
    assert manager.status().state in ("valid", "refreshing")


def test_remembered_password_keeps_a_json_session_alive(
    standin: StandinIam, run: Callable[..., Any], secrets: SecretStore
) -> None:
    standin.ttl = 1.5
    _, refresher, listener = run(make_json_iam(standin.url), notify_before=0.5)
    refresher.login(EMPLOYEE, PASSWORD, True).result(5)
    wait_for(lambda: len(set(listener.tokens)) >= 3, timeout=6)
    assert secrets.get("iam-password") == PASSWORD
    assert standin.failed_password_attempts[EMPLOYEE] == 0


def test_transient_failures_are_retried_then_succeed(
    standin: StandinIam, run: Callable[..., Any]
) -> None:
    standin.ttl = 3.0
    manager, refresher, listener = run(make_oauth_iam(standin.url))
    refresher.login(EMPLOYEE, PASSWORD, False).result(5)
    standin.fault(2, status=503, path="/oauth/token")
    standin.fault(1, status=429, retry_after="0.3", path="/oauth/token")
    wait_for(lambda: len(set(listener.tokens)) >= 2, timeout=10)
    assert standin.calls["/oauth/token"] == 1 + 3 + 1
    assert any(s.state == "expiring" and s.last_error for s in listener.states)
    status = manager.status()
    assert status.state == "valid" and status.last_error is None
    assert standin.password_attempts[EMPLOYEE] == 1


def test_slow_iam_times_out_and_is_retried(standin: StandinIam, run: Callable[..., Any]) -> None:
    standin.ttl = 2.0
    iam = make_oauth_iam(standin.url)
    iam.timeout = 0.3
    _, refresher, listener = run(iam)
    refresher.login(EMPLOYEE, PASSWORD, False).result(5)
    standin.fault(1, delay=1.0, path="/oauth/token")
    wait_for(lambda: len(set(listener.tokens)) >= 2, timeout=8)
    assert any("did not answer" in (s.last_error or "") for s in listener.states)


def test_wrong_password_is_tried_exactly_once(standin: StandinIam, run: Callable[..., Any]) -> None:
    manager, refresher, _ = run(make_json_iam(standin.url))
    with pytest.raises(InvalidCredentialsError):
        refresher.login(EMPLOYEE, "not-the-password", True).result(5)
    time.sleep(1.5)
    assert standin.password_attempts[EMPLOYEE] == 1
    assert manager.status().state == "error"


def test_refused_remembered_password_stops_after_one_attempt(
    standin: StandinIam, run: Callable[..., Any]
) -> None:
    standin.ttl = 1.5
    manager, refresher, listener = run(make_json_iam(standin.url), notify_before=0.5)
    refresher.login(EMPLOYEE, PASSWORD, True).result(5)
    standin.users[EMPLOYEE] = "rotated elsewhere"
    wait_for(lambda: manager.status().state in ("error", "expired"), timeout=5)
    time.sleep(2.0)
    assert standin.failed_password_attempts[EMPLOYEE] == 1
    assert standin.password_attempts[EMPLOYEE] == 2
    status = manager.status()
    assert status.state == "expired" and "token login" in (status.last_error or "")
    assert any(s.state == "error" for s in listener.states)


def test_control_requests_are_answered_from_the_refresher_thread(
    standin: StandinIam, run: Callable[..., Any]
) -> None:
    _, refresher, _ = run(make_oauth_iam(standin.url))
    params = {"employee_id": EMPLOYEE, "password": PASSWORD, "remember": False}
    status = refresher.handle("token.login", params).result(5)
    assert status["state"] == "valid" and status["employee_id"] == EMPLOYEE
    assert refresher.handle("token.status", {}).result(1)["state"] == "valid"
    assert refresher.handle("token.refresh", {}).result(5)["state"] == "valid"
    assert standin.refresh_grants == 1
    assert refresher.handle("token.logout", {}).result(5)["state"] == "absent"
    bad = {"employee_id": EMPLOYEE, "password": "nope", "remember": False}
    with pytest.raises(InvalidCredentialsError):
        refresher.handle("token.login", bad).result(5)
    with pytest.raises(ValueError, match="unknown"):
        refresher.handle("token.revoke", {}).result(1)


def test_refresher_wakes_for_commands_and_stops_promptly(
    standin: StandinIam, home: Paths, secrets: SecretStore
) -> None:
    manager = TokenManager(make_oauth_iam(standin.url), secrets, home.state_file)
    refresher = TokenRefresher(manager, max_sleep=60.0)
    refresher.start()
    try:
        time.sleep(0.2)  # now asleep with nothing due
        started = time.monotonic()
        refresher.login(EMPLOYEE, PASSWORD, False).result(5)
        assert time.monotonic() - started < 2.0
    finally:
        started = time.monotonic()
        refresher.stop()
        assert time.monotonic() - started < 2.0
    assert refresher.submit(lambda: 1).exception() is not None
