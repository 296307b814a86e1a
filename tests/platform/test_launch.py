"""The one launcher behind every desktop opener: detached, never waited for, and reaped."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.helpers.wait import wait_until
from tray_agent.config.edit import open_in_editor
from tray_agent.platform import desktop
from tray_agent.platform.launch import spawn_detached

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX zombies")


def reaped(pid: int) -> bool:
    """True once ``pid`` is gone entirely: a child nobody waited for stays a zombie."""
    try:
        psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    return False


def still_a_zombie_after(pid: int, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if reaped(pid):
            return False
        time.sleep(0.05)
    return True


def test_a_child_that_exits_at_once_is_reaped() -> None:
    proc = spawn_detached(["true"])
    assert not still_a_zombie_after(proc.pid, 10), "the launcher left a zombie behind"


def test_unreaped_children_are_what_the_check_catches() -> None:
    # The same child started without the launcher's reaper stays a zombie: the check above
    # can fail.
    import subprocess

    proc = subprocess.Popen(["true"])
    try:
        assert still_a_zombie_after(proc.pid, 1)
    finally:
        proc.wait()
    assert reaped(proc.pid)


def test_returns_while_the_child_runs_detached_in_its_own_session() -> None:
    began = time.monotonic()
    proc = spawn_detached([sys.executable, "-c", "import time; time.sleep(1.5)"])
    assert time.monotonic() - began < 1.0, "the launcher waited for the child"
    assert os.getsid(proc.pid) == proc.pid  # detached: leads a session of its own
    assert not still_a_zombie_after(proc.pid, 15)


def editor(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "opened"
    script = tmp_path / "short-editor"
    script.write_text(f'#!/bin/sh\necho "$@" > "{marker}"\n')
    script.chmod(0o755)
    return script, marker


@pytest.fixture
def xdg(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LITELLM_BRIDGE_DESKTOP", "xdg")
    desktop.backend.cache_clear()
    yield
    desktop.backend.cache_clear()


@pytest.mark.usefixtures("xdg")
def test_tray_and_config_edit_open_the_same_way_and_reap(tmp_path: Path) -> None:
    script, marker = editor(tmp_path)
    target = tmp_path / "config.yaml"
    target.write_text("x: 1\n")
    env = {"VISUAL": str(script), "PATH": os.environ["PATH"]}
    children_before = {c.pid for c in psutil.Process().children()}
    how_tray = desktop.edit_file(target, env)
    wait_until(marker.exists, 30, "the tray's editor to start")
    marker.unlink()
    how_cli = open_in_editor(target, env)
    wait_until(marker.exists, 30, "config edit's editor to start")
    assert how_tray == how_cli == "opened with short-editor"
    assert marker.read_text().strip() == str(target)
    # Both editors have exited: neither is left as a zombie child of this process.
    wait_until(
        lambda: (
            not [
                c
                for c in psutil.Process().children()
                if c.pid not in children_before and c.status() == psutil.STATUS_ZOMBIE
            ]
        ),
        15,
        "the editors to be reaped",
    )


@pytest.mark.usefixtures("xdg")
def test_open_folder_uses_xdg_open_and_reaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "shown"
    opener = bin_dir / "xdg-open"
    opener.write_text(f'#!/bin/sh\necho "$@" > "{marker}"\n')
    opener.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    children_before = {c.pid for c in psutil.Process().children()}
    desktop.open_folder(tmp_path)
    wait_until(marker.exists, 30, "xdg-open to run")
    assert marker.read_text().strip() == str(tmp_path)
    wait_until(
        lambda: not [c for c in psutil.Process().children() if c.pid not in children_before],
        15,
        "xdg-open to be reaped",
    )


@pytest.mark.usefixtures("xdg")
def test_nothing_to_open_with_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "c.yaml"
    target.write_text("")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(desktop.OpenerMissing, match=str(target)):
        desktop.edit_file(target, {"PATH": str(tmp_path / "empty")})
    with pytest.raises(desktop.OpenerMissing, match=str(tmp_path)):
        desktop.open_folder(tmp_path)
