"""Plan, show, apply and undo a client setup; the same for every tool.

``setup`` backs up every file it is about to change into
``<data dir>/client-backups/<client>/<timestamp>/`` (bytes and mode, or "did not exist"),
then writes atomically. ``restore`` puts the newest backup back byte for byte (removing
files that did not exist) and drops it, so repeated restores walk back through setups.
Restore refuses when a file changed since setup, unless forced: the user's later edits
would be lost otherwise.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tray_agent.clients.base import ClientSetup, FileSpec, Target
from tray_agent.clients.errors import ClientsError, locked
from tray_agent.clients.formats import FORMATS, apply_values, values_present
from tray_agent.clients.loop import check_no_self_loop
from tray_agent.fsutil import atomic_write
from tray_agent.paths import Paths

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class FileChange:
    spec: FileSpec
    before: bytes | None  # None: the file does not exist
    after: bytes

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class SetupPlan:
    client: ClientSetup
    target: Target
    changes: list[FileChange]

    @property
    def changed(self) -> bool:
        return any(c.changed for c in self.changes)

    def diff(self) -> str:
        """A unified diff of every change, with the key masked."""
        out: list[str] = []
        for change in self.changes:
            if not change.changed:
                continue
            before = _text(change.before or b"")
            after = _text(change.after)
            path = str(change.spec.path)
            out.extend(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=path if change.before is not None else "/dev/null",
                    tofile=path,
                )
            )
            if out and not out[-1].endswith("\n"):
                out[-1] += "\n\\ No newline at end of file\n"
        text = "".join(out)
        return mask(text, self.target.key)


def mask(text: str, key: str) -> str:
    return text.replace(key, "****") if key else text


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ClientsError(f"cannot read {path}: {exc.strerror or exc}") from exc


def plan_setup(
    client: ClientSetup, target: Target, environ: dict[str, str] | None = None
) -> SetupPlan:
    """What setup would write; refuses (SelfLoopError) when the bridge would call itself."""
    check_no_self_loop(
        target.url, target.paths.config_file, os.environ if environ is None else environ
    )
    changes: list[FileChange] = []
    for spec in client.files(target):
        before = _read(spec.path)
        text = "" if before is None else _text(before)
        fmt = FORMATS[spec.format]()
        after_text = apply_values(fmt, text, spec.values, str(spec.path))
        after = before if before is not None and after_text == text else after_text.encode()
        assert after is not None
        changes.append(FileChange(spec, before, after))
    return SetupPlan(client, target, changes)


@contextlib.contextmanager
def _client_lock(paths: Paths, client_name: str) -> Iterator[None]:
    """One setup or restore of a client at a time, across processes."""
    with locked(backups_root(paths, client_name)):
        yield


def apply_setup(plan: SetupPlan) -> Path | None:
    """Back up, then write every changed file; returns the backup directory (None: no change)."""
    if not plan.changed:
        return None
    with _client_lock(plan.target.paths, plan.client.name):
        # A file changed since it was planned would be overwritten with a stale merge, and
        # its backup would not hold what the user had: refuse and let them run it again.
        moved = [
            str(c.spec.path) for c in plan.changes if c.changed and _read(c.spec.path) != c.before
        ]
        if moved:
            raise ClientsError(
                "changed while the setup was being prepared: " + ", ".join(moved),
                hint=f"run the setup of {plan.client.name} again",
            )
        try:
            return _apply_locked(plan)
        except OSError as exc:
            raise ClientsError(str(exc)) from exc


def _apply_locked(plan: SetupPlan) -> Path:
    backup = _new_backup_dir(plan.target.paths, plan.client.name)
    entries = []
    for i, change in enumerate(plan.changes):
        if not change.changed:
            continue
        entry: dict[str, object] = {
            "path": str(change.spec.path),
            "existed": change.before is not None,
        }
        if change.before is not None:
            name = f"{i}-{change.spec.path.name}"
            (backup / name).write_bytes(change.before)
            os.chmod(backup / name, 0o600)
            entry["backup"] = name
            entry["mode"] = stat.S_IMODE(change.spec.path.stat().st_mode)
        else:
            entry["created_dirs"] = [str(d) for d in _missing_parents(change.spec.path)]
        entry["after_sha256"] = hashlib.sha256(change.after).hexdigest()
        entries.append(entry)
    manifest = {"client": plan.client.name, "created": time.time(), "files": entries}
    atomic_write(backup / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    for change in plan.changes:
        if change.changed:
            mode = _mode_for(change)
            atomic_write(change.spec.path, change.after, mode=mode)
    return backup


def _missing_parents(path: Path) -> list[Path]:
    """Directories above ``path`` that do not exist yet, deepest first."""
    missing = []
    for parent in path.parents:
        if parent.exists():
            break
        missing.append(parent)
    return missing


def _mode_for(change: FileChange) -> int:
    if change.spec.secret:
        return 0o600
    if change.before is not None:
        with contextlib.suppress(OSError):
            return stat.S_IMODE(change.spec.path.stat().st_mode)
    return 0o600


def backups_root(paths: Paths, client_name: str) -> Path:
    return paths.data_dir / "client-backups" / client_name


def _new_backup_dir(paths: Paths, client_name: str) -> Path:
    root = backups_root(paths, client_name)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime())
    for n in range(1000):
        candidate = root / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            candidate.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return candidate
    raise ClientsError(f"cannot create a backup directory under {root}")


def latest_backup(paths: Paths, client_name: str) -> Path | None:
    root = backups_root(paths, client_name)
    if not root.is_dir():
        return None
    sets = [d for d in root.iterdir() if (d / MANIFEST).is_file()]
    if not sets:
        return None
    return max(sets, key=lambda d: (json.loads((d / MANIFEST).read_text())["created"], d.name))


def restore(paths: Paths, client: ClientSetup, force: bool = False) -> list[str]:
    """Undo the newest setup of ``client``; returns one line per file restored or removed."""
    with _client_lock(paths, client.name):
        try:
            return _restore_locked(paths, client, force)
        except OSError as exc:
            raise ClientsError(str(exc)) from exc


def _restore_locked(paths: Paths, client: ClientSetup, force: bool) -> list[str]:
    backup = latest_backup(paths, client.name)
    if backup is None:
        raise ClientsError(f"nothing to restore for {client.name}: no setup backup found")
    manifest = json.loads((backup / MANIFEST).read_text())
    files = manifest["files"]
    if not force:
        edited = []
        for entry in files:
            current = _read(Path(entry["path"]))
            digest = None if current is None else hashlib.sha256(current).hexdigest()
            if digest != entry["after_sha256"]:
                edited.append(entry["path"])
        if edited:
            raise ClientsError(
                "changed since setup (restoring would lose those changes): " + ", ".join(edited),
                hint=f"backup is in {backup}; run restore with --force to restore anyway",
            )
    done = []
    for entry in files:
        path = Path(entry["path"])
        if entry["existed"]:
            atomic_write(path, (backup / entry["backup"]).read_bytes(), mode=entry["mode"])
            done.append(f"restored {path}")
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            for d in entry.get("created_dirs", []):
                with contextlib.suppress(OSError):  # not empty: the tool wrote there since
                    Path(d).rmdir()
            done.append(f"removed {path} (it did not exist before setup)")
    shutil.rmtree(backup)
    return done


def is_configured(client: ClientSetup, target: Target) -> bool:
    """Whether every file already holds every value setup would write."""
    for spec in client.files(target):
        data = _read(spec.path)
        if data is None or not values_present(FORMATS[spec.format](), _text(data), spec.values):
            return False
    return True
