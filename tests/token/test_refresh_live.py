"""The refresher thread against the real stand-in IAM, with lifetimes of seconds.

Tests wait on what the product reports (tokens handed out, status, the stand-in's request
counts), never on time; lifetimes leave seconds to spare on a loaded machine. How fast the
refresher wakes and stops is measured by ``bench/token_refresh.py``.
"""

from __future__ import annotations

import itertools
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.helpers.wait import wait_until
from tests.standins import tokens
from tests.standins.iam import StandinIam
from tests.token.conftest import EMPLOYEE, PASSWORD, make_json_iam, make_oauth_iam
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore
from tray_agent.token.iam import Iam, InvalidCredentialsError
from tray_agent.token.lifecycle import TokenManager
from tray_agent.token.refresher import TokenRefresher
from tray_agent.token.schedule import RefreshPolicy
from tray_agent.token.store import TokenStatus

# Refreshing after 30 % of a lifetime leaves 70 % of it for the renewal and its retries.
FAST = RefreshPolicy(fraction=0.3, backoff_initial=0.2, backoff_max=1.0)
LIFETIME = 5.0  # a renewal every ~1.5 s, each with ~3.5 s to spare
LONG_LIFETIME = 10.0  # room for retries or a timed-out request before the next renewal
DEADLINE = 30.0  # only bounds a hang


def drain(refresher: TokenRefresher) -> None:
    """Return once the refresher has finished what it was doing (a no-op queued behind it)."""
    refresher.submit(lambda: None).result(DEADLINE)


@dataclass
class Listener:
    tokens: list[str | None] = field(default_factory=list)
    arrivals: list[tuple[str | None, float | None, float]] = field(default_factory=list)
    """(token, expires_at, wall-clock time it was handed out)."""
    states: list[TokenStatus] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_token(self, token: str | None, expires_at: float | None) -> None:
        with self.lock:
            self.tokens.append(token)
            self.arrivals.append((token, expires_at, time.time()))

    def on_state(self, status: TokenStatus) -> None:
        with self.lock:
            self.states.append(status)

    def distinct(self) -> int:
        with self.lock:
            return len(set(self.tokens))

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


