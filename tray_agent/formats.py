"""Format numbers of every file the product persists, and their forward-only migrations.

A rollback (``litellm-bridge update rollback``, or the automatic one after failed starts)
leaves the files a newer version wrote: this version must refuse such a file with what to
do, never misread it (or call it damaged and start over). An older file is upgraded on
read: the steps registered for its kind run one format at a time (n -> n+1, never back),
after a copy of the file as it was is kept next to it (``<file>.bak-format-N``).

Each kind keeps the key its files always had (``version`` in env.json, ``format`` in the
update state, ...): an earlier release reads that key to refuse a newer file, so renaming
it would make the old release misread the new one. A file without the key is format 1.

Crash safety: the backup and the migrated file are each written atomically, the backup
first, and the original is replaced only by the final write. Killed in between, the file
still holds its old format and is migrated again on the next read (a step is a pure
function of the document, so running it twice gives the same file).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tray_agent.fsutil import atomic_write

Step = Callable[[dict[str, Any]], dict[str, Any]]
BACKUP_SUFFIX = ".bak-format-"
WHAT_TO_DO = (
    "run the newer version again (`litellm-bridge update status` lists the installed "
    "versions; `litellm-bridge update apply` installs the newest), or move the file away "
    "to start this one afresh"
)


@dataclass(frozen=True)
class Kind:
    name: str
    what: str  # for messages: "the env store"
    current: int  # the newest format this version reads (and the one it writes)
    key: str = "format"  # the top-level key holding the number
    advice: str = WHAT_TO_DO  # what the user can do with a newer file


KINDS: dict[str, Kind] = {}
STEPS: dict[str, dict[int, Step]] = {}


def register_kind(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    STEPS.setdefault(kind.name, {})
    return kind


def register_step(kind: str, from_format: int, step: Step) -> None:
    """``step`` turns a document of ``from_format`` into one of ``from_format + 1``.

    Steps only go forward and up to the kind's current format: a version never writes a
    format it cannot read, and nothing ever converts a newer file down.
    """
    target = KINDS[kind]
    if not 1 <= from_format < target.current:
        raise ValueError(
            f"a {kind} step from format {from_format} must lead to at most {target.current}"
        )
    STEPS[kind][from_format] = step


# Every persisted file of the product. The numbers move only with a registered step.
CONFIG = register_kind(
    Kind(
        "config",
        "the bridge: section of config.yaml",
        1,
        advice="run the newer version again (`litellm-bridge update status` lists the "
        "installed versions), or change the bridge: section back to what this version reads",
    )
)
ENV = register_kind(Kind("env", "the env store", 1, key="version"))
ACCOUNT = register_kind(Kind("account", "the local account", 1, key="version"))
TOKEN_STATE = register_kind(Kind("token-state", "the token state", 1))
USAGE = register_kind(Kind("usage", "the usage book", 1, key="version"))
POLICY_RECORD = register_kind(Kind("policy-record", "the last good policy", 1, key="version"))
INTEGRITY_RECORD = register_kind(
    Kind("integrity-record", "the record of verified sidecar files", 1, key="version")
)
UPDATE_STATE = register_kind(
    Kind(
        "update-state",
        "the versions state",
        1,
        # The update commands read this very file: they cannot be the way out.
        advice="its format is newer than this version understands; start that version "
        "(its folder next to this file), or remove the file to go back to the installed "
        "package",
    )
)
AUDIT = register_kind(Kind("audit", "the audit log", 1))


def current(kind: str) -> int:
    """The format this version writes for ``kind``."""
    return KINDS[kind].current


class FormatError(Exception):
    """A file is in a format this version does not read; the message names the file,
    its format, what this version reads and what to do."""

    def __init__(self, path: Path | str, kind: str, found: object) -> None:
        self.path = Path(path)
        self.kind = kind
        self.found = found
        known = KINDS[kind]
        if isinstance(found, int) and not isinstance(found, bool) and found > known.current:
            text = (
                f"{path} ({known.what}) was written by a newer LiteLLM Bridge (format "
                f"{found}; this version reads up to {known.current}): {known.advice}"
            )
        else:
            text = (
                f"{path} ({known.what}) has no valid format number ({known.key}: "
                f"{found!r}; this version reads 1 to {known.current}): fix it or move it away"
            )
        super().__init__(text)


def format_of(doc: Any, kind: str) -> object:
    """The format number ``doc`` states (1 when it states none; the raw value when odd)."""
    if not isinstance(doc, dict):
        return 1
    return doc.get(KINDS[kind].key, 1)


def check_format(doc: Any, kind: str, path: Path | str) -> int:
    """The format of ``doc`` read from ``path``; ``FormatError`` unless this version reads it."""
    found = format_of(doc, kind)
    if isinstance(found, bool) or not isinstance(found, int) or found < 1:
        raise FormatError(path, kind, found)
    if found > KINDS[kind].current:
        raise FormatError(path, kind, found)
    return found


def backup_path(path: Path, fmt: int) -> Path:
    return path.with_name(f"{path.name}{BACKUP_SUFFIX}{fmt}")


def _file_mode(path: Path) -> int:
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(path).st_mode)
    return 0o600


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2) + "\n"


def upgrade(
    doc: Any,
    kind: str,
    path: Path | str,
    dump: Callable[[dict[str, Any]], str] = _dump,
) -> Any:
    """``doc`` (read from ``path``) in the current format of ``kind``, migrated on disk.

    A newer format raises ``FormatError``; the current one (or something that is not a
    JSON object: the reader reports that itself) is returned as is. An older one is backed
    up (the file's bytes as they are, same mode), stepped forward to the current format
    and written back with ``dump`` (the reader's own serialization).
    """
    fmt = check_format(doc, kind, path)
    known = KINDS[kind]
    if fmt == known.current or not isinstance(doc, dict):
        return doc
    target = Path(path)
    result = migrated(doc, kind, path)
    mode = _file_mode(target)
    atomic_write(backup_path(target, fmt), target.read_bytes(), mode=mode)
    atomic_write(target, dump(result), mode=mode)
    return result


def migrated(doc: Any, kind: str, path: Path | str) -> Any:
    """``doc`` stepped forward to the current format in memory (nothing written): what a
    reader uses when the migrated file cannot be written (a read-only or full disk)."""
    fmt = check_format(doc, kind, path)
    known = KINDS[kind]
    if fmt == known.current or not isinstance(doc, dict):
        return doc
    steps = STEPS[kind]
    missing = [n for n in range(fmt, known.current) if n not in steps]
    if missing:  # a programming error of this release, never the user's
        raise RuntimeError(f"no {kind} migration from format {missing[0]}")
    result = dict(doc)
    for n in range(fmt, known.current):
        result = steps[n](result)
        result[known.key] = n + 1
    return result
