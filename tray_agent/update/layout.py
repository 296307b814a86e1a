"""The per-user versions folder: ``versions/V/`` app folders and one ``state.json`` pointer.

``state.json`` names the current version, the ones before it, the bad ones and a version on
trial (switched to but not yet seen healthy). It is replaced atomically, so the switch is one
rename: a reader sees the old pointer or the new one, never a mix. A folder is named
``versions/V`` only once it is completely unpacked and verified (it is renamed from a
``.staging-*`` folder), so a killed install never leaves a selectable half version.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tray_agent import formats, fsutil
from tray_agent.update.names import VERSION_PATTERN

STATE_FORMAT = formats.UPDATE_STATE.current
KEEP_PREVIOUS = 2
STAGING_PREFIX = ".staging-"
_STATE_MAX = 256 * 1024


class UpdateStateError(Exception):
    """The versions state cannot be read or written; the message names the file."""


@dataclass
class Trial:
    version: str
    failures: int = 0


@dataclass
class State:
    current: str | None = None
    previous: list[str] = field(default_factory=list)
    bad: dict[str, str] = field(default_factory=dict)
    trial: Trial | None = None
    notice: str | None = None
    """A message for the user the next time one can be shown (a rollback happened)."""

    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, doc: Any, where: Path) -> State:
        if not isinstance(doc, dict):
            raise UpdateStateError(f"{where}: not a JSON object; remove it to start over")
        try:
            formats.check_format(doc, formats.UPDATE_STATE.name, where)
        except formats.FormatError as exc:
            raise UpdateStateError(str(exc)) from None
        try:
            trial = doc.get("trial")
            state = cls(
                current=_version_or_none(doc.get("current")),
                previous=[_version(v) for v in doc.get("previous", [])],
                bad={_version(k): str(v) for k, v in dict(doc.get("bad", {})).items()},
                trial=None
                if trial is None
                else Trial(_version(trial["version"]), int(trial["failures"])),
                notice=None if doc.get("notice") is None else str(doc["notice"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UpdateStateError(f"{where}: malformed ({exc}); remove it to start over") from None
        return state


def _version(value: Any) -> str:
    # Versions become folder names: only digits and dots, never a path.
    if not isinstance(value, str) or not VERSION_PATTERN.fullmatch(value):
        raise ValueError(f"bad version {value!r}")
    return value


def _version_or_none(value: Any) -> str | None:
    return None if value is None else _version(value)


class Layout:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "versions"
        self.state_file = self.root / "state.json"

    def folder(self, version: str) -> Path:
        return self.root / _version(version)

    def executable(self, version: str, name: str = "litellm-bridge") -> Path:
        return self.folder(version) / name

    def installed(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and VERSION_PATTERN.fullmatch(p.name)
        )

    def load(self) -> State:
        try:
            raw = fsutil.read_bytes_capped(self.state_file, _STATE_MAX, "update state")
        except FileNotFoundError:
            return State()
        except OSError as exc:
            raise UpdateStateError(f"{self.state_file}: {exc}") from None
        try:
            doc = json.loads(raw)
        except ValueError:
            raise UpdateStateError(
                f"{self.state_file}: not JSON; remove it to go back to the installed package"
            ) from None
        try:
            doc = formats.upgrade(doc, formats.UPDATE_STATE.name, self.state_file)
        except formats.FormatError as exc:
            raise UpdateStateError(str(exc)) from None
        except OSError as exc:
            raise UpdateStateError(f"{self.state_file}: {exc}") from None
        return State.from_json(doc, self.state_file)

    def save(self, state: State) -> None:
        fsutil.atomic_write(self.state_file, json.dumps(state.to_json(), indent=2) + "\n")

    @contextlib.contextmanager
    def editing(self) -> Iterator[State]:
        """Read, change and write the state under the cross-process lock."""
        self.root.mkdir(parents=True, exist_ok=True)
        with fsutil.locked(self.state_file, UpdateStateError):
            state = self.load()
            yield state
            self.save(state)

    def switch(self, state: State, version: str, trial: bool = True) -> None:
        """Make ``version`` current (in ``state``, saved by the caller's ``editing``)."""
        if state.current and state.current != version:
            state.previous = [state.current, *[v for v in state.previous if v != version]]
        state.previous = [v for v in state.previous if v != version]
        state.current = version
        state.trial = Trial(version) if trial else None

    def prune(self, state: State, keep_also: tuple[str, ...] = ()) -> list[str]:
        """Remove versions other than the current and the two before it; leftover staging
        folders of killed installs too. Returns the versions removed."""
        state.previous = state.previous[:KEEP_PREVIOUS]
        keep = {state.current, *state.previous, *keep_also}
        removed = []
        for version in self.installed():
            if version not in keep:
                shutil.rmtree(self.folder(version), ignore_errors=True)
                removed.append(version)
        for stale in self.root.glob(f"{STAGING_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        return removed
