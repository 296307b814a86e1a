"""The admin lock inside a running agent: a policy change re-prepares the config at once.

Config preparation (``config/prepare.py`` through ``policy/managed.py``) restores a managed
config.yaml and applies the locked ``bridge:`` keys each time it runs; the core runs it when
config.yaml or the env file change. A change of the policy alone (``lock.config`` switched
on, a lock lifted) or of the managed copy the admin ships must take effect without such an
edit, so this extension answers both with the event a file change posts.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tray_agent.core.events import FilesChanged
from tray_agent.core.watcher import FileWatcher
from tray_agent.seams import ExtensionHost

log = logging.getLogger("tray_agent.policy")


class LockLink:
    def __init__(self, rt: ExtensionHost) -> None:
        self.rt = rt
        self._last: dict[str, Any] | None = None
        self._watcher: FileWatcher | None = None
        self._watched: str | None = None
        self._stopped = False
        rt.agent.on("policy_changed", self._on_policy_changed)

    def _reprepare(self, *_changed: object) -> None:
        self.rt.agent.post(FilesChanged((str(self.rt.paths.config_file),)))

    def _on_policy_changed(self, view: dict[str, Any]) -> None:
        """On the core thread: re-read the files when what the lock depends on changed."""
        wanted = {k: view.get(k) for k in ("locked", "managed_config", "source")}
        if wanted == self._last:
            return
        self._last = wanted
        self._watch(view.get("managed_config"))
        self._reprepare()

    def _watch(self, managed: str | None) -> None:
        """Follow the managed copy: an admin's new version is restored over config.yaml."""
        if managed == self._watched or self._stopped:
            return
        self._unwatch()
        self._watched = managed
        if not managed:
            return
        try:
            self._watcher = FileWatcher([Path(managed)], self._reprepare)
            self._watcher.start()
        except OSError as exc:  # its directory vanished: the next policy change retries
            log.warning("cannot watch the managed config %s: %s", managed, exc)
            self._watcher = None

    def _unwatch(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def start(self) -> None:
        """Nothing to start: the core calls the observer (the first policy report included)."""

    def stop(self) -> None:
        self._stopped = True
        self._unwatch()
