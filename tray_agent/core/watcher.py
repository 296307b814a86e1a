"""Watch config.yaml and the env store: parent directory, debounce, content hash.

Editors save by rename, so the directory is watched, not the file. Changes are debounced
(~200 ms) and only reported when a watched file's content hash differs from the last one
seen, which also ignores the agent's own no-op writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from tray_agent.fsutil import content_hash


class FileWatcher(FileSystemEventHandler):
    def __init__(
        self,
        files: Iterable[Path],
        on_change: Callable[[tuple[str, ...]], None],
        debounce: float = 0.2,
    ) -> None:
        self._files = {str(Path(f).absolute()): content_hash(f) for f in files}
        self._on_change = on_change
        self._debounce = debounce
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._observer = Observer()
        for d in {str(Path(f).parent) for f in self._files}:
            Path(d).mkdir(parents=True, exist_ok=True)
            self._observer.schedule(self, d, recursive=False)

    def start(self) -> None:
        self._observer.daemon = True
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        if self._timer:
            self._timer.cancel()

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = {str(event.src_path)}
        dest = getattr(event, "dest_path", None)
        if dest:
            paths.add(str(dest))
        if not any(p in self._files for p in paths):
            return
        with self._lock:
            if self._timer:
                self._timer.cancel()
            self._timer = threading.Timer(self._debounce, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        changed = []
        for f, old in list(self._files.items()):
            new = content_hash(f)
            if new != old:
                self._files[f] = new
                changed.append(f)
        if changed:
            self._on_change(tuple(changed))
