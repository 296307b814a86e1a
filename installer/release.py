"""Publish the built app as a signed update (The Update Framework) into a static repository.

    python -m installer.release publish --repo DIR [--version V] [--app FOLDER]
    python -m installer.release resign-timestamp --repo DIR [--days N]
    python -m installer.release init-root --out FILE       # company keys: the root to ship

DIR gets ``metadata/`` (root, targets, snapshot, timestamp; consistent snapshots, so a client
downloading while a new release is published still gets matching files) and ``targets/``.
Any static HTTP server or file share can serve it. Keys: ``installer/update_keys.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tarfile
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from securesystemslib.signer import Signer
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from installer import keys, update_keys
from installer.update_keys import ROLES, UpdateKeyError
from tray_agent.update.names import (
    ROOT_FILE_NAME,
    VERSION_PATTERN,
    app_version,
    target_name,
)

# Close to TUF practice: the offline root rarely, the online timestamp every few days.
EXPIRY_DAYS = {"root": 365, "targets": 90, "snapshot": 21, "timestamp": 3}
_SERIALIZER = JSONSerializer(compact=False)
_VERSION_LINE = re.compile(r'^__version__ = "[^"]*"$', re.MULTILINE)


class ReleaseError(Exception):
    """Publishing cannot go on; the message says what to fix."""


def _expiry(role: str, days: float | None = None) -> datetime:
    delta = timedelta(days=EXPIRY_DAYS[role] if days is None else days)
    return (datetime.now(UTC) + delta).replace(microsecond=0)


def _write(md: Metadata[Any], path: Path) -> None:
    """Write ``md`` atomically: a client never reads a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    md.to_file(str(tmp), _SERIALIZER)
    os.replace(tmp, path)


def new_root(signers: dict[str, Signer]) -> Metadata[Root]:
    root = Root(expires=_expiry("root"), consistent_snapshot=True)
    for role in ROLES:
        root.add_key(signers[role].public_key, role)
    md = Metadata(root)
    md.sign(signers["root"])
    return md


def shipped_root() -> bytes:
    """The ``root.json`` a package ships: the company's (LITELLM_BRIDGE_UPDATE_ROOT) or the
    development root of the build cache, made on first use."""
    configured = os.environ.get(update_keys.ROOT_ENV)
    if configured:
        try:
            return Path(configured).read_bytes()
        except OSError as exc:
            raise UpdateKeyError(f"{update_keys.ROOT_ENV}={configured}: {exc}") from None
    if os.environ.get(update_keys.KEY_DIR_ENV):
        raise UpdateKeyError(
            f"{update_keys.KEY_DIR_ENV} is set but {update_keys.ROOT_ENV} is not: make the root "
            f"with `python -m installer.release init-root` and name it ({update_keys.DOC})"
        )
    path = update_keys.dev_dir() / ROOT_FILE_NAME
    if not path.exists():
        _write(new_root(update_keys.signers()), path)
        print(f"release: made a development update root in {path}", file=sys.stderr)
    return path.read_bytes()


