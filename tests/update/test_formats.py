"""The upgrade path: files every earlier release wrote (``fixtures/<version>/``, made by that
release's ``make_fixtures``) are read by today's code without losing anything, and a file in
a newer format than this version knows is refused with what to do, never misread."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from installer.sign import sign_bundle
from tray_agent import formats
from tray_agent.account.store import Account, AccountError
from tray_agent.audit.keys import KEY_NAME, Signer, load_signer, trusted_keys
from tray_agent.audit.log import AuditLog, log_files
from tray_agent.audit.verify import verify_path
from tray_agent.config.validate import ConfigInvalid, load_config
from tray_agent.envstore.store import EnvStore, EnvStoreError
from tray_agent.formats import FormatError
from tray_agent.integrity import verify as integrity
from tray_agent.integrity.verify import verify_bundle
from tray_agent.policy.store import RECORD_FILE, LastGoodStore
from tray_agent.policy.usage_book import USAGE_FILE, load_book
from tray_agent.secrets.store import MemoryStore
from tray_agent.token.store import PersistedState, TokenStore, read_state
from tray_agent.update.layout import Layout, UpdateStateError

from .fixtures.make_fixtures import AUDIT_KEY

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
    with pytest.raises(
        UpdateStateError, match=r"written by a newer LiteLLM Bridge \(format 2; .*understands"
    ):
        Layout(old_state).load()


# -- the kinds added in 0.1.0's second round of fixtures ---------------------------------
def _expected(old_state: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((old_state / "expected.json").read_text())
    return doc


def _has(old_state: Path, name: str) -> None:
    if not (old_state / name).exists():
        pytest.skip(f"this release's fixtures have no {name}")


def test_config_of_an_earlier_release_loads_whole(old_state: Path) -> None:
    _has(old_state, "config.yaml")
    loaded = load_config(old_state / "config.yaml")
    assert loaded.config.bridge.port == 4100 and loaded.config.bridge.format == 1
    assert loaded.config.bridge.iam is not None and loaded.config.model_list


def test_a_newer_config_is_refused_with_what_to_do(old_state: Path) -> None:
    _has(old_state, "config.yaml")
    path = old_state / "config.yaml"
    path.write_text(path.read_text().replace("bridge:\n", "bridge:\n  format: 2\n", 1))
    with pytest.raises(ConfigInvalid) as info:
        load_config(path)
    text = " ".join(i.message for i in info.value.issues)
    assert "bridge.format: written by a newer LiteLLM Bridge (format 2;" in text
    assert "reads up to 1" in text and "update status" in text


def test_token_state_of_an_earlier_release_reads_back_whole(old_state: Path) -> None:
    _has(old_state, "state.json")
    whole = json.loads((old_state / "state.json").read_text())
    st = read_state(old_state / "state.json")
    assert st.to_json() == whole["token"] and st.employee_id == "E12345" and st.has_token


def test_a_newer_token_state_is_refused_and_never_overwritten(old_state: Path) -> None:
    _has(old_state, "state.json")
    path = old_state / "state.json"
    _bump(path, "format")
    before = path.read_bytes()
    with pytest.raises(FormatError, match=r"state.json \(the token state\) was written by a newer"):
        read_state(path)
    with pytest.raises(FormatError):
        TokenStore(MemoryStore(), path).save_state(PersistedState(employee_id="E1"))
    assert path.read_bytes() == before


def test_the_cli_says_what_to_do_with_a_newer_token_state(old_state: Path) -> None:
    _has(old_state, "state.json")
    home = old_state / "home"
    (home / "data").mkdir(parents=True)
    shutil.copy(old_state / "state.json", home / "data" / "state.json")
    _bump(home / "data" / "state.json", "format")
    env = {**os.environ, "LITELLM_BRIDGE_HOME": str(home)}
    r = subprocess.run(
        [sys.executable, "-m", "tray_agent", "token", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1, r.stderr
    assert "was written by a newer LiteLLM Bridge (format 2; this version reads up to 1)" in (
        r.stderr
    )
    assert "Traceback" not in r.stderr and "unexpected" not in r.stderr


def test_usage_book_of_an_earlier_release_reads_back_whole(old_state: Path) -> None:
    _has(old_state, USAGE_FILE)
    doc = json.loads((old_state / USAGE_FILE).read_text())
    book, problem = load_book(old_state / USAGE_FILE)
    assert problem is None and book.to_json() == doc
    assert book.employees["E12345"].requests_today == 3


def test_a_newer_usage_book_is_refused_not_called_corrupt(old_state: Path) -> None:
    _has(old_state, USAGE_FILE)
    _bump(old_state / USAGE_FILE, "version")
    book, problem = load_book(old_state / USAGE_FILE)
    assert not book.employees and problem is not None
    assert "written by a newer LiteLLM Bridge (format 2" in problem


def test_policy_record_of_an_earlier_release_is_still_in_force(old_state: Path) -> None:
    _has(old_state, RECORD_FILE)
    expected = _expected(old_state)
    store = LastGoodStore(old_state / RECORD_FILE, bytes.fromhex(expected["policy_mac_key"]))
    record, problem = store.check()
    assert problem is None and record is not None and record.document == expected["policy"]


def test_a_newer_policy_record_is_not_used_and_says_why(old_state: Path) -> None:
    _has(old_state, RECORD_FILE)
    key = bytes.fromhex(_expected(old_state)["policy_mac_key"])
    path = old_state / RECORD_FILE
    record = json.loads(path.read_text())
    body = {k: v for k, v in record.items() if k not in ("sha256", "mac")}
    body["version"] = 2
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    record = {
        **body,
        "sha256": hashlib.sha256(canonical).hexdigest(),
        "mac": hmac.new(key, canonical, hashlib.sha256).hexdigest(),
    }
    path.write_text(json.dumps(record))
    found, problem = LastGoodStore(path, key).check()
    assert found is None and problem is not None
    assert "written by a newer LiteLLM Bridge (format 2; this version reads up to 1)" in problem


def test_audit_log_of_an_earlier_release_verifies_whole(old_state: Path) -> None:
    _has(old_state, "audit")
    audit = old_state / "audit"
    report = verify_path(audit, trusted_keys(audit))
    assert report.problem is None and report.events == 3 and report.checkpoints == 3
    events = [json.loads(line)["event"] for line in log_files(audit)[0].read_text().splitlines()]
    assert [e for e in events if e != "audit.checkpoint"] == _expected(old_state)["audit_events"]


def test_a_newer_audit_checkpoint_is_reported_not_judged(old_state: Path) -> None:
    _has(old_state, "audit")
    audit = old_state / "audit"
    path = log_files(audit)[0]
    lines = path.read_text().splitlines()
    last = json.loads(lines[-1])
    assert last["event"] == "audit.checkpoint" and last["format"] == 1
    # A newer version's checkpoint after these lines (unsigned: its format is looked at
    # before its signature).
    newer = {"seq": last["seq"] + 1, "time": last["time"], "event": "audit.checkpoint"}
    newer.update(count=last["seq"], key=last["key"], sig="", format=2)
    newer["prev"] = hashlib.sha256(lines[-1].encode()).hexdigest()
    path.write_text("\n".join([*lines, json.dumps(newer, separators=(",", ":"))]) + "\n")
    report = verify_path(audit, trusted_keys(audit))
    assert report.problem is not None and report.problem.kind == "newer_format"
    assert "was written by a newer LiteLLM Bridge (format 2" in report.problem.message


def _audit_signer(audit: Path) -> Signer:
    secrets = MemoryStore()
    secrets.set(KEY_NAME, base64.b64encode(AUDIT_KEY).decode("ascii"))
    signer = load_signer(secrets, audit)
    assert signer is not None
    return signer


def test_audit_lines_go_only_into_a_file_of_the_writers_format(
    old_state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newer version (format 2 here) starts a file of its own on its first write; after a
    rollback the older one never appends to that file: a new one again, or a refusal."""
    _has(old_state, "audit")
    audit = old_state / "audit"
    release_file = log_files(audit)[0]
    release_bytes = release_file.read_bytes()
    older = formats.AUDIT
    newer = formats.Kind(older.name, older.what, 2, key=older.key)
    monkeypatch.setitem(formats.KINDS, older.name, newer)
    wall = iter(float(1796000100 + n) for n in range(10))
    AuditLog(audit, _audit_signer(audit), wall=lambda: next(wall)).append(
        [("agent.start", {"version": "0.2.0"})]
    )
    files = log_files(audit)
    assert len(files) == 2 and release_file.read_bytes() == release_bytes
    assert json.loads(files[1].read_text().splitlines()[0])["format"] == 2
    assert verify_path(audit, trusted_keys(audit)).problem is None  # one chain across both

    monkeypatch.setitem(formats.KINDS, older.name, older)  # rolled back
    keyless = AuditLog(audit, None, wall=lambda: next(wall))
    with pytest.raises(OSError, match=r"audit log\) was written by a newer LiteLLM Bridge"):
        keyless.append([("env.set", {"name": "A"})])
    AuditLog(audit, _audit_signer(audit), wall=lambda: next(wall)).append(
        [("agent.start", {"version": "0.1.0"})]
    )
    files = log_files(audit)
    assert len(files) == 3 and json.loads(files[2].read_text().splitlines()[0])["format"] == 1
    report = verify_path(audit, trusted_keys(audit))
    assert report.problem is not None and report.problem.kind == "newer_format"
    assert report.problem.file == str(files[1])


