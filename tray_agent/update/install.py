"""Install a verified release side by side: ``versions/V/``, then the atomic switch.

Order matters for an interrupted install (kill -9, full disk): download into a staging
folder (ngclient writes the archive only once its hash and length match), unpack there,
check the app's own signed manifest, rename the folder to ``versions/V`` (one rename), and
only then point ``state.json`` at it. Every step before the last leaves the running version
and the pointer untouched; a leftover staging folder is removed by the next install.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tray_agent import __version__, fsutil
from tray_agent.update.fetch import Client, Progress, Refused
from tray_agent.update.layout import STAGING_PREFIX, Layout
from tray_agent.update.names import APP_FOLDER, app_version
from tray_agent.update.source import Source

MAX_MEMBERS = 200_000


@dataclass
class Applied:
    version: str
    previous: str | None
    removed: list[str]


def metadata_dir(data_dir: Path) -> Path:
    return data_dir / "update" / "metadata"


def installed_version(layout: Layout) -> str:
    """The version updates are compared with: the newest of the current and the running one."""
    from tray_agent.update.names import newer

    current = layout.load().current
    if current and newer(current, __version__):
        return current
    return __version__


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Refuse anything that could write outside the staging folder or is not a plain file,
    folder or relative in-tree symlink (PyInstaller folders hold a few of those)."""
    members = tar.getmembers()
    if len(members) > MAX_MEMBERS:
        raise Refused("archive", f"the archive has {len(members)} entries: not an app folder")
    links: set[PurePosixPath] = set()
    for m in members:
        path = PurePosixPath(m.name)
        if path.is_absolute() or ".." in path.parts or path.parts[:1] != (APP_FOLDER,):
            raise Refused("archive", f"the archive holds {m.name!r}, outside {APP_FOLDER}/")
        # Nothing is written through a link the archive made: a chain of in-tree links
        # could otherwise reach the versions folder itself.
        if any(parent in links for parent in path.parents):
            raise Refused("archive", f"the archive writes {m.name!r} through a link")
        if m.issym():
            target = PurePosixPath(m.linkname)
            depth = len(path.parts) - 1
            ups = sum(1 for p in target.parts if p == "..")
            if target.is_absolute() or ups >= depth:
                raise Refused("archive", f"the archive's link {m.name} points outside the app")
            links.add(path)
        elif not (m.isfile() or m.isdir()):
            raise Refused("archive", f"the archive holds {m.name!r}, not a file or folder")
        m.mode = (m.mode & 0o755) | (0o700 if m.isdir() else 0o600)
        m.uid = m.gid = os.getuid() if hasattr(os, "getuid") else 0
    return members


def unpack(archive: Path, into: Path) -> Path:
    with tarfile.open(archive, "r:gz") as tar:
        members = _safe_members(tar)
        tar.extractall(into, members=members)  # noqa: S202 -- members checked above
    return into / APP_FOLDER


def verify_app(app: Path) -> None:
    """The unpacked app must carry a manifest signed with this build's key (the same check
    the agent makes on the sidecar before every launch), over every file."""
    if not getattr(sys, "frozen", False):
        return  # a run from source has no built-in key: TUF's hash is the whole check
    from tray_agent.integrity.verify import IntegrityError, verify_bundle

    try:
        verify_bundle(app)
    except IntegrityError as exc:
        raise Refused("manifest", f"the downloaded app failed its manifest check: {exc}") from None


def _fsync_tree(root: Path) -> None:
    # The rename to versions/V must not reach the disk before the files it names. Windows
    # cannot fsync a read-only handle: there a power cut just after an install can leave
    # damaged files, which the sidecar's manifest check and the trial start then catch.
    if os.name != "posix":
        return
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if path.is_symlink() or not stat.S_ISREG(path.lstat().st_mode):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def apply(
    source: Source, data_dir: Path, progress: Progress | None = None, client: Client | None = None
) -> Applied | None:
    """Download, verify, install and switch to the offered release; None when none is."""
    layout = Layout(data_dir)
    if source.mode == "off":
        raise Refused("off", f"updates are turned off (update.mode from {source.origin['mode']})")
    layout.root.mkdir(parents=True, exist_ok=True)
    with fsutil.locked(layout.root / "install", lambda m: Refused("busy", m)):
        client = client or Client(source, metadata_dir(data_dir))
        found = client.find(installed_version(layout))
        if found.available is None or found.target is None:
            return None
        version = found.available
        if version in layout.load().bad:
            raise Refused(
                "bad", f"{version} failed to start here before and is marked bad: not offered"
            )
        if not layout.folder(version).is_dir():
            staging = layout.root / f"{STAGING_PREFIX}{version}-{secrets.token_hex(4)}"
            staging.mkdir()
            try:
                archive = client.download(found.target, staging / "app.tar.gz", progress)
                app = unpack(archive, staging / "unpacked")
                inside = app_version(app)
                if inside != version:
                    raise Refused(
                        "archive",
                        f"the archive holds version {inside}, its metadata says {version}",
                    )
                verify_app(app)
                _fsync_tree(app)
                os.replace(app, layout.folder(version))
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        with layout.editing() as state:
            previous = state.current
            layout.switch(state, version)
            removed = layout.prune(state)
    from tray_agent.audit.action import note

    note("update.installed", version=version, previous=previous, removed=removed)
    return Applied(version, previous, removed)
