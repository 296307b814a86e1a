"""The internal apt repository: a real apt-get installs and upgrades from it, and refuses it
once its Release is tampered with.

apt runs on a private configuration (sources list, lists, cache, logs in a temporary folder;
``signed-by=`` the repository's key) and dpkg installs into a throwaway root whose status
starts as a copy of this machine's (so ``Depends`` resolve), so the system's apt and dpkg
state is never touched. The repository is served by ``http.server`` on loopback.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.frozen import build_packages

ROOT = Path(__file__).resolve().parents[2]
NEEDED = ("apt-get", "apt-cache", "dpkg", "dpkg-deb", "gpg")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(3600),  # a cold cache freezes the package first
    pytest.mark.skipif(
        (any(shutil.which(t) is None for t in NEEDED) or os.geteuid() != 0)
        and not os.environ.get("CI"),
        reason="needs root and apt-get, dpkg, gpg (Debian; scripts/setup.sh --dev)",
    ),
]


def _ar_members(data: bytes) -> list[tuple[str, bytes]]:
    assert data[:8] == b"!<arch>\n", "not an ar archive"
    members, pos = [], 8
    while pos < len(data):
        header = data[pos : pos + 60]
        name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
        members.append((name, data[pos + 60 : pos + 60 + size]))
        pos += 60 + size + (size % 2)
    return members


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, body in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}`\n".encode()
        out += body + (b"\n" if len(body) % 2 else b"")
    return bytes(out)


def bump_version(deb: Path, version: str, out: Path) -> Path:
    """The same package with ``Version: version``: only control.tar changes.

    Re-packing with ``dpkg-deb -R``/``-b`` would unpack and compress ~500 MB again; the data
    member is reused as it is (its md5sums stay right) and ``dpkg-deb`` checks the result.
    """
    members = _ar_members(deb.read_bytes())
    index = next(i for i, (n, _) in enumerate(members) if n.startswith("control.tar"))
    name, body = members[index]
    assert name in ("control.tar.gz", "control.tar.xz"), name
    packed = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as src,
        gzip.GzipFile(fileobj=packed, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as dst,
    ):
        for info in src.getmembers():
            fh = src.extractfile(info) if info.isfile() else None
            content = fh.read() if fh else b""
            if info.name in ("./control", "control"):
                lines = content.decode().splitlines()
                content = (
                    "\n".join(
                        f"Version: {version}" if line.startswith("Version:") else line
                        for line in lines
                    ).encode()
                    + b"\n"
                )
                info.size = len(content)
            dst.addfile(info, io.BytesIO(content) if info.isfile() else None)
    members[index] = ("control.tar.gz", packed.getvalue())
    out.write_bytes(_ar(members))
    shown = subprocess.run(
        ["dpkg-deb", "--field", str(out), "Version"], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == version
    return out


def apt_repo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "installer.apt_repo", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(repo))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield repo, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


class PrivateApt:
    """apt-get/apt-cache with every state, cache and log path in ``base``; dpkg into ``root``."""

    def __init__(self, base: Path, url: str, keyring: Path) -> None:
        self.root = base / "root"
        admin = self.root / "var" / "lib" / "dpkg"
        for sub in ("info", "updates", "triggers"):
            (admin / sub).mkdir(parents=True)
        shutil.copyfile("/var/lib/dpkg/status", admin / "status")
        (admin / "available").touch()
        empty = base / "etc" / "empty.d"
        empty.mkdir(parents=True)
        sources = base / "etc" / "sources.list"
        sources.write_text(f"deb [signed-by={keyring}] {url} stable main\n")
        for d in ("state/lists/partial", "cache/archives/partial", "log"):
            (base / d).mkdir(parents=True)
        self.options = [
            f"-oDir::Etc::sourcelist={sources}",
            f"-oDir::Etc::sourceparts={empty}",
            f"-oDir::Etc::trusted={base / 'etc' / 'none.gpg'}",
            f"-oDir::Etc::trustedparts={empty}",
            f"-oDir::Etc::preferencesparts={empty}",
            f"-oDir::State={base / 'state'}",
            f"-oDir::State::status={admin / 'status'}",
            f"-oDir::Cache={base / 'cache'}",
            f"-oDir::Log={base / 'log'}",
            "-oAcquire::http::Proxy=DIRECT",
            "-oAPT::Sandbox::User=root",  # the temporary folders are root's only
            f"-oDpkg::Options::=--root={self.root}",
            f"-oDpkg::Options::=--log={base / 'log' / 'dpkg.log'}",
        ]
        self.scripts = False

    def allow_scripts(self, deb: Path) -> None:
        """Maintainer scripts run unchrooted (the throwaway root has no shell to chroot to)."""
        listing = subprocess.run(
            ["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(listing)) as tar:
            names = {Path(n).name for n in tar.getnames()}
        if names & {"preinst", "postinst", "prerm", "postrm"} and not self.scripts:
            self.options.append("-oDpkg::Options::=--force-script-chrootless")
            self.scripts = True

    def run(self, tool: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
        return subprocess.run(
            [tool, *self.options, *args], capture_output=True, text=True, env=env, timeout=timeout
        )

    def update(self) -> subprocess.CompletedProcess[str]:
        return self.run("apt-get", "update")

    def candidate(self) -> str:
        out = self.run("apt-cache", "policy", "litellm-bridge").stdout
        return next(
            line.split(":", 1)[1].strip() for line in out.splitlines() if "Candidate:" in line
        )

    def installed_version(self) -> str | None:
        status = (self.root / "var" / "lib" / "dpkg" / "status").read_text()
        for stanza in status.split("\n\n"):
            if "Package: litellm-bridge\n" in stanza + "\n" and "install ok installed" in stanza:
                return next(
                    ln.split(":", 1)[1].strip()
                    for ln in stanza.splitlines()
                    if ln.startswith("Version:")
                )
        return None


def _system_state() -> list[tuple[str, int]]:
    names = ["/var/lib/dpkg/status", "/var/log/dpkg.log", "/var/log/apt/history.log"]
    return [(n, os.stat(n).st_mtime_ns) for n in names if os.path.exists(n)]


def test_apt_installs_and_upgrades_from_the_repository_and_refuses_a_tampered_release(
    tmp_path: Path, served: tuple[Path, str]
) -> None:
    repo, url = served
    deb = build_packages()
    system_before = _system_state()

    made = apt_repo("--deb", str(deb), "--out", str(repo))
    assert made.returncode == 0, made.stderr
    release = repo / "dists" / "stable"
    for name in ("Release", "InRelease", "Release.gpg", "main/binary-amd64/Packages.gz"):
        assert (release / name).is_file(), name
    apt = PrivateApt(tmp_path / "apt", url, repo / "litellm-bridge-archive-keyring.gpg")

    updated = apt.update()
    assert updated.returncode == 0 and "GPG error" not in updated.stdout + updated.stderr, (
        updated.stdout + updated.stderr
    )
    assert apt.candidate() == "0.1.0"
    apt.allow_scripts(deb)
    installed = apt.run("apt-get", "install", "-y", "--no-install-recommends", "litellm-bridge")
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    assert apt.installed_version() == "0.1.0"
    app = apt.root / "opt" / "litellm-bridge"
    assert (app / "litellm-bridge").is_file() and (app / "manifest.json.sig").is_file()

    # A newer version added to the same repository (the pool keeps 0.1.0): apt upgrades.
    newer = bump_version(deb, "0.1.1", tmp_path / "litellm-bridge_0.1.1_amd64.deb")
    made = apt_repo("--deb", str(newer), "--out", str(repo))
    assert made.returncode == 0, made.stderr
    assert len(list((repo / "pool").rglob("*.deb"))) == 2
    assert apt.update().returncode == 0
    assert apt.candidate() == "0.1.1"
    upgraded = apt.run("apt-get", "install", "-y", "--only-upgrade", "litellm-bridge")
    assert upgraded.returncode == 0, upgraded.stdout[-3000:] + upgraded.stderr[-3000:]
    assert apt.installed_version() == "0.1.1"
    assert "Unpacking litellm-bridge (0.1.1) over (0.1.0)" in upgraded.stdout

    # Tampered: a Release saying there is a 0.1.2 (or anything else) is refused whole.
    for name in ("InRelease", "Release"):
        text = (release / name).read_text()
        (release / name).write_text(text.replace("Label: LiteLLM Bridge", "Label: Evil Bridge"))
    refused = apt.update()
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0 or "GPG error" in output, output
    assert "BADSIG" in output or "signatures were invalid" in output, output
    # Without InRelease apt falls back to Release + Release.gpg: refused the same way.
    (release / "InRelease").unlink()
    refused = apt.update()
    output = refused.stdout + refused.stderr
    assert "BADSIG" in output or "signatures were invalid" in output, output
    assert apt.candidate() == "0.1.1"  # the last verified lists stay in force

    assert _system_state() == system_before, "the system's dpkg/apt state was changed"