class Repository:
    """The TUF repository in ``folder``: its newest metadata, loaded from disk."""

    def __init__(self, folder: Path, signers: dict[str, Signer]) -> None:
        self.folder = folder
        self.meta = folder / "metadata"
        self.targets_dir = folder / "targets"
        self.signers = signers
        if not (self.meta / ROOT_FILE_NAME).exists():
            self._create()
        self.root: Metadata[Root] = Metadata.from_file(str(self.meta / ROOT_FILE_NAME))
        self._check_keys()

    def _create(self) -> None:
        self.meta.mkdir(parents=True, exist_ok=True)
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        root_bytes = shipped_root()
        root: Metadata[Root] = Metadata.from_bytes(root_bytes)
        root.verify_delegate("root", root)
        (self.meta / f"{root.signed.version}.root.json").write_bytes(root_bytes)
        (self.meta / ROOT_FILE_NAME).write_bytes(root_bytes)
        targets = Metadata(Targets(expires=_expiry("targets")))
        snapshot = Metadata(Snapshot(expires=_expiry("snapshot")))
        targets.sign(self.signers["targets"])
        snapshot.signed.meta["targets.json"] = MetaFile(version=targets.signed.version)
        snapshot.sign(self.signers["snapshot"])
        timestamp = Metadata(Timestamp(expires=_expiry("timestamp")))
        timestamp.signed.snapshot_meta = MetaFile(version=snapshot.signed.version)
        timestamp.sign(self.signers["timestamp"])
        _write(targets, self.meta / "1.targets.json")
        _write(snapshot, self.meta / "1.snapshot.json")
        _write(timestamp, self.meta / "timestamp.json")
        print(f"release: created an update repository in {self.folder}", file=sys.stderr)

    def _check_keys(self) -> None:
        """Refuse to sign with keys the repository's root does not name: clients would
        refuse every file, long after the publish looked fine."""
        for role in ROLES:
            if self.signers[role].public_key.keyid not in self.root.signed.roles[role].keyids:
                raise UpdateKeyError(
                    f"the {role} key is not one {self.meta / ROOT_FILE_NAME} trusts: publish "
                    f"with the keys this repository was created with ({update_keys.DOC})"
                )

    def load(self, role: str) -> Metadata[Any]:
        if role == "timestamp":
            return Metadata.from_file(str(self.meta / "timestamp.json"))
        if role == "snapshot":
            version = self.load("timestamp").signed.snapshot_meta.version
        else:
            version = self.load("snapshot").signed.meta[f"{role}.json"].version
        return Metadata.from_file(str(self.meta / f"{version}.{role}.json"))

    def sign_timestamp(self, snapshot_version: int, days: float | None = None) -> int:
        timestamp: Metadata[Timestamp] = self.load("timestamp")
        timestamp.signed.version += 1
        timestamp.signed.expires = _expiry("timestamp", days)
        timestamp.signed.snapshot_meta = MetaFile(version=snapshot_version)
        timestamp.signatures.clear()
        timestamp.sign(self.signers["timestamp"])
        # Last: clients see the release only once this file changes.
        _write(timestamp, self.meta / "timestamp.json")
        return timestamp.signed.version

    def add_target(self, archive: Path, version: str, expiry: dict[str, float]) -> list[str]:
        """Add ``archive`` as the newest release (and under its own versioned name)."""
        targets: Metadata[Targets] = self.load("targets")
        names = [target_name(None), target_name(version)]
        for existing in targets.signed.targets.values():
            if existing.path == names[1]:
                raise ReleaseError(
                    f"version {version} is already published in {self.folder}; publish a "
                    "higher version (--version)"
                )
        for name in names:
            info = TargetFile.from_file(name, str(archive), ["sha256"])
            info.unrecognized_fields["custom"] = {"version": version}
            targets.signed.targets[name] = info
            folder, base = os.path.split(name)
            dest = self.targets_dir / folder / f"{info.hashes['sha256']}.{base}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():
                tmp = dest.with_name(f".{dest.name}.tmp")
                shutil.copyfile(archive, tmp)
                os.replace(tmp, dest)
        targets.signed.version += 1
        targets.signed.expires = _expiry("targets", expiry.get("targets"))
        targets.signatures.clear()
        targets.sign(self.signers["targets"])
        _write(targets, self.meta / f"{targets.signed.version}.targets.json")
        snapshot: Metadata[Snapshot] = self.load("snapshot")
        snapshot.signed.version += 1
        snapshot.signed.expires = _expiry("snapshot", expiry.get("snapshot"))
        snapshot.signed.meta["targets.json"] = MetaFile(version=targets.signed.version)
        snapshot.signatures.clear()
        snapshot.sign(self.signers["snapshot"])
        _write(snapshot, self.meta / f"{snapshot.signed.version}.snapshot.json")
        self.sign_timestamp(snapshot.signed.version, expiry.get("timestamp"))
        return names


