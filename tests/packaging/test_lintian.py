"""The session's .deb checked by lintian and by what lintian cannot see: stripped libraries
that still load, bootloaders left whole, generated docs that are the package's own.

Any lintian error or warning not justified in installer/linux/litellm-bridge.lintian-overrides
fails the test (the overrides file is shipped, so lintian reads it from the package).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from installer import slim
from tests.packaging.frozen import APP_REL, build_packages, extract

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

PACKAGE = "litellm-bridge"
# Expected for a third-party package under /opt; also overridden, so normally never shown.
ALLOWED = {"dir-or-file-in-opt"}
# The bootloader finds its archive through this cookie at the end of its own file.
PYINSTALLER_COOKIE = b"MEI\x0c\x0b\x0a\x0b\x0e"


@pytest.fixture(scope="module")
def deb() -> Path:
    return build_packages()


@pytest.fixture(scope="module")
def root(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lintian-root")
    extract(deb, root)
    return root


@pytest.fixture(scope="module")
def hints(deb: Path) -> list[str]:
    """lintian's output for the package, overridden hints (``O:``) and info (``I:``) included.

    One run (minutes for a package this size) serves every check below.
    """
    if shutil.which("lintian") is None:
        pytest.fail("lintian is not installed: scripts/setup.sh --dev installs it (apt)")
    result = subprocess.run(
        [
            "lintian",
            "--fail-on",
            "none",
            "--no-tag-display-limit",
            "--no-cfg",
            "--display-info",
            "--show-overrides",
            str(deb),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_lintian_reports_nothing_beyond_the_overrides(hints: list[str]) -> None:
    found = [line for line in hints if re.match(r"^[EW]: ", line)]
    unexpected = [h for h in found if h.split()[2] not in ALLOWED]
    assert not unexpected, "lintian:\n" + "\n".join(unexpected[:60])
    # The overrides were read from the package (they are what hides the expected tags).
    assert any(line.startswith("O: ") for line in hints), "no overridden hint: overrides unread?"


def test_every_override_is_still_needed(hints: list[str]) -> None:
    """An override lintian no longer uses is a stale justification: drop it."""
    unused = [line for line in hints if "unused-override" in line]
    assert not unused, "\n".join(unused)


def _elf(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"\x7fELF"


def _has_symtab(path: Path) -> bool:
    out = subprocess.run(
        ["readelf", "-S", "-W", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return " .symtab " in out or " .debug_info " in out


def _strip_keeps_it_loadable(path: Path, tmp: Path) -> bool:
    copy = tmp / path.name
    shutil.copyfile(path, copy)
    subprocess.run(["strip", "--strip-unneeded", str(copy)], capture_output=True)
    return slim.loadable_segments(copy)


def test_libraries_are_stripped_and_0644_and_the_bootloaders_are_whole(
    root: Path, tmp_path: Path
) -> None:
    app = root / APP_REL
    libraries = [
        p
        for p in app.rglob("*.so*")
        if p.is_file() and not p.is_symlink() and _elf(p) and ".so" in p.name
    ]
    assert len(libraries) > 100, len(libraries)
    executable = [p for p in libraries if p.stat().st_mode & 0o111]
    assert not executable, executable[:5]
    # Left unstripped only where stripping would make the library unloadable.
    unstripped = [p for p in libraries if _has_symtab(p) and _strip_keeps_it_loadable(p, tmp_path)]
    assert not unstripped, unstripped[:5]
    for exe in (app / PACKAGE, app / "sidecar" / "litellm-bridge-sidecar"):
        assert exe.stat().st_mode & 0o777 == 0o755, exe
        data = exe.read_bytes()
        # The archive (and the cookie that ends it) is still appended to the bootloader.
        assert PYINSTALLER_COOKIE in data[-4096:], f"{exe}: PyInstaller archive cut off"


def test_stripped_programs_still_start(root: Path, tmp_path: Path) -> None:
    """The stripped libraries load: the frozen agent imports every command's modules.

    (The stripped sidecar starting and passing its integrity check is test_package.py's.)
    """
    app = root / APP_REL
    env = {**os.environ, "LITELLM_BRIDGE_HOME": str(tmp_path)}
    agent = subprocess.run(
        [str(app / PACKAGE), "--version"], capture_output=True, text=True, timeout=120, env=env
    )
    assert agent.returncode == 0 and agent.stdout.startswith(PACKAGE), agent.stderr
    # Every command's module imports (keyring, cryptography, tuf, ...).
    helped = subprocess.run(
        [str(app / PACKAGE), "--help"], capture_output=True, text=True, timeout=120, env=env
    )
    assert helped.returncode == 0 and "COMMAND" in helped.stdout, helped.stderr


def test_doc_files_are_generated_for_this_package(root: Path, deb: Path) -> None:
    doc = root / "usr" / "share" / "doc" / PACKAGE
    copyright_text = (doc / "copyright").read_text()
    assert copyright_text.startswith("Format: https://www.debian.org/doc/packaging-manuals/")
    # Distributions of both programs, with the locked version.
    lock = Path(__file__).resolve().parents[2] / "requirements" / "run.lock"
    pins = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", lock.read_text(), re.M))
    for name in ("litellm", "cryptography", "keyring", "pystray"):
        assert f"Comment: Python distribution {name} {pins[name]}." in copyright_text, name
    changelog = gzip.decompress((doc / "changelog.gz").read_bytes()).decode()
    version = subprocess.run(
        ["dpkg-deb", "--field", str(deb), "Version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert changelog.startswith(f"{PACKAGE} ({version}) ")
    man = gzip.decompress((root / "usr/share/man/man1" / f"{PACKAGE}.1.gz").read_bytes())
    # Made from the real parser: subcommands and their options are in it.
    assert b".TH LITELLM\\-BRIDGE" in man and b"litellm\\-bridge doctor" in man
    overrides = root / "usr/share/lintian/overrides" / PACKAGE
    assert overrides.is_file()
    control = (root / "DEBIAN" / "control").read_text()
    assert "sensible-utils" in control and "xdg-utils" in control
    # The menu entry and icons rely on dpkg triggers, not on maintainer scripts.
    assert not (root / "DEBIAN" / "postinst").exists()
