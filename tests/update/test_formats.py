"""The upgrade path: files every earlier release wrote (``fixtures/<version>/``, made by that
release's ``make_fixtures``) are read by today's code without losing anything, and a file in
a newer format than this version knows is refused with what to do, never misread."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tray_agent.account.store import Account, AccountError
from tray_agent.envstore.store import EnvStore, EnvStoreError
from tray_agent.update.layout import Layout, UpdateStateError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RELEASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name[0].isdigit())


@pytest.fixture(params=RELEASES)
def old_state(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    copy = tmp_path / request.param
    shutil.copytree(FIXTURES / request.param, copy)
    return copy


def test_every_release_has_fixtures() -> None:
    assert "0.1.0" in RELEASES


def test_env_store_of_an_earlier_release_reads_back_whole(old_state: Path) -> None:
    expected = json.loads((old_state / "expected.json").read_text())["env"]
    entries = {e.name: e for e in EnvStore(old_state / "env.json").entries()}
    assert {n: e.value for n, e in entries.items()} == expected
    assert entries["NO_PROXY"].enabled is False and entries["HTTPS_PROXY"].enabled is True


def test_account_of_an_earlier_release_still_signs_in(old_state: Path) -> None:
    password = json.loads((old_state / "expected.json").read_text())["password"]
    account = Account(old_state / "account.json")
    assert account.check(password) and not account.check(password + "x")


def test_update_state_of_an_earlier_release_reads_back_whole(old_state: Path) -> None:
    state = Layout(old_state).load()
    assert state.current == "0.2.0" and state.previous == ["0.1.5"]
    assert state.bad == {"0.1.9": "failed"} and state.trial is not None


def _bump(path: Path, key: str) -> None:
    doc = json.loads(path.read_text())
    doc[key] += 1
    path.write_text(json.dumps(doc))


def test_a_newer_env_store_is_refused_not_misread(old_state: Path) -> None:
    _bump(old_state / "env.json", "version")
    with pytest.raises(EnvStoreError, match=r"written by a newer LiteLLM Bridge .*update status"):
        EnvStore(old_state / "env.json").entries()


def test_a_newer_account_is_refused_not_called_damaged(old_state: Path) -> None:
    _bump(old_state / "account.json", "version")
    with pytest.raises(AccountError, match="written by a newer LiteLLM Bridge") as info:
        Account(old_state / "account.json").check("anything")
    assert "damaged" not in str(info.value)


def test_a_newer_update_state_is_refused(old_state: Path) -> None:
    _bump(old_state / "versions" / "state.json", "format")
    with pytest.raises(UpdateStateError, match="newer than this version understands"):
        Layout(old_state).load()
