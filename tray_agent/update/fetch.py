"""Check for and download a release through python-tuf's ngclient.

ngclient does every check of The Update Framework: signatures by the keys the trusted root
names (starting from the root the package ships), expiry, metadata versions never going back,
and the target's length and SHA-256. It saves metadata only after it verified it, so a refused
repository leaves the trusted copies as they were. This module adds the product's own rules
(size cap, no downgrade unless the policy pins a version) and names each refusal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse
from urllib.request import url2pathname

from tuf.api import exceptions
from tuf.api.metadata import TargetFile
from tuf.ngclient import FetcherInterface, Updater, UpdaterConfig, Urllib3Fetcher

from tray_agent.update.names import ROOT_FILE_NAME, SHIPPED_ROOT, newer, parse_version, target_name
from tray_agent.update.source import Source

MAX_TARGET_BYTES = 2 * 1024**3
"""The largest app archive accepted, whatever the signed metadata says (a full disk guard)."""
ROOT_ENV = "LITELLM_BRIDGE_UPDATE_TRUST_ROOT"
"""Development runs from source only: the root to trust (a frozen build uses its own)."""

Progress = Callable[[int, int], None]


class Refused(Exception):
    """The update was refused; ``kind`` names why (``signature``, ``hash``, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def shipped_root() -> bytes:
    """The root metadata this installation trusts first: the one beside the executable."""
    if getattr(sys, "frozen", False):
        path = Path(sys.executable).resolve().parent / SHIPPED_ROOT
    elif os.environ.get(ROOT_ENV):
        path = Path(os.environ[ROOT_ENV])
    else:
        hint = f"a run from source trusts no update repository: point {ROOT_ENV} at one"
        raise Refused("no-root", hint)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise Refused(
            "no-root", f"{path}: {exc.strerror or exc}: reinstall the package, it ships this file"
        ) from None


def _location(url: str) -> tuple[str, bool]:
    """``url`` as the base ngclient joins names to, and whether it is a local path."""
    if url.startswith(("http://", "https://")):
        return url.rstrip("/") + "/", False
    if url.startswith("file:"):
        return url.rstrip("/") + "/", True
    # A path or a UNC share (\\server\share\updates): a file URL the fetcher maps back.
    return Path(url).absolute().as_uri().rstrip("/") + "/", True


class FileFetcher(FetcherInterface):
    """Reads a repository from a folder or file share, in chunks like an HTTP download."""

    def _fetch(self, url: str) -> Iterator[bytes]:
        parts = urlparse(url)
        path = url2pathname(("//" + parts.netloc if parts.netloc else "") + parts.path)
        try:
            fh = open(path, "rb")  # noqa: SIM115 -- closed by the generator
        except FileNotFoundError:
            # ngclient reads "404" as "no newer root": the same meaning for a file share.
            raise exceptions.DownloadHTTPError(f"{path} does not exist", 404) from None
        except OSError as exc:
            raise exceptions.DownloadError(f"{path}: {exc.strerror or exc}") from None
        return self._chunks(fh)

    @staticmethod
    def _chunks(fh: BinaryIO) -> Iterator[bytes]:
        with fh:
            while chunk := fh.read(1 << 20):
                yield chunk


class _Reporting(FetcherInterface):
    """Wraps a fetcher to report the progress of one download (the progress bar)."""

    def __init__(self, inner: FetcherInterface) -> None:
        self.inner = inner
        self.progress: Progress | None = None
        self.total = 0

    def _fetch(self, url: str) -> Iterator[bytes]:
        done = 0
        for chunk in self.inner._fetch(url):
            done += len(chunk)
            if self.progress is not None:
                self.progress(done, self.total)
            yield chunk


@dataclass
class Found:
    current: str
    available: str | None
    target: TargetFile | None
    reason: str


def refusal(exc: Exception, url: str) -> Refused:
    """The user-facing refusal for an ngclient error."""
    where = f"the update repository {url}"
    if isinstance(exc, exceptions.UnsignedMetadataError):
        return Refused("signature", f"bad signature: {where}: {exc}; tell your administrator")
    if isinstance(exc, exceptions.ExpiredMetadataError):
        return Refused(
            "expired",
            f"expired metadata: {where}: {exc}; the administrator must re-sign it "
            "(python -m installer.release resign-timestamp)",
        )
    if isinstance(exc, exceptions.BadVersionNumberError):
        return Refused(
            "rollback",
            f"metadata older than already trusted (a replay or rollback): {where}: {exc}",
        )
    if isinstance(exc, exceptions.DownloadLengthMismatchError):
        return Refused("length", f"wrong length (larger than signed): {where}: {exc}")
    if isinstance(exc, exceptions.LengthOrHashMismatchError):
        return Refused("hash", f"wrong hash or length: {where}: {exc}")
    if isinstance(exc, exceptions.DownloadError):
        return Refused("unreachable", f"cannot reach {where}: {exc}")
    return Refused("repository", f"{where} failed verification: {exc}")


class Client:
    """One check (and optional download) against ``source``, trusting ``metadata_dir``."""

    def __init__(self, source: Source, metadata_dir: Path) -> None:
        if not source.url:
            raise Refused("no-source", "no update source: set update.url (docs/UPDATES.md)")
        self.source = source
        base, local = _location(source.url)
        metadata_dir.mkdir(parents=True, exist_ok=True)
        # The shipped root only the first time: afterwards the newest trusted root, so an old
        # package can never be pointed back at keys that were rotated out.
        have_root = (metadata_dir / ROOT_FILE_NAME).exists()
        self.fetcher = _Reporting(FileFetcher() if local else Urllib3Fetcher())
        try:
            self.updater = Updater(
                str(metadata_dir),
                base + "metadata/",
                target_base_url=base + "targets/",
                fetcher=self.fetcher,
                config=UpdaterConfig(app_user_agent="litellm-bridge"),
                bootstrap=None if have_root else shipped_root(),
            )
        except exceptions.RepositoryError as exc:
            raise refusal(exc, source.url) from None

    def find(self, installed: str) -> Found:
        """Refresh the metadata and pick the release to offer (None when none)."""
        name = target_name(self.source.pin)
        try:
            self.updater.refresh()
            target = self.updater.get_targetinfo(name)
        except (exceptions.RepositoryError, exceptions.DownloadError) as exc:
            raise refusal(exc, str(self.source.url)) from None
        if target is None:
            return Found(installed, None, None, f"the repository has no {name}")
        custom = target.unrecognized_fields.get("custom")
        version = custom.get("version") if isinstance(custom, dict) else None
        try:
            parse_version(str(version))
        except ValueError:
            raise Refused("repository", f"{name}: no release version in its metadata") from None
        version = str(version)
        if target.length > MAX_TARGET_BYTES:
            raise Refused(
                "oversized",
                f"oversized: {name} is {target.length} bytes, over the limit "
                f"{MAX_TARGET_BYTES}; nothing was downloaded",
            )
        if version == installed:
            return Found(installed, None, target, f"{installed} is the newest release")
        if not newer(version, installed) and self.source.pin != version:
            raise Refused(
                "downgrade",
                f"downgrade refused: the repository offers {version}, older than the installed "
                f"{installed} (an administrator can pin a version in the policy: update.version)",
            )
        return Found(installed, version, target, "")

    def download(self, target: TargetFile, dest: Path, progress: Progress | None = None) -> Path:
        """Download and verify ``target`` into ``dest`` (written only once verified)."""
        self.fetcher.progress, self.fetcher.total = progress, target.length
        try:
            return Path(self.updater.download_target(target, str(dest)))
        except (exceptions.RepositoryError, exceptions.DownloadError) as exc:
            raise refusal(exc, str(self.source.url)) from None
        finally:
            self.fetcher.progress = None
