"""The config watcher with real files: events debounced into one report, and an edit the OS
never reported (made before the watch was in place) still found by the periodic check."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.helpers.wait import wait_until
from tray_agent.core.watcher import FileWatcher


def _watch(path: Path, poll: float) -> tuple[FileWatcher, list[tuple[str, ...]]]:
    seen: list[tuple[str, ...]] = []
    lock = threading.Lock()

    def changed(paths: tuple[str, ...]) -> None:
        with lock:
            seen.append(paths)

    return FileWatcher([path], changed, poll=poll), seen


def test_an_edit_before_the_watch_started_is_still_reported(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("a: 1\n")
    watcher, seen = _watch(config, poll=0.5)
    config.write_text("a: 2\n")  # after the hash was taken, before any event can be seen
    watcher.start()
    try:
        wait_until(lambda: seen, 10, "the edit reported by the periodic check")
        assert seen == [(str(config.absolute()),)]
    finally:
        watcher.stop()


def test_a_burst_of_saves_is_one_report_and_a_no_op_write_none(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("a: 1\n")
    watcher, seen = _watch(config, poll=60)
    watcher.start()
    try:
        for i in range(5):
            config.write_text(f"a: {i + 10}\n")
        wait_until(lambda: seen, 10, "the burst reported")
        config.write_text("a: 14\n")  # the same content again
        other = tmp_path / "other.txt"
        other.write_text("x")
        done = threading.Event()
        threading.Timer(1.0, done.set).start()  # longer than the debounce: any report is in
        done.wait(5)
        assert seen == [(str(config.absolute()),)]
    finally:
        watcher.stop()
