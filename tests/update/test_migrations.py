"""The migration runner (``tray_agent.formats``): backup first, forward only, idempotent, and
a kill -9 between the backup and the write leaves a file that still reads.

No product format needs a step yet, so the steps here are registered by the tests (on a
kind of their own, and on the env store's kind with its number raised for one test)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tray_agent import formats
from tray_agent.envstore.store import EnvStore
from tray_agent.formats import FormatError, Kind

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KIND = "test-notes"


def _rename(doc: dict[str, Any]) -> dict[str, Any]:
    """1 -> 2: ``text`` became ``body``."""
    out = {k: v for k, v in doc.items() if k != "text"}
    out["body"] = doc.get("text", "")
    return out


def _tag(doc: dict[str, Any]) -> dict[str, Any]:
    """2 -> 3: every note gets its tags (none before)."""
    return {**doc, "tags": doc.get("tags", [])}


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """A kind at format 3 with steps 1 -> 2 -> 3; yields the formats each call started at."""
    calls: list[int] = []
    monkeypatch.setitem(formats.KINDS, KIND, Kind(KIND, "the test notes", 3))
    monkeypatch.setitem(formats.STEPS, KIND, {})

    def counted(n: int, step: formats.Step) -> formats.Step:
        def run(doc: dict[str, Any]) -> dict[str, Any]:
            calls.append(n)
            return step(doc)

        return run

    formats.register_step(KIND, 1, counted(1, _rename))
    formats.register_step(KIND, 2, counted(2, _tag))
    yield calls


def _read(path: Path) -> Any:
    return formats.upgrade(json.loads(path.read_text()), KIND, path)


def test_an_older_file_is_backed_up_then_stepped_forward(steps: list[int], tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    original = json.dumps({"format": 1, "text": "keep me", "pinned": True}).encode()
    path.write_bytes(original)
    os.chmod(path, 0o640)
    doc = _read(path)
    assert doc == {"format": 3, "body": "keep me", "pinned": True, "tags": []}
    assert steps == [1, 2]
    assert json.loads(path.read_text()) == doc  # written back
    backup = formats.backup_path(path, 1)
    assert backup.name == "notes.json.bak-format-1" and backup.read_bytes() == original
    assert (backup.stat().st_mode & 0o777) == (path.stat().st_mode & 0o777) == 0o640


def test_a_file_without_a_number_is_format_1(steps: list[int], tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text(json.dumps({"text": "from before numbers"}))
    assert _read(path)["body"] == "from before numbers" and steps == [1, 2]
    assert formats.backup_path(path, 1).is_file()


def test_migrating_again_changes_nothing(steps: list[int], tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    path = tmp_path / "d" / "notes.json"
    path.write_text(json.dumps({"format": 2, "body": "halfway"}))
    first = _read(path)
    after, backup = path.read_bytes(), formats.backup_path(path, 2)
    stamp = backup.stat().st_mtime_ns
    assert _read(path) == first and steps == [2]  # no step ran the second time
    assert path.read_bytes() == after and backup.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "notes.json",
        "notes.json.bak-format-2",
    ]


def test_migrations_only_go_forward(steps: list[int], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at most 3"):
        formats.register_step(KIND, 3, _tag)  # 3 -> 4: a format this version cannot read
    with pytest.raises(ValueError):
        formats.register_step(KIND, 0, _tag)
    path = tmp_path / "notes.json"
    newer = json.dumps({"format": 4, "body": "from the future"})
    path.write_text(newer)
    with pytest.raises(FormatError) as info:
        _read(path)
    assert str(info.value) == (
        f"{path} (the test notes) was written by a newer LiteLLM Bridge (format 4; this "
        f"version reads up to 3): {formats.WHAT_TO_DO}"
    )
    assert path.read_text() == newer and steps == []
    assert not formats.backup_path(path, 4).exists()


@pytest.mark.parametrize("value", ["2", 0, -1, True, None, 1.5])
def test_a_format_that_is_no_number_is_refused(value: object, tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="has no valid format number"):
        formats.check_format({"version": value}, formats.ENV.name, tmp_path / "env.json")


CRASH = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path
    from tray_agent import formats

    formats.register_kind(formats.Kind("test-notes", "the test notes", 2))
    formats.register_step("test-notes", 1, lambda d: {"body": d["text"]})
    real = formats.atomic_write

    def write(path, data, mode=0o600):
        real(path, data, mode=mode)
        if ".bak-format-" in str(path):  # the backup is on disk, the migrated file is not
            os.kill(os.getpid(), signal.SIGKILL)

    formats.atomic_write = write
    path = Path(sys.argv[1])
    formats.upgrade(json.loads(path.read_text()), "test-notes", path)
    """
)


def test_kill_9_between_backup_and_write_leaves_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    original = json.dumps({"format": 1, "text": "survives"})
    path.write_text(original)
    child = subprocess.run(
        [sys.executable, "-c", CRASH, str(path)], capture_output=True, text=True, timeout=60
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert formats.backup_path(path, 1).read_text() == original
    assert path.read_text() == original  # untouched: still the old format, still readable
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # The next read migrates it (here: the same step, registered by this process).
    kind = Kind("test-notes", "the test notes", 2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(formats.KINDS, kind.name, kind)
        mp.setitem(formats.STEPS, kind.name, {1: lambda d: {"body": d["text"]}})
        assert _read(path) == {"format": 2, "body": "survives"}
    assert formats.backup_path(path, 1).read_text() == original


def test_a_real_reader_migrates_a_release_file_on_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The env store of the 0.1.0 fixtures, read by a version whose env format is 2."""
    path = tmp_path / "env.json"
    shutil.copy(FIXTURES / "0.1.0" / "env.json", path)
    original = path.read_bytes()
    env = formats.ENV
    monkeypatch.setitem(formats.KINDS, env.name, Kind(env.name, env.what, 2, key=env.key))
    monkeypatch.setitem(formats.STEPS, env.name, {1: lambda d: {**d, "note": "migrated"}})
    entries = {e.name: e for e in EnvStore(path).entries()}
    assert {n: e.value for n, e in entries.items()} == json.loads(
        (FIXTURES / "0.1.0" / "expected.json").read_text()
    )["env"]
    assert entries["NO_PROXY"].enabled is False
    on_disk = json.loads(path.read_text())
    assert on_disk["version"] == 2 and on_disk["note"] == "migrated"
    assert formats.backup_path(path, 1).read_bytes() == original
    # What this older code would make of the migrated file: refused, not misread.
    monkeypatch.setitem(formats.KINDS, env.name, env)
    with pytest.raises(Exception, match=r"written by a newer LiteLLM Bridge \(format 2"):
        EnvStore(path).entries()
