"""Replacing config.yaml safely: back up the file being replaced, then write the new one.

Shared by ``litellm-bridge init`` and the first-run wizard, so both pick backup names the
same way and hold the same lock; it lives below both (the wizard must not import commands).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from tray_agent.fsutil import atomic_write, file_lock


class ConfigWriteError(Exception):
    """The config (or its backup) could not be written; nothing or only the backup changed."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def backup_path(config: Path) -> Path:
    """``config.yaml.bak-YYYYmmdd-HHMMSS`` (with a counter when that name is taken)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = config.with_name(f"{config.name}.bak-{stamp}")
    n = 1
    while candidate.exists():
        candidate = config.with_name(f"{config.name}.bak-{stamp}-{n}")
        n += 1
    return candidate


def backup_config(config: Path) -> Path:
    """Copy ``config`` to a fresh ``backup_path`` (0600); returns the copy's path."""
    try:
        old = config.read_bytes()
    except OSError as exc:
        raise ConfigWriteError(
            f"cannot read {config} to back it up: {exc.strerror or exc}"
        ) from exc
    target = backup_path(config)
    try:
        atomic_write(target, old, mode=0o600)
    except OSError as exc:
        raise ConfigWriteError(f"{exc} (the backup of {config}); nothing was changed") from exc
    return target


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(file_lock(path))
        except OSError as exc:
            raise ConfigWriteError(f"cannot lock {path}: {exc.strerror or exc}") from exc
        yield


def replace_config(config: Path, text: str, force: bool) -> Path | None:
    """Write ``config``, backing up the file it replaces; returns the backup's path.

    Holds the config's lock from the check to the write, so two writers at once never
    pick the same backup name or replace the file between another's backup and write.
    """
    with _locked(config):
        backup = None
        if config.exists():
            if not force:
                raise ConfigWriteError(
                    f"{config} already exists; not replacing it",
                    hint="use --force to replace it (the current file is backed up first)",
                )
            backup = backup_config(config)
        try:
            atomic_write(config, text, mode=0o600)
        except OSError as exc:
            kept = f"; the previous file is intact (backup: {backup})" if backup else ""
            raise ConfigWriteError(f"{exc}{kept}") from exc
        return backup
