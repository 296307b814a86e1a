"""Publish with installer/release.py, check and apply over loopback HTTP; every refusal
installs nothing and leaves the trusted metadata as it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from installer import release
from tests.helpers.smallfs import small_fs
from tests.update.repo import fake_app, payload, serve
from tray_agent.update.fetch import Client, Refused
from tray_agent.update.install import apply, metadata_dir
from tray_agent.update.layout import Layout
from tray_agent.update.source import Source

ROOT = Path(__file__).resolve().parents[2]


def _source(url: str) -> Source:
    return Source(url=url, mode="default", origin={"url": "config", "mode": "default"})


@pytest.fixture
def repo(tmp_path: Path, update_env: Path) -> Path:
    folder = tmp_path / "repo"
    release.publish(folder, fake_app(tmp_path, "0.1.0", update_env), level=1)
    release.publish(folder, fake_app(tmp_path, "0.2.0", update_env), level=1)
    return folder


def _target_files(repo: Path) -> list[Path]:
    return sorted((repo / "targets").rglob("*.tar.gz"))


def _trusted(data: Path) -> dict[str, bytes]:
    meta = metadata_dir(data)
    return {p.name: p.read_bytes() for p in meta.glob("*.json")}


def _nothing_installed(data: Path) -> None:
    layout = Layout(data)
    assert layout.installed() == []
    assert layout.load().current is None
    assert not list(layout.root.glob(".staging-*")) if layout.root.exists() else True


def test_found_verified_applied_over_http(repo: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve(repo) as url:
        found = Client(_source(url), metadata_dir(data)).find("0.1.0")
        assert found.available == "0.2.0"
        applied = apply(_source(url), data)
    assert applied is not None and applied.version == "0.2.0"
    layout = Layout(data)
    state = layout.load()
    assert state.current == "0.2.0" and state.trial is not None
    assert (layout.folder("0.2.0") / "_internal" / "payload.bin").read_bytes() == payload("0.2.0")
    assert (layout.folder("0.2.0") / "litellm-bridge").stat().st_mode & 0o100
    # The same release again: nothing to do.
    with serve(repo) as url:
        assert apply(_source(url), data) is None


def test_a_file_share_path_works_like_http(repo: Path, tmp_path: Path) -> None:
    applied = apply(_source(str(repo)), tmp_path / "data")
    assert applied is not None and applied.version == "0.2.0"


def _expect_refused(repo: Path, data: Path, kind: str) -> Refused:
    with serve(repo) as url, pytest.raises(Refused) as info:
        apply(_source(url), data)
    assert info.value.kind == kind, info.value
    _nothing_installed(data)
    return info.value


def _first_check(repo: Path, data: Path) -> dict[str, bytes]:
    """Trust the repository as it is now (metadata saved), before it is attacked."""
    with serve(repo) as url:
        Client(_source(url), metadata_dir(data)).find("0.2.0")
    return _trusted(data)


def test_a_tampered_target_is_refused(repo: Path, tmp_path: Path) -> None:
    for target in _target_files(repo):
        blob = bytearray(target.read_bytes())
        blob[len(blob) // 2] ^= 1
        target.write_bytes(bytes(blob))
    error = _expect_refused(repo, tmp_path / "data", "hash")
    assert "wrong hash or length" in str(error)


def test_an_oversized_target_is_refused(repo: Path, tmp_path: Path) -> None:
    for target in _target_files(repo):
        with open(target, "ab") as fh:
            fh.write(b"\0" * 100_000)
    _expect_refused(repo, tmp_path / "data", "length")


def test_a_bad_signature_is_refused_and_trusted_metadata_kept(repo: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = _first_check(repo, data)
    # A new release whose targets metadata is changed after signing (the attacker's edit).
    release.publish(repo, fake_app(tmp_path, "0.3.0", tmp_path / "cache"), level=1)
    snapshot = json.loads((repo / "metadata" / "timestamp.json").read_text())
    version = snapshot["signed"]["meta"]["snapshot.json"]["version"]
    snap = json.loads((repo / "metadata" / f"{version}.snapshot.json").read_text())
    tversion = snap["signed"]["meta"]["targets.json"]["version"]
    path = repo / "metadata" / f"{tversion}.targets.json"
    doc = json.loads(path.read_text())
    doc["signed"]["expires"] = "2099-01-01T00:00:00Z"
    path.write_text(json.dumps(doc))
    error = _expect_refused(repo, data, "signature")
    assert "bad signature" in str(error) and "targets was signed by 0/1 keys" in str(error)
    assert _trusted(data)["targets.json"] == before["targets.json"]


def test_metadata_signed_by_an_unknown_key_is_refused(repo: Path, tmp_path: Path) -> None:
    from securesystemslib.signer import CryptoSigner
    from tuf.api.metadata import Metadata

    data = tmp_path / "data"
    before = _first_check(repo, data)
    path = repo / "metadata" / "timestamp.json"
    md = Metadata.from_file(str(path))
    md.signed.version += 1
    md.signatures.clear()
    md.sign(CryptoSigner.generate_ed25519())
    md.to_file(str(path))
    error = _expect_refused(repo, data, "signature")
    assert "bad signature" in str(error)
    assert _trusted(data) == before


def test_expired_timestamp_is_refused(repo: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = _first_check(repo, data)
    repository = release.Repository(repo, release.update_keys.signers())
    repository.sign_timestamp(repository.load("timestamp").signed.snapshot_meta.version, -1)
    error = _expect_refused(repo, data, "expired")
    assert "resign-timestamp" in str(error)
    assert _trusted(data) == before


def test_replayed_older_metadata_is_refused(repo: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    old = (repo / "metadata" / "timestamp.json").read_bytes()
    release.publish(repo, fake_app(tmp_path, "0.3.0", tmp_path / "cache"), level=1)
    before = _first_check(repo, data)
    (repo / "metadata" / "timestamp.json").write_bytes(old)
    _expect_refused(repo, data, "rollback")
    assert _trusted(data) == before


def test_a_downgrade_is_refused(tmp_path: Path, update_env: Path) -> None:
    repo = tmp_path / "repo"
    release.publish(repo, fake_app(tmp_path, "0.0.9", update_env), level=1)
    error = _expect_refused(repo, tmp_path / "data", "downgrade")
    assert "older than the installed 0.1.0" in str(error)


def test_publishing_the_same_version_twice_is_refused(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(release.ReleaseError, match="already published"):
        release.publish(repo, fake_app(tmp_path, "0.2.0-copy", tmp_path / "cache"), "0.2.0")


def _cli(home: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LITELLM_BRIDGE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "tray_agent", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        **kw,  # type: ignore[call-overload]
    )


def _config(home: Path, url: str) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.yaml").write_text(f"bridge:\n  update:\n    url: {url}\n")


def test_cli_check_apply_status_rollback(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    with serve(repo) as url:
        _config(home, url)
        check = json.loads(_cli(home, "update", "check", "--json").stdout)
        assert check == {"ok": True, "current": "0.1.0", "available": "0.2.0", "why_not": None}
        r = _cli(home, "update", "apply", "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["installed"] == "0.2.0"
        status = json.loads(_cli(home, "update", "status", "--json").stdout)
        assert status["current"] == "0.2.0" and status["source"]["origin"]["url"] == "config"
        r = _cli(home, "update", "rollback")
        assert r.returncode == 0 and "rolled back from 0.2.0" in r.stdout
        status = json.loads(_cli(home, "update", "status", "--json").stdout)
        assert status["current"] is None and "0.2.0" in status["bad"]
        check = json.loads(_cli(home, "update", "check", "--json").stdout)
        assert check["available"] is None and "marked bad" in check["why_not"]
    # Both are in the audit log (tray_agent.audit): what was installed, what was left.
    logged = [
        json.loads(line)
        for f in sorted((home / "data" / "audit").glob("audit-*.jsonl"))
        for line in f.read_text().splitlines()
    ]
    kinds = {e["event"]: e for e in logged}
    assert kinds["update.installed"]["version"] == "0.2.0"
    assert kinds["update.rolled_back"]["version"] == "0.2.0"
    assert kinds["update.rolled_back"]["reason"] == "rolled back by the user"


def test_cli_names_the_refusal(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    for target in _target_files(repo):
        target.write_bytes(target.read_bytes()[:-10] + b"x" * 10)
    with serve(repo) as url:
        _config(home, url)
        r = _cli(home, "update", "apply")
    assert r.returncode == 4
    assert "update refused: wrong hash or length" in r.stderr
    _nothing_installed(home / "data")


def test_mode_off_refuses_apply(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _config(home, str(repo))
    cfg = home / "config" / "config.yaml"
    cfg.write_text(cfg.read_text() + "    mode: 'off'\n")
    r = _cli(home, "update", "check", "--json")
    assert json.loads(r.stdout)["why_not"].startswith("updates are turned off")
    assert _cli(home, "update", "apply").returncode == 4
    _nothing_installed(home / "data")


def test_kill_9_mid_download_leaves_the_old_version(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    layout = Layout(home / "data")
    with serve(repo, delay=0.2) as url:
        _config(home, url)
        env = {**os.environ, "LITELLM_BRIDGE_HOME": str(home)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tray_agent", "update", "apply"], env=env, cwd=ROOT
        )
        deadline = time.monotonic() + 60
        while not list(layout.root.glob(".staging-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(layout.root.glob(".staging-*")), "the download never started"
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert layout.installed() == [] and layout.load().current is None
        # The next apply cleans up after the killed one and installs.
        r = _cli(home, "update", "apply", "--json")
    assert r.returncode == 0, r.stderr
    assert layout.installed() == ["0.2.0"]
    assert not list(layout.root.glob(".staging-*"))


def test_a_full_disk_during_install_leaves_the_old_version(repo: Path, tmp_path: Path) -> None:
    # 1.5 MiB: the 1 MiB archive downloads, unpacking it beside does not fit.
    with small_fs(tmp_path / "fs", "1536k") as fs:
        home = fs / "home"
        with serve(repo) as url:
            _config(home, url)
            r = _cli(home, "update", "apply")
            assert r.returncode != 0
            assert "no space left" in r.stderr and "Traceback" not in r.stderr, r.stderr
            _nothing_installed(home / "data")
            assert not list((home / "data" / "versions").glob(".staging-*")), "no leftover"


def _machine_policy(update_env: Path, doc: dict[str, object]) -> None:
    machine = Path(os.environ["LITELLM_BRIDGE_MACHINE_POLICY_DIR"])
    path = machine / "policy.json"
    path.write_text(json.dumps({"update": doc}))
    path.chmod(0o644)


@pytest.mark.skipif(os.geteuid() != 0, reason="policy files must be root-owned")
def test_policy_wins_over_config_and_a_pin_allows_a_downgrade(
    tmp_path: Path, update_env: Path
) -> None:
    repo = tmp_path / "repo"
    release.publish(repo, fake_app(tmp_path, "0.0.9", update_env), level=1)
    home = tmp_path / "home"
    _config(home, "/nowhere/at/all")
    cfg = home / "config" / "config.yaml"
    cfg.write_text(cfg.read_text() + "    mode: manual\n")
    _machine_policy(update_env, {"url": str(repo), "version": "0.0.9"})
    status = json.loads(_cli(home, "update", "status", "--json").stdout)["source"]
    assert status["url"] == str(repo) and status["version"] == "0.0.9"
    assert status["origin"] == {"url": "policy", "mode": "config", "version": "policy"}
    r = _cli(home, "update", "apply", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["installed"] == "0.0.9"
    _machine_policy(update_env, {"url": str(repo), "mode": "off"})
    r = _cli(home, "update", "apply")
    assert r.returncode == 4 and "turned off (update.mode from policy)" in r.stderr


def _publish_archive(
    repo: Path, tmp_path: Path, members: list[tuple[str, str, Any]], version: str
) -> None:
    """Sign a hand-made archive into the repository (an attacker holding the targets key)."""
    import io
    import tarfile

    archive = tmp_path / f"evil-{version}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, data
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    release.Repository(repo, release.update_keys.signers()).add_target(archive, version, {})


@pytest.mark.parametrize(
    "members",
    [
        [("litellm-bridge/../evil", "file", b"x")],
        [("/tmp/evil", "file", b"x")],
        [("litellm-bridge/out", "link", "../../state")],
        [
            ("litellm-bridge/_internal/up", "link", ".."),
            ("litellm-bridge/_internal/up/escape", "file", b"x"),
        ],
    ],
    ids=["dotdot", "absolute", "link-out", "through-link"],
)
def test_an_archive_that_writes_outside_its_folder_is_refused(
    repo: Path, tmp_path: Path, members: list[tuple[str, str, Any]]
) -> None:
    _publish_archive(repo, tmp_path, members, "0.5.0")
    data = tmp_path / "data"
    _expect_refused(repo, data, "archive")
    assert not (data / "versions" / "state").exists() and not (data / "evil").exists()


def test_a_newer_state_format_is_refused_with_what_to_do(tmp_path: Path) -> None:
    home = tmp_path / "home"
    state = home / "data" / "versions" / "state.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"format": 2, "current": "9.0.0"}))
    r = _cli(home, "update", "status")
    assert r.returncode == 1
    assert "newer than this version understands" in r.stderr and "Traceback" not in r.stderr
    state.write_text(json.dumps({"format": 1, "current": "../../etc"}))
    r = _cli(home, "update", "rollback")
    assert r.returncode == 1 and "malformed" in r.stderr
