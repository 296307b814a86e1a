"""Two builds of one commit and lock give the same .deb, byte for byte.

The session's build is the first; the second runs PyInstaller again from nothing (its own
build folder, dist folder and an empty PyInstaller cache holding only the same keys), so
what is compared includes both freezes, the signed manifest and the packing. Slow: two
freezes side by side, a few minutes on two cores.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from tests.packaging.frozen import BUILD_TIMEOUT, ROOT, build_packages, extract

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def _build_epoch(deb: Path, tmp: Path) -> int:
    """The SOURCE_DATE_EPOCH the first build used (its changelog's date)."""
    with open(tmp / "a.tar", "wb") as tar:
        subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, stdout=tar)
    subprocess.run(
        ["tar", "-xf", "a.tar", "./usr/share/doc/litellm-bridge/changelog.gz"], cwd=tmp, check=True
    )
    text = gzip.decompress((tmp / "usr/share/doc/litellm-bridge/changelog.gz").read_bytes())
    line = next(x for x in text.decode().splitlines() if x.startswith(" -- "))
    return int(parsedate_to_datetime(line.split("  ", 1)[1]).timestamp())


def _digests(root: Path) -> dict[str, str]:
    found = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            st = path.lstat()
            body = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            found[rel] = f"{oct(st.st_mode)} {hashlib.sha256(body).hexdigest()}"
    return found


def _listing(deb: Path) -> list[str]:
    """The data member list with owners, modes, times and link targets (``tar tv``)."""
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True)
    return (
        subprocess.run(
            ["tar", "--list", "--verbose", "--full-time", "--numeric-owner"],
            input=tar.stdout,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .splitlines()
    )


def mismatch_report(first: Path, second: Path, tmp: Path) -> str:
    """What differs between two packages: control, member list, then each file's bytes."""
    a, b = tmp / "first", tmp / "second"
    extract(first, a)
    extract(second, b)
    da, db = _digests(a), _digests(b)
    lines = [f"only in first: {p}" for p in sorted(da.keys() - db.keys())]
    lines += [f"only in second: {p}" for p in sorted(db.keys() - da.keys())]
    lines += [f"differs: {p}" for p in sorted(da.keys() & db.keys()) if da[p] != db[p]]
    if not lines:
        la, lb = _listing(first), _listing(second)
        lines = [f"member: {x!r} / {y!r}" for x, y in zip(la, lb, strict=False) if x != y]
        lines = lines or ["same files and members: the archive framing differs (ar, compression)"]
    return "\n".join(lines[:80])


def test_a_second_build_from_nothing_gives_the_same_deb(tmp_path: Path) -> None:
    from installer.build import CACHE

    first = build_packages()
    epoch = _build_epoch(first, tmp_path)
    cache = tmp_path / "cache"
    # Same signing key and update root as the session build, nothing else reused.
    shutil.copytree(CACHE / "keys", cache / "keys")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "LITELLM_BRIDGE_BUILD_DIR": str(tmp_path / "build"),
        "LITELLM_BRIDGE_DIST_DIR": str(tmp_path / "dist"),
        "LITELLM_BRIDGE_BUILD_CACHE": str(cache),
        "LITELLM_BRIDGE_DEB_COMPRESSION": "gzip:1",
        "SOURCE_DATE_EPOCH": str(epoch),
    }
    result = subprocess.run(
        ["make", "package", f"PYTHON={sys.executable}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "running PyInstaller" in result.stdout, "the second build reused a cached freeze"
    (second,) = (tmp_path / "dist").glob("litellm-bridge_*.deb")
    assert first.name == second.name
    if first.read_bytes() != second.read_bytes():
        pytest.fail("the two builds differ:\n" + mismatch_report(first, second, tmp_path))
