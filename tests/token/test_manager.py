"""TokenManager driven by a fake clock and a scripted IAM: no threads, no sleeps."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tray_agent.paths import Paths
from tray_agent.secrets import MemoryStore, SecretStore
from tray_agent.token.iam import (
    CannotRefreshSilently,
    Grant,
    Iam,
    IamConfigError,
    InvalidCredentialsError,
    PermanentIamError,
    TransientIamError,
)
from tray_agent.token.lifecycle import TokenManager
from tray_agent.token.store import TokenStatus

LIFETIME = 3600.0


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeIam(Iam):
    """Answers from a script; an exception in the script is raised instead of a grant."""

    clock_: FakeClock
    refreshable: bool = True
    password: str = "pw"
    script: list[Exception] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refreshes: int = 0
    serial: int = 0

    def __post_init__(self) -> None:
        super().__init__(timeout=1.0, ca_bundle=None, clock=self.clock_)

    @property
    def endpoint(self) -> str:
        return "https://iam.test/login"

    def _grant(self, employee_id: str) -> Grant:
        self.serial += 1
        refresh = f"r{self.serial}" if self.refreshable else None
        return Grant(f"t{self.serial}", self.clock_() + LIFETIME, refresh, employee_id)

    def login(self, employee_id: str, password: str) -> Grant:
        self.logins.append(password)
        if self.script:
            raise self.script.pop(0)
        if password != self.password:
            raise InvalidCredentialsError("refused", self.endpoint)
        return self._grant(employee_id)

    def can_refresh(self, grant: Grant) -> bool:
        return self.refreshable and bool(grant.refresh_token)

    def refresh(self, grant: Grant) -> Grant:
        if not self.can_refresh(grant):
            return super().refresh(grant)
        self.refreshes += 1
        if self.script:
            raise self.script.pop(0)
        return self._grant(grant.employee_id)


@dataclass
class Harness:
    clock: FakeClock
    iam: FakeIam
    manager: TokenManager
    secrets: SecretStore
    tokens: list[str | None]
    states: list[TokenStatus]

    def advance_to_due(self) -> float | None:
        due = self.manager.status().next_refresh_at
        assert due is not None
        self.clock.now = due
        return self.manager.run_due(self.clock.now)


def make_harness(state_path: Path, refreshable: bool = True, secrets: SecretStore | None = None):
    clock = FakeClock()
    iam = FakeIam(clock, refreshable=refreshable)
    tokens: list[str | None] = []
    states: list[TokenStatus] = []
    store = secrets or MemoryStore()
    manager = TokenManager(
        iam,
        store,
        state_path,
        clock=clock,
        rng=random.Random(7),
        on_token=lambda t, e: tokens.append(t),
        on_state=states.append,
    )
    return Harness(clock, iam, manager, store, tokens, states)


@pytest.fixture
def h(home: Paths) -> Harness:
    return make_harness(home.state_file)


def test_login_announces_token_and_schedules_refresh(h: Harness) -> None:
    status = h.manager.login("e1", "pw", remember=False)
    assert status.state == "valid" and status.can_refresh_silently
    assert h.tokens == ["t1"]
    assert status.next_refresh_at is not None
    assert h.clock.now + LIFETIME * 0.6 <= status.next_refresh_at <= h.clock.now + LIFETIME * 2 / 3


def test_refresh_grant_is_used_silently_when_due(h: Harness) -> None:
    h.manager.login("e1", "pw", remember=False)
    assert h.manager.run_due(h.clock.now) is not None  # not due yet: nothing happens
    assert h.iam.refreshes == 0
    for _ in range(3):
        h.advance_to_due()
    assert h.iam.refreshes == 3 and h.iam.logins == ["pw"]
    assert h.tokens == ["t1", "t2", "t3", "t4"]
    assert h.manager.status().state == "valid"


def test_transient_failures_back_off_then_succeed(h: Harness) -> None:
    h.manager.login("e1", "pw", remember=False)
    h.iam.script = [TransientIamError("503", "u"), TransientIamError("503", "u")]
    due_times: list[float] = []
    for _ in range(3):
        before = h.clock.now
        h.advance_to_due()
        due_times.append(h.clock.now - before)
    status = h.manager.status()
    assert h.iam.refreshes == 3 and status.state == "valid" and status.last_error is None
    assert h.tokens[-1] == "t2"
    # The regular refresh, then retries 1 and 2 of the capped exponential back-off (1 s, 2 s,
    # equal jitter: half fixed, half random), not the regular interval again.
    regular, first, second = due_times
    assert LIFETIME * 0.6 <= regular <= LIFETIME * 2 / 3
    assert 0.5 <= first <= 1.0
    assert 1.0 <= second <= 2.0
    # After the success the back-off is over: the next refresh is a regular one again.
    before = h.clock.now
    h.advance_to_due()
    assert LIFETIME * 0.6 <= h.clock.now - before <= LIFETIME * 2 / 3


def test_transient_failure_marks_expiring_and_retries_with_growing_delay(h: Harness) -> None:
    h.manager.login("e1", "pw", remember=False)
    h.iam.script = [TransientIamError("503", "u") for _ in range(5)]
    h.advance_to_due()
    status = h.manager.status()
    assert status.state == "expiring" and status.last_error == "503"
    delays = []
    for _ in range(4):
        before = h.clock.now
        h.advance_to_due()
        delays.append(h.clock.now - before)
    assert delays[-1] > delays[0]
    assert all(d <= 60 for d in delays)


def test_retry_after_is_respected(h: Harness) -> None:
    h.manager.login("e1", "pw", remember=False)
    h.iam.script = [TransientIamError("429", "u", retry_after=45)]
    h.advance_to_due()
    status = h.manager.status()
    assert status.next_refresh_at == pytest.approx(h.clock.now + 45)


def test_permanent_failure_stops_and_sets_error(h: Harness) -> None:
    h.manager.login("e1", "pw", remember=False)
    h.iam.script = [PermanentIamError("404 from IAM", "u")]
    h.advance_to_due()
    status = h.manager.status()
    assert status.state == "error" and status.last_error == "404 from IAM"
    assert status.next_refresh_at is None
    expires_at = status.expires_at
    assert expires_at is not None
    wake = h.manager.run_due(h.clock.now)
    assert wake == pytest.approx(expires_at - 300)  # only to announce "expiring"
    h.clock.now = expires_at + 1
    h.manager.run_due(h.clock.now)
    assert h.iam.refreshes == 1
    assert h.manager.status().state == "expired"


def test_wrong_password_is_one_attempt(h: Harness) -> None:
    with pytest.raises(InvalidCredentialsError):
        h.manager.login("e1", "bad", remember=True)
    assert h.iam.logins == ["bad"]
    status = h.manager.status()
    assert status.state == "error" and not status.password_remembered
    assert h.manager.run_due(h.clock.now) is None
    assert h.iam.logins == ["bad"]
    assert h.secrets.get("iam-password") is None


def test_remembered_password_signs_in_again_without_refresh_token(home: Paths) -> None:
    h = make_harness(home.state_file, refreshable=False)
    status = h.manager.login("e1", "pw", remember=True)
    assert status.can_refresh_silently and status.password_remembered
    h.advance_to_due()
    h.advance_to_due()
    assert h.iam.logins == ["pw", "pw", "pw"] and h.tokens == ["t1", "t2", "t3"]


def test_refused_remembered_password_is_forgotten_and_never_retried(home: Paths) -> None:
    h = make_harness(home.state_file, refreshable=False)
    h.manager.login("e1", "pw", remember=True)
    h.iam.password = "changed-by-the-user-elsewhere"
    h.advance_to_due()
    status = h.manager.status()
    assert status.state == "error" and "forgotten" in (status.last_error or "")
    assert not status.can_refresh_silently and status.next_refresh_at is None
    assert h.secrets.get("iam-password") is None
    for _ in range(5):
        h.clock.now += 600
        h.manager.run_due(h.clock.now)
    assert h.iam.logins == ["pw", "pw"]


def test_without_silent_refresh_state_warns_then_expires(home: Paths) -> None:
    h = make_harness(home.state_file, refreshable=False)
    status = h.manager.login("e1", "pw", remember=False)
    assert not status.can_refresh_silently and status.next_refresh_at is None
    expires_at = status.expires_at
    assert expires_at is not None
    wake = h.manager.run_due(h.clock.now)
    assert wake == pytest.approx(expires_at - 300)
    h.clock.now = wake
    assert h.manager.run_due(h.clock.now) == pytest.approx(expires_at)
    assert h.states[-1].state == "expiring"
    h.clock.now = expires_at
    assert h.manager.run_due(h.clock.now) is None
    assert h.states[-1].state == "expired"
    assert h.iam.logins == ["pw"]
    with pytest.raises(CannotRefreshSilently):
        h.manager.refresh_now()


def test_refused_refresh_token_asks_to_sign_in(h: Harness) -> None:
    h.manager.login("e1", "pw", remember=False)
    h.iam.script = [InvalidCredentialsError("session ended", "u")]
    h.advance_to_due()
    status = h.manager.status()
    assert status.state == "error" and not status.can_refresh_silently
    assert h.secrets.get("refresh-token") is None


def test_refresh_now_renews_at_once(h: Harness) -> None:
    h.manager.login("e1", "pw", remember=False)
    status = h.manager.refresh_now()
    assert h.iam.refreshes == 1 and h.tokens == ["t1", "t2"] and status.state == "valid"


def test_logout_forgets_everything_but_the_employee_id(h: Harness) -> None:
    h.manager.login("e1", "pw", remember=True)
    status = h.manager.logout()
    assert status.state == "absent" and status.employee_id == "e1"
    assert h.tokens[-1] is None
    assert all(h.secrets.get(n) is None for n in ("token", "refresh-token", "iam-password"))
    assert h.manager.run_due(h.clock.now) is None


def test_restart_picks_up_the_stored_token(home: Paths) -> None:
    store = MemoryStore()
    first = make_harness(home.state_file, secrets=store)
    first.manager.login("e1", "pw", remember=False)
    second = make_harness(home.state_file, secrets=store)
    second.clock.now = first.clock.now + 10
    assert second.manager.status().employee_id == "e1"  # from the state file alone
    second.manager.run_due(second.clock.now)
    assert second.tokens == ["t1"]
    assert second.manager.status().state == "valid"


def test_missing_iam_profile_is_reported(home: Paths) -> None:
    manager = TokenManager(None, MemoryStore(), home.state_file, clock=FakeClock())
    with pytest.raises(IamConfigError, match=r"bridge\.iam"):
        manager.login("e1", "pw")


def test_refreshing_state_is_announced(h: Harness) -> None:
    h.manager.login("e1", "pw", remember=False)
    states = [s.state for s in h.states]
    assert states == ["absent", "refreshing", "valid"]


def test_failed_sign_in_leaves_a_valid_token_and_its_schedule_alone(h: Harness) -> None:
    before = h.manager.login("e1", "pw", remember=False)
    h.iam.script = [TransientIamError("timeout", "u")]
    with pytest.raises(TransientIamError):
        h.manager.login("e1", "pw", remember=False)
    after = h.manager.status()
    assert after.next_refresh_at == before.next_refresh_at
    assert after.expires_at == before.expires_at and after.last_error == "timeout"
    assert h.tokens == ["t1"]
    h.advance_to_due()
    assert h.manager.status().last_error is None and h.tokens == ["t1", "t2"]
