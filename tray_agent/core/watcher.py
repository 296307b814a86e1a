"""Watch config.yaml and the env store: parent directory, debounce, content hash.

Editors save by rename, so the directory is watched, not the file. Changes are debounced
(~200 ms) and only reported when a watched file's content hash differs from the last one
seen, which also ignores the agent's own no-op writes.

One long-lived thread does the debouncing (no thread per file event) and also compares the
hashes every ``poll`` seconds, so an edit the OS never reported -- made before the watch
was in place, or lost by the event backend -- is still applied within a few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from tray_agent.fsutil import content_hash

log = logging.getLogger("tray_agent.core")


class FileWatcher(FileSystemEventHandler):
    def __init__(
        self,
        files: Iterable[Path],
        on_change: Callable[[tuple[str, ...]], None],
        debounce: float = 0.2,
        poll: float = 2.0,
    ) -> None:
        self._files = {str(Path(f).absolute()): content_hash(f) for f in files}
        self._on_change = on_change
        self._debounce = debounce
        self._poll = poll
        self._due: float | None = None  # when to check after the last event
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="file-watcher", daemon=True)
        self._observer = Observer()
        for d in {str(Path(f).parent) for f in self._files}:
            Path(d).mkdir(parents=True, exist_ok=True)
            self._observer.schedule(self, d, recursive=False)

    def start(self) -> None:
        self._observer.daemon = True
        self._observer.start()
        self._thread.start()

    def stop(self) -> None:
        self._observer.stop()
        with self._wake:
            self._stopped = True
            self._wake.notify()

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = {str(event.src_path)}
        dest = getattr(event, "dest_path", None)
        if dest:
            paths.add(str(dest))
        if not any(p in self._files for p in paths):
            return
        with self._wake:
            self._due = time.monotonic() + self._debounce  # each event pushes it back
            self._wake.notify()

    def _run(self) -> None:
        next_poll = time.monotonic() + self._poll
        while True:
            with self._wake:
                while not self._stopped:
                    now = time.monotonic()
                    due = next_poll if self._due is None else min(self._due, next_poll)
                    if now >= due:
                        break
                    self._wake.wait(due - now)
                if self._stopped:
                    return
                self._due = None
            next_poll = time.monotonic() + self._poll
            try:
                self._fire()
            except Exception:  # the watcher outlives one bad check
                log.exception("watcher.check_failed")

    def _fire(self) -> None:
        changed = []
        for f, old in list(self._files.items()):
            new = content_hash(f)
            if new != old:
                self._files[f] = new
                changed.append(f)
        if changed:
            self._on_change(tuple(changed))
