"""The apt repository's files on a small real package (no freeze): indexes, hashes, signatures."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from installer.apt_repo import AptRepoError, signing_key, write_repo

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("dpkg-deb", "gpg", "gpgv")) and not os.environ.get("CI"),
    reason="needs dpkg-deb, gpg and gpgv (scripts/setup.sh --dev)",
)


def small_deb(tmp: Path, version: str, payload: bytes = b"hello\n") -> Path:
    root = tmp / f"pkg-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "opt" / "litellm-bridge").mkdir(parents=True)
    (root / "opt" / "litellm-bridge" / "file").write_bytes(payload)
    (root / "DEBIAN" / "control").write_text(
        f"Package: litellm-bridge\nVersion: {version}\nArchitecture: amd64\n"
        "Maintainer: Test <test@example.com>\nDescription: test package\n two lines\n"
    )
    out = tmp / f"litellm-bridge_{version}_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", str(root), str(out)],
        check=True,
        capture_output=True,
    )
    return out


def test_indexes_name_every_pooled_file_by_hash_and_release_verifies(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    key = signing_key({})
    write_repo([small_deb(tmp_path, "0.1.0")], repo, "stable", key)
    dist = write_repo([small_deb(tmp_path, "0.2.0")], repo, "stable", key, valid_days=7)
    packages = (dist / "main" / "binary-amd64" / "Packages").read_text()
    stanzas = [s for s in packages.split("\n\n") if s.strip()]
    assert [s.split("Version: ")[1].split("\n")[0] for s in stanzas] == ["0.1.0", "0.2.0"]
    for stanza in stanzas:
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if not line.startswith(" ")
        )
        pooled = repo / fields["Filename"]
        assert hashlib.sha256(pooled.read_bytes()).hexdigest() == fields["SHA256"]
        assert int(fields["Size"]) == pooled.stat().st_size
        assert " two lines" in stanza  # the multi-line Description survives
    assert gzip.decompress((dist / "main/binary-amd64/Packages.gz").read_bytes()).decode() == (
        packages
    )
    release = (dist / "Release").read_text()
    for name in ("main/binary-amd64/Packages", "main/binary-amd64/Packages.gz"):
        digest = hashlib.sha256((dist / name).read_bytes()).hexdigest()
        assert f" {digest} " in release and release.count(f" {name}\n") == 2  # MD5Sum, SHA256
    assert "Valid-Until: " in release and "Suite: stable" in release
    keyring = repo / "litellm-bridge-archive-keyring.gpg"
    for argv in (
        [str(dist / "InRelease")],
        [str(dist / "Release.gpg"), str(dist / "Release")],
    ):
        ok = subprocess.run(["gpgv", "--keyring", str(keyring), *argv], capture_output=True)
        assert ok.returncode == 0, ok.stderr
    (dist / "Release").write_text(release.replace("stable", "testing"))
    bad = subprocess.run(
        ["gpgv", "--keyring", str(keyring), str(dist / "Release.gpg"), str(dist / "Release")],
        capture_output=True,
    )
    assert bad.returncode != 0


def test_same_inputs_give_the_same_indexes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    deb = small_deb(tmp_path, "0.1.0")
    key = signing_key({})
    a = write_repo([deb], tmp_path / "a", "stable", key)
    b = write_repo([deb], tmp_path / "b", "stable", key)
    for name in ("Release", "main/binary-amd64/Packages", "main/binary-amd64/Packages.gz"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert "Date: Tue, 14 Nov 2023 22:13:20 GMT" in (a / "Release").read_text()


def test_another_build_of_a_published_version_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    key = signing_key({})
    write_repo([small_deb(tmp_path / "one", "0.1.0")], repo, "stable", key)
    with pytest.raises(AptRepoError, match="bump the version"):
        write_repo([small_deb(tmp_path / "two", "0.1.0", b"other\n")], repo, "stable", key)


def test_a_company_gnupg_home_without_a_named_key_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    with pytest.raises(AptRepoError, match="holds 0 secret keys"):
        signing_key({"LITELLM_BRIDGE_APT_GNUPGHOME": str(home)})
    with pytest.raises(AptRepoError, match="no such secret key"):
        signing_key({"LITELLM_BRIDGE_APT_GNUPGHOME": str(home), "LITELLM_BRIDGE_APT_KEY": "AB12"})