def versioned_copy(app: Path, version: str, work: Path) -> Path:
    """A copy of ``app`` whose version is ``version``, its manifest signed again."""
    from installer.sign import sign_bundle

    copy = work / "litellm-bridge"
    shutil.copytree(app, copy, symlinks=True)
    init = copy / "_internal" / "app" / "tray_agent" / "__init__.py"
    text = init.read_text()
    if not _VERSION_LINE.search(text):
        raise ReleaseError(f"{init}: no __version__ line to set")
    init.write_text(_VERSION_LINE.sub(f'__version__ = "{version}"', text, count=1))
    key, _origin = keys.signing_key(update_keys.cache() / "keys")
    sign_bundle(copy, key)
    return copy


def archive_app(app: Path, out: Path, level: int) -> Path:
    """``app`` as a tar.gz with ``litellm-bridge/`` at its top, members in a stable order."""

    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(out, "w:gz", compresslevel=level) as tar:
        tar.add(app, arcname="litellm-bridge", filter=clean)
    return out


def publish(
    repo: Path,
    app: Path,
    version: str | None = None,
    expiry: dict[str, float] | None = None,
    level: int = 6,
) -> tuple[str, list[str]]:
    if not (app / "manifest.json").is_file():
        raise ReleaseError(f"{app} is not a built app folder: run `make package` first")
    repository = Repository(repo, update_keys.signers())
    with tempfile.TemporaryDirectory(dir=repo, prefix=".publish-") as tmp:
        work = Path(tmp)
        if version is not None:
            if not VERSION_PATTERN.fullmatch(version):
                raise ReleaseError(f"--version {version!r}: use digits and dots (e.g. 0.2.0)")
            app = versioned_copy(app, version, work)
        found = app_version(app)
        if found is None:
            raise ReleaseError(f"{app}: cannot read the app's version")
        archive = archive_app(app, work / f"litellm-bridge-{found}.tar.gz", level)
        names = repository.add_target(archive, found, expiry or {})
    return found, names


def _expiry_args(values: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for value in values:
        role, _, days = value.partition("=")
        if role not in EXPIRY_DAYS or role == "root":
            raise ReleaseError(f"--expires {value}: ROLE=DAYS with targets, snapshot, timestamp")
        out[role] = float(days)
    return out


def main(argv: list[str] | None = None) -> int:
    from installer.build import BUILD, DIST

    parser = argparse.ArgumentParser(prog="installer.release", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("publish", help="add the built app as the newest release")
    p.add_argument("--repo", type=Path, required=True)
    p.add_argument("--version", help="publish a copy set to this version (re-signed)")
    p.add_argument("--app", type=Path, default=BUILD / "app" / "litellm-bridge")
    p.add_argument("--expires", action="append", default=[], metavar="ROLE=DAYS")
    p.add_argument("--compression-level", type=int, default=6, choices=range(1, 10))
    t = sub.add_parser("resign-timestamp", help="sign the timestamp again with a new expiry")
    t.add_argument("--repo", type=Path, required=True)
    t.add_argument("--days", type=float, default=None)
    r = sub.add_parser("init-root", help="write the root metadata for the configured keys")
    r.add_argument("--out", type=Path, default=DIST / ROOT_FILE_NAME)
    args = parser.parse_args(argv)
    try:
        if args.command == "publish":
            found, names = publish(
                args.repo,
                args.app,
                args.version,
                _expiry_args(args.expires),
                args.compression_level,
            )
            print(f"release: published {found} as {', '.join(names)} in {args.repo}")
        elif args.command == "resign-timestamp":
            repository = Repository(args.repo, update_keys.signers())
            snapshot = repository.load("timestamp").signed.snapshot_meta.version
            version = repository.sign_timestamp(snapshot, args.days)
            print(f"release: timestamp version {version} signed in {args.repo}")
        else:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            _write(new_root(update_keys.signers()), args.out)
            print(f"release: wrote {args.out}; build with {update_keys.ROOT_ENV}={args.out}")
    except (ReleaseError, UpdateKeyError, OSError) as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
