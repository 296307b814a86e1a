"""Updates inside a running agent: the periodic check, status's ``update`` part, the notices.

In mode ``default`` the agent checks a minute or so after it starts and then every 4 hours
(each wait drawn with jitter, so a fleet started at 9:00 does not hit the update server at
once), installs what it finds side by side and restarts into it without dropping a request
(``update.takeover``; on Windows the new version starts with the next agent start).
``manual`` checks only on request (``litellm-bridge update``, the tray's "Check for
updates…"); ``off`` never. A rollback notice left by the launcher is shown once.

Runtime extension: status gains ``update``: ``{"mode", "ready", "checked_at", "error",
"notice"}``; the control method ``update_check`` runs a check (and install) now.
"""

from __future__ import annotations

import json
import logging
import random
import subprocess
import sys
import threading
import time
from typing import Any

from tray_agent import __version__
from tray_agent.seams import ExtensionHost
from tray_agent.update.layout import Layout, UpdateStateError
from tray_agent.update.source import UpdateSourceError, resolve

log = logging.getLogger("tray_agent.update")

INTERVAL = 4 * 3600.0
FIRST_CHECK = (30.0, 120.0)
JITTER = 0.1


def next_wait(rng: random.Random, first: bool) -> float:
    if first:
        return rng.uniform(*FIRST_CHECK)
    return INTERVAL * rng.uniform(1 - JITTER, 1 + JITTER)


APPLY_TIMEOUT = 3600.0


def _cli() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "tray_agent"]


def check_and_install(rt_paths: Any, install: bool) -> dict[str, Any]:
    """One check (and install when ``install``): what status and the tray report.

    Runs ``litellm-bridge update check|apply --json`` as a child: the download and the
    unpacked app's manifest check then use none of the agent's memory or its record of the
    verified sidecar (which a check of another app folder would replace).
    """
    result: dict[str, Any] = {"checked_at": time.time(), "error": None, "ready": None}
    try:
        source = resolve(rt_paths)
    except UpdateSourceError as exc:
        result["error"] = str(exc)
        return result
    result["mode"] = source.mode
    if source.mode == "off" or not source.url:
        return result  # nothing to check: not an error to report every 4 hours
    argv = [*_cli(), "update", "apply" if install else "check", "--json"]
    if install:
        argv.append("--no-switch")  # the agent switches itself (``UpdateLink.switch``)
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=APPLY_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        result["error"] = f"update {argv[-2]} did not finish: {exc}"
        return result
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        doc = None  # a user error (unreadable settings): its message is on stderr
    if not isinstance(doc, dict) or not doc.get("ok"):
        error = doc.get("error") if isinstance(doc, dict) else None
        result["error"] = str(error or done.stderr.strip()[-300:] or "update failed")
    elif install:
        result["ready"] = doc.get("installed")
    else:
        result["available"] = doc.get("available")
    return result


def summary(result: dict[str, Any]) -> tuple[str, str]:
    """The tray's answer to "Check for updates…": a title and what will happen."""
    if result.get("error"):
        return "Update refused", str(result["error"])[:200]
    if result.get("mode") == "off":
        return "Updates are off", "Your organization or config.yaml turned updates off."
    if result.get("ready"):
        text = SWITCH_TEXT if result.get("switching") else READY_TEXT
        return f"Update {result['ready']} installed", text
    return "No update", f"LiteLLM Bridge {installed_now()} is the newest version available."


READY_TEXT = (
    "It starts the next time LiteLLM Bridge starts (Quit, then start it again). If it fails "
    "to start twice, the version you have now comes back by itself."
)
SWITCH_TEXT = (
    "LiteLLM Bridge restarts into it now; requests keep being answered meanwhile. If it "
    "fails to start twice, the version you have now stays."
)


def installed_now() -> str:
    from tray_agent.update.install import installed_version

    try:
        return installed_version(Layout(_paths().data_dir))
    except (UpdateStateError, OSError):
        return __version__


def _paths() -> Any:
    from tray_agent.paths import get_paths

    return get_paths()


def _tell(title: str, message: str) -> None:
    from tray_agent.platform import desktop

    try:
        desktop.notify(title, message)
    except Exception:
        log.info("update notice not shown: %s", title)


class UpdateLink:
    def __init__(self, rt: ExtensionHost, rng: random.Random | None = None) -> None:
        self.rt = rt
        self.rng = rng or random.Random()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._status: dict[str, Any] = {"mode": None, "ready": None, "checked_at": None}
        self._status.update(error=None, notice=None, running=__version__)
        self._thread: threading.Thread | None = None
        rt.status_extras["update"] = self.status
        rt.handlers["update_check"] = self._check_now

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._status)

    def _take_notice(self) -> None:
        """The launcher's rollback notice: shown once, then removed from the state file."""
        layout = Layout(self.rt.paths.data_dir)
        try:
            if layout.load().notice is None:
                return
            with layout.editing() as state:
                notice, state.notice = state.notice, None
        except (UpdateStateError, OSError) as exc:
            log.warning("cannot read the update state: %s", exc)
            return
        log.warning("update.rolled_back: %s", notice)
        with self._lock:
            self._status["notice"] = notice
        _tell("Update rolled back", str(notice)[:200])

    def _record(self, result: dict[str, Any]) -> None:
        with self._lock:
            ready = result.pop("ready", None)
            self._status.update(result)
            if ready:
                self._status["ready"] = ready
        if result.get("error"):
            log.warning("update check refused: %s", result["error"])
        elif ready:
            log.info("update %s installed: it starts with the next agent start", ready)

    def _check_now(self, params: dict[str, Any]) -> dict[str, Any]:
        result = check_and_install(self.rt.paths, install=bool(params.get("install", True)))
        self._record(dict(result))
        if result.get("ready") and params.get("switch", True):
            result["switching"] = self.switch()
        return result

    def switch(self) -> bool:
        """Restart into the version just installed (no downtime); False where the platform
        cannot hand the socket over or the successor could not be started."""
        from tray_agent.update.takeover import SUPPORTED

        if not SUPPORTED or not getattr(sys, "frozen", False):
            return False  # from source, an installed version is never what runs
        try:
            self.rt.restart_agent()
        except Exception as exc:
            log.warning("cannot restart into the new version: %s", exc)
            return False
        return True

    def _loop(self) -> None:
        first = True
        while not self._stop.wait(next_wait(self.rng, first)):
            first = False
            try:
                mode = resolve(self.rt.paths).mode
            except UpdateSourceError as exc:
                self._record({"error": str(exc), "checked_at": time.time()})
                continue
            with self._lock:
                self._status["mode"] = mode
            if mode == "default":
                result = check_and_install(self.rt.paths, install=True)
                self._record(dict(result))
                if result.get("ready"):
                    switching = self.switch()
                    text = SWITCH_TEXT if switching else READY_TEXT
                    _tell(f"Update {result['ready']} installed", text)

    def start(self) -> None:
        self._take_notice()
        self._thread = threading.Thread(target=self._loop, name="update-check", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
