"""The Debian package: the signed app folder under /opt, a launcher, a menu entry and icons.

Nothing starts at login unless the user turns autostart on in the app (it then writes its
own entry under ~/.config/autostart); the package installs no autostart file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

from installer.icon import SIZES, icon_png

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "litellm-bridge"
INSTALL_DIR = Path("opt") / PACKAGE
MAINTAINER = "LiteLLM Bridge maintainers <litellm-bridge@localhost>"
_GLIBC = re.compile(rb"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?\x00")
_ELF = b"\x7fELF"


def project_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def architecture() -> str:
    out = subprocess.run(
        ["dpkg", "--print-architecture"], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def required_glibc(root: Path) -> tuple[int, ...]:
    """The newest GLIBC symbol version any shipped ELF file asks for."""
    newest: tuple[int, ...] = (2, 17)
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            with open(path, "rb") as fh:
                if fh.read(4) != _ELF:
                    continue
                data = fh.read()
            for m in _GLIBC.finditer(data):
                version = tuple(int(g) for g in m.groups() if g is not None)
                newest = max(newest, version)
    return newest


def _link_tree(src: Path, dst: Path) -> None:
    """Hard-link ``src`` into ``dst`` (same file system; both live under build/)."""

    def link(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, symlinks=True, copy_function=link)


def control(version: str, arch: str, glibc: tuple[int, ...], installed_kb: int) -> str:
    glibc_text = ".".join(map(str, glibc))
    return "\n".join(
        [
            f"Package: {PACKAGE}",
            f"Version: {version}",
            f"Architecture: {arch}",
            f"Maintainer: {MAINTAINER}",
            f"Installed-Size: {installed_kb}",
            f"Depends: libc6 (>= {glibc_text})",
            "Recommends: gnome-keyring | kwalletmanager | keepassxc",
            "Section: devel",
            "Priority: optional",
            "Description: local LiteLLM proxy for internal-only LLM APIs",
            " A tray agent that runs a pre-packaged LiteLLM proxy on 127.0.0.1 so that coding",
            " CLIs (Claude Code, Gemini CLI, Codex, aider, SDKs) work with a company's internal",
            " LLM API: it keeps the internal token fresh and injects it into every request.",
            "",
        ]
    )


def _md5sums(root: Path) -> str:
    lines = []
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not (dirpath == str(root) and d == "DEBIAN"))
        for name in sorted(files):
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            lines.append(f"{digest}  {path.relative_to(root).as_posix()}\n")
    return "".join(lines)


def stage(app: Path, staging: Path, version: str, arch: str) -> Path:
    """Lay out the package's file system tree under ``staging``."""
    if staging.exists():
        shutil.rmtree(staging)
    _link_tree(app, staging / INSTALL_DIR)
    launcher = staging / "usr" / "bin" / PACKAGE
    launcher.parent.mkdir(parents=True)
    shutil.copyfile(ROOT / "installer" / "linux" / "launcher.sh", launcher)
    launcher.chmod(0o755)
    apps = staging / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    shutil.copyfile(
        ROOT / "installer" / "linux" / f"{PACKAGE}.desktop", apps / f"{PACKAGE}.desktop"
    )
    for size in SIZES:
        icon_png(
            size,
            staging / "usr/share/icons/hicolor" / f"{size}x{size}" / "apps" / f"{PACKAGE}.png",
            ROOT / "icons",
        )
    for dirpath, _dirs, files in os.walk(staging / "usr"):
        os.chmod(dirpath, 0o755)  # noqa: S103 -- installed folders are world-readable
        for name in files:
            path = Path(dirpath) / name
            if path != launcher:
                path.chmod(0o644)
    installed_kb = (
        sum((Path(d) / f).lstat().st_size for d, _, fs in os.walk(staging) for f in fs) // 1024
    )
    debian = staging / "DEBIAN"
    debian.mkdir(mode=0o755)
    glibc = required_glibc(staging / INSTALL_DIR)
    (debian / "control").write_text(control(version, arch, glibc, installed_kb))
    (debian / "md5sums").write_text(_md5sums(staging))
    for name in ("control", "md5sums"):
        (debian / name).chmod(0o644)
    return staging


def build_deb(app: Path, work: Path, dist: Path) -> Path:
    """Stage and pack ``app`` into ``dist/litellm-bridge_VERSION_ARCH.deb``."""
    version, arch = project_version(), architecture()
    staging = stage(app, work / "root", version, arch)
    out = dist / f"{PACKAGE}_{version}_{arch}.deb"
    out.unlink(missing_ok=True)
    # xz -6 for releases (Debian 11's dpkg cannot read zstd); tests ask for "gzip:1" (seconds).
    compression, _, level = os.environ.get("LITELLM_BRIDGE_DEB_COMPRESSION", "xz").partition(":")
    subprocess.run(
        [
            "dpkg-deb",
            "--root-owner-group",
            f"-Z{compression}",
            f"-z{level or 6}",
            "--build",
            str(staging),
            str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out
