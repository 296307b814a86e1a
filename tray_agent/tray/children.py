"""Run a dialog as a short-lived child process: JSON in on stdin, JSON out on stdout.

Tk never runs in the tray's process (the tray toolkit owns the main thread there), and
secrets never appear on a command line.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from typing import Any

log = logging.getLogger("tray_agent.tray")


class DialogFailed(Exception):
    pass


def dialog_command(name: str) -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "dialog", name]
    return [sys.executable, "-m", "tray_agent", "dialog", name]


class DialogRunner:
    """Runs dialogs, at most one of each name at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, subprocess.Popen[str]] = {}

    def is_open(self, name: str) -> bool:
        with self._lock:
            proc = self._open.get(name)
            return proc is not None and proc.poll() is None

    def run(self, name: str, payload: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Show dialog ``name`` and wait for it; its result, or None when cancelled or busy."""
        with self._lock:
            proc = self._open.get(name)
            if proc is not None and proc.poll() is None:
                return None  # already on screen
            proc = subprocess.Popen(
                dialog_command(name),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            self._open[name] = proc
        try:
            out, err = proc.communicate(json.dumps(payload or {}))
        finally:
            with self._lock:
                if self._open.get(name) is proc:
                    del self._open[name]
        if proc.returncode != 0:
            log.error("dialog.failed", extra={"fields": {"dialog": name, "rc": proc.returncode}})
            raise DialogFailed(f"the {name} dialog failed: {err.strip()[-300:]}")
        lines = [ln for ln in out.splitlines() if ln.strip()]
        if not lines:
            return None
        result = json.loads(lines[-1])
        if not isinstance(result, dict) or result.get("cancelled"):
            return None
        return result

    def close_all(self) -> None:
        with self._lock:
            procs = list(self._open.values())
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:  # reap them: the tray lives long, zombies would pile up
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
