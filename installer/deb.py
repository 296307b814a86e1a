"""The Debian package: the signed app folder under /opt, a launcher, a menu entry and icons.

Nothing starts at login unless the user turns autostart on in the app (it then writes its
own entry under ~/.config/autostart); the package installs no autostart file. The menu
entry and icons need no maintainer script: desktop-file-utils and the icon cache register
dpkg file triggers on /usr/share/applications and /usr/share/icons/hicolor.

Two builds of one commit give the same bytes: every member's time is ``SOURCE_DATE_EPOCH``
(the commit time), owners are root, modes are fixed, and dpkg-deb sorts the members.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

from installer.copyright import copyright_text
from installer.debian_docs import source_date_epoch, write_docs
from installer.icon import SIZES, icon_png

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "litellm-bridge"
INSTALL_DIR = Path("opt") / PACKAGE
# The company that ships the package sets its own (docs/PACKAGING.md).
MAINTAINER_ENV = "LITELLM_BRIDGE_DEB_MAINTAINER"
DEFAULT_MAINTAINER = "LiteLLM Bridge maintainers <litellm-bridge@example.com>"
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


def maintainer() -> str:
    value = os.environ.get(MAINTAINER_ENV, "").strip() or DEFAULT_MAINTAINER
    if not re.fullmatch(r"[^<>\n]+ <[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+>", value):
        raise ValueError(
            f"{MAINTAINER_ENV}={value!r}: write it as 'Name <mail@company.example>' "
            "(docs/PACKAGING.md, 'The .deb')"
        )
    return value


def control(version: str, arch: str, glibc: tuple[int, ...], installed_kb: int) -> str:
    glibc_text = ".".join(map(str, glibc))
    return "\n".join(
        [
            f"Package: {PACKAGE}",
            f"Version: {version}",
            f"Architecture: {arch}",
            f"Maintainer: {maintainer()}",
            f"Installed-Size: {installed_kb}",
            # xdg-open opens the config and log folders; the bundled libmount names
            # sensible-pager; the launcher is a POSIX shell script.
            f"Depends: libc6 (>= {glibc_text}), sensible-utils, xdg-utils",
            "Recommends: gnome-keyring | kwalletmanager | keepassxc, libnotify-bin",
            "Section: devel",
            "Priority: optional",
            "Homepage: https://github.com/BerriAI/litellm",
            "Description: local LiteLLM proxy for internal-only LLM APIs",
            " A tray agent that runs a pre-packaged LiteLLM proxy on 127.0.0.1 so",
            " that coding CLIs (Claude Code, Gemini CLI, Codex, aider, SDKs) work",
            " with a company's internal LLM API: it keeps the internal token fresh",
            " and injects it into every request.",
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


def link_duplicates(root: Path) -> int:
    """Hard-link files with the same bytes to one another; the bytes saved.

    The agent and the sidecar each carry their own copy of many libraries (libpython,
    OpenSSL, cryptography, ...). dpkg-deb stores a hard link once and dpkg installs it as a
    hard link, so the package and the installed folder hold each of them once. Every path
    still exists with the same bytes, so the signed manifest is unchanged.
    """
    first: dict[tuple[int, str], Path] = {}
    saved = 0
    for dirpath, dirnames, files in os.walk(root):
        dirnames.sort()
        for name in sorted(files):
            path = Path(dirpath) / name
            st = path.lstat()
            if path.is_symlink() or st.st_size < 4096:
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            original = first.setdefault((st.st_size, digest), path)
            if original == path or original.stat().st_ino == st.st_ino:
                continue
            if original.stat().st_mode != st.st_mode:
                continue  # one inode has one mode
            tmp = path.with_name(path.name + ".link")
            os.link(original, tmp)
            os.replace(tmp, path)
            saved += st.st_size
    return saved


def _stats(root: Path) -> list[os.stat_result]:
    return [(Path(d) / f).lstat() for d, _, fs in os.walk(root) for f in fs]


def _clamp_times(root: Path, epoch: int) -> None:
    """Every member's time is the commit's: nothing in the archive says when it was built."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            os.utime(Path(dirpath) / name, (epoch, epoch), follow_symlinks=False)
        os.utime(dirpath, (epoch, epoch))


def stage(
    app: Path, staging: Path, version: str, arch: str, modules: set[str] | None = None
) -> Path:
    """Lay out the package's file system tree under ``staging``."""
    if staging.exists():
        shutil.rmtree(staging)
    _link_tree(app, staging / INSTALL_DIR)
    # Relinking a staged name changes the staging folder only: the app folder keeps its files.
    link_duplicates(staging / INSTALL_DIR)
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
    who = maintainer()
    write_docs(staging, version, who, copyright_text(modules or set(), staging / INSTALL_DIR, who))
    for dirpath, _dirs, files in os.walk(staging / "usr"):
        os.chmod(dirpath, 0o755)  # noqa: S103 -- installed folders are world-readable
        for name in files:
            path = Path(dirpath) / name
            if path != launcher:
                path.chmod(0o644)
    inodes = {(st.st_ino, st.st_size) for st in _stats(staging)}
    installed_kb = sum(size for _ino, size in inodes) // 1024
    debian = staging / "DEBIAN"
    debian.mkdir(mode=0o755)
    glibc = required_glibc(staging / INSTALL_DIR)
    (debian / "control").write_text(control(version, arch, glibc, installed_kb))
    (debian / "md5sums").write_text(_md5sums(staging))
    for name in ("control", "md5sums"):
        (debian / name).chmod(0o644)
    _clamp_times(staging, source_date_epoch())
    return staging


def build_deb(app: Path, work: Path, dist: Path, modules: set[str] | None = None) -> Path:
    """Stage and pack ``app`` into ``dist/litellm-bridge_VERSION_ARCH.deb``.

    ``modules``: what the frozen programs hold, for the copyright file.
    """
    version, arch = project_version(), architecture()
    staging = stage(app, work / "root", version, arch, modules)
    out = dist / f"{PACKAGE}_{version}_{arch}.deb"
    out.unlink(missing_ok=True)
    # xz -9 for releases (Debian 11's dpkg cannot read zstd; -9's 64 MB window saves 2 MB over
    # -6 in about the same time); tests ask for "gzip:1" (seconds).
    compression, _, level = os.environ.get("LITELLM_BRIDGE_DEB_COMPRESSION", "xz").partition(":")
    subprocess.run(
        [
            "dpkg-deb",
            "--root-owner-group",
            f"-Z{compression}",
            f"-z{level or 9}",
            "--build",
            str(staging),
            str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "SOURCE_DATE_EPOCH": str(source_date_epoch())},
    )
    return out