def test_a_newer_integrity_record_is_not_used_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The record of verified sidecar files is a cache under the user's MAC key: one a newer
    version wrote is not trusted (every file is hashed again) and the log says why."""
    app, key, mac_key = tmp_path / "app", Ed25519PrivateKey.generate(), bytes(range(32))
    (app / "sidecar").mkdir(parents=True)
    (app / "sidecar" / "litellm-bridge-sidecar").write_bytes(b"\x7fELF sidecar")
    (app / "sidecar" / "data.json").write_text('{"a": 1}')
    sign_bundle(app, key)
    record = tmp_path / "integrity-verified.json"
    try:
        integrity.forget_verified()
        integrity.remember_verified(record, mac_key)
        assert verify_bundle(app, app / "sidecar", key.public_key()).hashed == 2
        integrity.forget_verified()  # a new agent run, which trusts the record
        assert verify_bundle(app, app / "sidecar", key.public_key()).hashed == 0

        body = {k: v for k, v in json.loads(record.read_text()).items() if k != "mac"}
        assert body["version"] == 1
        body["version"] = 2
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        record.write_text(
            json.dumps({**body, "mac": hmac.new(mac_key, canonical, "sha256").hexdigest()})
        )
        integrity.forget_verified()
        with caplog.at_level(logging.WARNING, logger="tray_agent.integrity"):
            assert verify_bundle(app, app / "sidecar", key.public_key()).hashed == 2
        assert "was written by a newer LiteLLM Bridge (format 2" in caplog.text
        assert "hashing every file" in caplog.text
    finally:
        integrity.remember_verified(None)
        integrity.forget_verified()
