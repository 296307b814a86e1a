from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers.wait import wait_until
from tray_agent.config.edit import EditorError, open_in_editor
from tray_agent.platform._xdg import editor_command as _editor_command

pytestmark = pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="xdg path")


def fake_editor(tmp_path: Path, name: str = "fake-editor") -> tuple[Path, Path]:
    marker = tmp_path / "opened"
    script = tmp_path / name
    release = tmp_path / "release"
    # The editor stays open until the test creates ``release`` (as long as a user edits).
    script.write_text(
        f'#!/bin/sh\necho "$@" > "{marker}"\n'
        f'i=0; while [ ! -e "{release}" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\n'
    )
    script.chmod(0o755)
    return script, marker


def test_opens_detached_without_waiting(tmp_path: Path) -> None:
    editor, marker = fake_editor(tmp_path)
    target = tmp_path / "config.yaml"
    target.write_text("x: 1\n")
    result: list[str] = []
    opener = threading.Thread(
        target=lambda: result.append(
            open_in_editor(target, {"VISUAL": str(editor), "PATH": os.environ["PATH"]})
        ),
        daemon=True,
    )
    opener.start()
    opener.join(30)
    try:
        # It returned while the editor is still open: it did not wait for the editor.
        assert result, "open_in_editor waited for the editor to close"
        assert "fake-editor" in result[0]
        wait_until(marker.exists, 30, "the editor to be started")
        assert marker.read_text().strip() == str(target)
    finally:
        (tmp_path / "release").touch()


def test_terminal_editor_without_display_falls_back(tmp_path: Path) -> None:
    assert _editor_command({"EDITOR": "vi", "PATH": os.environ["PATH"]}) is None


def test_terminal_editor_runs_in_a_terminal_when_there_is_a_display(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    term, _ = fake_editor(tmp_path, "xterm")
    vi, _ = fake_editor(tmp_path, "vi")
    monkeypatch.setenv("PATH", str(tmp_path))
    argv = _editor_command({"EDITOR": "vi", "DISPLAY": ":0"})
    assert argv == [str(term), "-e", "vi"]
    assert vi.exists()


def test_missing_file_and_no_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(EditorError):
        open_in_editor(tmp_path / "absent.yaml")
    target = tmp_path / "c.yaml"
    target.write_text("")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(EditorError, match=str(target)):
        open_in_editor(target, {"PATH": str(tmp_path / "empty")})