def asleep(thread: threading.Thread) -> bool:
    """Whether ``thread`` is blocked waiting on a condition (the refresher's idle sleep)."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == "wait" and frame.f_code.co_filename.endswith("threading.py"):
            return True
        frame = frame.f_back
    return False


def test_token_stays_valid_across_several_short_lifetimes(
    standin: StandinIam, run: Callable[..., Any]
) -> None:
    standin.ttl = LIFETIME
    manager, refresher, listener = run(make_oauth_iam(standin.url), notify_before=0.5)
    refresher.login(EMPLOYEE, PASSWORD, False).result(DEADLINE)
    wait_until(lambda: listener.distinct() >= 4, DEADLINE, "three renewals")
    with listener.lock:
        arrivals = list(listener.arrivals)
    for (old, old_expiry, _), (new, _, handed_out) in itertools.pairwise(arrivals):
        assert old is not None and new is not None
        assert tokens.verify(new, now=handed_out) is not None
        # The renewal came while the token it replaces was still good: never a gap.
        assert old_expiry is not None and handed_out < old_expiry
        assert tokens.verify(old, now=handed_out) is not None
    assert standin.password_attempts[EMPLOYEE] == 1  # renewals used the refresh grant
    assert standin.refresh_grants >= 3
    assert manager.status().state in ("valid", "refreshing")


def test_remembered_password_keeps_a_json_session_alive(
    standin: StandinIam, run: Callable[..., Any], secrets: SecretStore
) -> None:
    standin.ttl = LIFETIME
    _, refresher, listener = run(make_json_iam(standin.url), notify_before=0.5)
    refresher.login(EMPLOYEE, PASSWORD, True).result(DEADLINE)
    wait_until(lambda: listener.distinct() >= 3, DEADLINE, "two renewals by password")
    assert standin.password_attempts[EMPLOYEE] >= 3
    assert secrets.get("iam-password") == PASSWORD
    assert standin.failed_password_attempts[EMPLOYEE] == 0


def test_transient_failures_are_retried_then_succeed(
    standin: StandinIam, run: Callable[..., Any]
) -> None:
    standin.ttl = LONG_LIFETIME
    manager, refresher, listener = run(make_oauth_iam(standin.url))
    refresher.login(EMPLOYEE, PASSWORD, False).result(DEADLINE)
    standin.fault(2, status=503, path="/oauth/token")
    standin.fault(1, status=429, retry_after="0.3", path="/oauth/token")
    wait_until(lambda: listener.distinct() >= 2, DEADLINE, "a renewal after the retries")
    assert standin.calls["/oauth/token"] == 1 + 3 + 1
    assert any(s.state == "expiring" and s.last_error for s in listener.states)
    status = manager.status()
    assert status.state == "valid" and status.last_error is None
    assert standin.password_attempts[EMPLOYEE] == 1


def test_slow_iam_times_out_and_is_retried(standin: StandinIam, run: Callable[..., Any]) -> None:
    standin.ttl = LONG_LIFETIME
    iam = make_oauth_iam(standin.url)
    _, refresher, listener = run(iam)
    refresher.login(EMPLOYEE, PASSWORD, False).result(DEADLINE)
    # Well past the profile's 2 s timeout, so only a timeout ends the wait.
    standin.fault(1, delay=3 * iam.timeout, path="/oauth/token")
    wait_until(lambda: listener.distinct() >= 2, DEADLINE, "a renewal after the timeout")
    assert any("did not answer" in (s.last_error or "") for s in listener.states)


def test_wrong_password_is_tried_exactly_once(standin: StandinIam, run: Callable[..., Any]) -> None:
    manager, refresher, _ = run(make_json_iam(standin.url))
    with pytest.raises(InvalidCredentialsError):
        refresher.login(EMPLOYEE, "not-the-password", True).result(DEADLINE)
    drain(refresher)
    status = manager.status()
    assert status.state == "error"
    assert status.next_refresh_at is None  # nothing left that would try again
    assert standin.password_attempts[EMPLOYEE] == 1


def test_refused_remembered_password_stops_after_one_attempt(
    standin: StandinIam, run: Callable[..., Any]
) -> None:
    standin.ttl = LIFETIME
    manager, refresher, listener = run(make_json_iam(standin.url), notify_before=0.5)
    refresher.login(EMPLOYEE, PASSWORD, True).result(DEADLINE)
    standin.users[EMPLOYEE] = "rotated elsewhere"
    wait_until(lambda: manager.status().state == "expired", DEADLINE, "the token to expire")
    drain(refresher)
    assert standin.failed_password_attempts[EMPLOYEE] == 1
    assert standin.password_attempts[EMPLOYEE] == 2
    status = manager.status()
    assert status.state == "expired" and "token login" in (status.last_error or "")
    assert status.next_refresh_at is None  # stopped: no further attempt is scheduled
    assert any(s.state == "error" for s in listener.states)


def test_control_requests_are_answered_from_the_refresher_thread(
    standin: StandinIam, run: Callable[..., Any]
) -> None:
    _, refresher, _ = run(make_oauth_iam(standin.url))
    params = {"employee_id": EMPLOYEE, "password": PASSWORD, "remember": False}
    status = refresher.handle("token.login", params).result(DEADLINE)
    assert status["state"] == "valid" and status["employee_id"] == EMPLOYEE
    assert refresher.handle("token.status", {}).result(DEADLINE)["state"] == "valid"
    assert refresher.handle("token.refresh", {}).result(DEADLINE)["state"] == "valid"
    assert standin.refresh_grants == 1
    assert refresher.handle("token.logout", {}).result(DEADLINE)["state"] == "absent"
    bad = {"employee_id": EMPLOYEE, "password": "nope", "remember": False}
    with pytest.raises(InvalidCredentialsError):
        refresher.handle("token.login", bad).result(DEADLINE)
    with pytest.raises(ValueError, match="unknown"):
        refresher.handle("token.revoke", {}).result(DEADLINE)


def test_refresher_wakes_for_commands_and_stops_promptly(
    standin: StandinIam, home: Paths, secrets: SecretStore
) -> None:
    standin.ttl = 600.0  # the first renewal is minutes away
    manager = TokenManager(make_oauth_iam(standin.url), secrets, home.state_file)
    # With nothing due it would sleep this long: finishing well before proves it was woken.
    refresher = TokenRefresher(manager, max_sleep=120.0)
    refresher.start()
    thread = refresher._thread
    try:
        wait_until(lambda: asleep(thread), DEADLINE, "the refresher to go idle")
        status = refresher.login(EMPLOYEE, PASSWORD, False).result(DEADLINE)
        assert status.state == "valid"
        wait_until(lambda: asleep(thread), DEADLINE, "the refresher to go idle again")
    finally:
        refresher.stop(timeout=20.0)
    assert not thread.is_alive()
    assert refresher.submit(lambda: 1).exception() is not None
