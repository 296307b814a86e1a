"""Local account: scrypt hash with a per-user salt, lockout with a growing delay, CLI."""

from __future__ import annotations

import itertools
import json
import os
import stat
from pathlib import Path

import pytest

from tests.agentproc import cli
from tests.helpers.parallel import Job, run_parallel
from tray_agent.account import Account, AccountError, LockedOut, WrongPassword, lockout_delay
from tray_agent.account.store import FREE_ATTEMPTS

FAST = (2**10, 8, 1)  # cheap cost for unit tests; the CLI tests use the real one
PW = "local pass 1"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make(tmp_path: Path, clock: Clock | None = None) -> Account:
    return Account(tmp_path / "account.json", clock=clock or Clock(), cost=FAST)


def test_password_is_stored_only_as_a_salted_scrypt_hash(tmp_path: Path) -> None:
    a = make(tmp_path)
    a.create(PW)
    raw = a.path.read_text()
    assert PW not in raw
    data = json.loads(raw)
    assert data["kdf"] == "scrypt" and len(data["salt"]) >= 20
    assert stat.S_IMODE(os.stat(a.path).st_mode) == 0o600
    b = Account(tmp_path / "other.json", cost=FAST)
    b.create(PW)
    assert json.loads(b.path.read_text())["salt"] != data["salt"]
    assert json.loads(b.path.read_text())["hash"] != data["hash"]


def test_right_password_passes_and_wrong_one_fails(tmp_path: Path) -> None:
    a = make(tmp_path)
    a.create(PW)
    a.verify(PW)
    with pytest.raises(WrongPassword):
        a.verify("not it at all")
    assert a.failures() == 1
    a.verify(PW)
    assert a.failures() == 0


def test_short_passwords_and_second_accounts_are_refused(tmp_path: Path) -> None:
    a = make(tmp_path)
    with pytest.raises(AccountError, match="at least 8"):
        a.create("short")
    a.create(PW)
    with pytest.raises(AccountError, match="already exists"):
        a.create(PW)


def test_repeated_failures_lock_with_a_growing_delay(tmp_path: Path) -> None:
    clock = Clock()
    a = make(tmp_path, clock)
    a.create(PW)
    for _ in range(2):
        with pytest.raises(WrongPassword) as info:
            a.verify("wrong password")
        assert info.value.locked_for == 0
    with pytest.raises(WrongPassword) as info:
        a.verify("wrong password")
    first = info.value.locked_for
    assert first > 0
    # While locked even the right password is refused, and the lock survives a new process.
    with pytest.raises(LockedOut):
        Account(a.path, clock=clock, cost=FAST).verify(PW)
    clock.now += first + 0.1
    with pytest.raises(WrongPassword) as info:
        a.verify("wrong again")
    assert info.value.locked_for > first
    clock.now += info.value.locked_for + 0.1
    a.verify(PW)
    assert a.locked_for() == 0


def test_lockout_delay_grows_and_is_capped() -> None:
    delays = [lockout_delay(n) for n in range(1, 20)]
    assert delays[:2] == [0, 0]
    assert all(b >= a for a, b in itertools.pairwise(delays))
    assert delays[-1] == 15 * 60


def test_change_needs_the_old_password(tmp_path: Path) -> None:
    a = make(tmp_path)
    a.create(PW)
    with pytest.raises(WrongPassword):
        a.change("nope nope", "new password 2")
    a.change(PW, "new password 2")
    assert a.check("new password 2")
    assert not a.check(PW)


def test_account_cli_create_login_passwd(home: Path) -> None:
    r = cli(home, "account", "create", "--password-stdin", stdin=PW + "\n")
    assert r.returncode == 0, r.stderr
    assert (home / "config" / "account.json").exists()
    r = cli(home, "account", "create", "--password-stdin", stdin=PW + "\n")
    assert r.returncode == 1 and "already exists" in r.stderr
    assert cli(home, "account", "login", "--password-stdin", stdin=PW + "\n").returncode == 0
    r = cli(home, "account", "login", "--password-stdin", stdin="bad password\n")
    assert r.returncode == 1 and "wrong password" in r.stderr
    r = cli(home, "account", "passwd", "--password-stdin", stdin=f"{PW}\nbrand new pw\n")
    assert r.returncode == 0, r.stderr
    assert cli(home, "account", "login", "--password-stdin", stdin="brand new pw\n").returncode == 0


def test_account_cli_reports_lockout_with_its_own_exit_code(home: Path) -> None:
    assert cli(home, "account", "create", "--password-stdin", stdin=PW + "\n").returncode == 0
    path = home / "config" / "account.json"
    data = json.loads(path.read_text())
    data.update(failures=5, locked_until=data["created_at"] + 3600)
    path.write_text(json.dumps(data))
    r = cli(home, "account", "login", "--password-stdin", stdin=PW + "\n")
    assert r.returncode == 4 and "locked" in r.stderr


def test_parallel_wrong_passwords_all_count_towards_the_lockout(home: Path) -> None:
    """Guesses from parallel processes queue on the account file's lock: none is lost."""
    Account(home / "config" / "account.json").create(PW)  # the product's real scrypt cost
    n = 8
    jobs: list[Job] = [(["account", "login", "--password-stdin"], f"guess {i}\n") for i in range(n)]
    codes = sorted(r.returncode for r in run_parallel(home, jobs))
    account = Account(home / "config" / "account.json")
    assert account.failures() == FREE_ATTEMPTS
    assert codes == [1] * FREE_ATTEMPTS + [4] * (n - FREE_ATTEMPTS), "the rest find it locked"
    assert account.locked_for() > 0
