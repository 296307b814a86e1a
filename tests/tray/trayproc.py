"""Drive a real ``litellm-bridge tray`` process on the private desktop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.agentproc import ROOT, env_for
from tray_agent.control.client import ControlClient
from tray_agent.control.protocol import ControlError
from tray_agent.paths import get_paths

FAKE_OPENER = """#!/bin/sh
echo "$0 $*" >> "{log}"
"""


def fake_bin(directory: Path) -> Path:
    """``xdg-open`` that only records its arguments (no file manager on the test desktop)."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "opened.log"
    script = directory / "xdg-open"
    script.write_text(FAKE_OPENER.format(log=log))
    script.chmod(0o755)
    return log


class TrayProc:
    def __init__(self, home: Path, *args: str, extra_env: dict[str, str] | None = None) -> None:
        self.home = home
        bindir = home.parent / "bin"
        self.opened_log = fake_bin(bindir)
        self.env = env_for(
            home,
            PYSTRAY_BACKEND="gtk",
            XDG_CONFIG_HOME=str(home.parent / "xdg-config"),
            PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
            **(extra_env or {}),
        )
        self.paths = get_paths({"LITELLM_BRIDGE_HOME": str(home)})
        self.log = open(home.parent / "tray-stdout.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tray_agent", "tray", *args],
            env=self.env,
            stdout=self.log,
            stderr=self.log,
            cwd=ROOT,
        )
        self.wait_for(lambda d: d["running"], 60, "the tray icon to run")

    def call(self, method: str, **params: Any) -> Any:
        client = ControlClient.connect(self.paths)
        if client is None:
            raise ControlError("no agent")
        with client:
            return client.call(method, timeout=30, **params)

    def describe(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("tray.describe")
        return result

    def click(self, entry_id: str) -> bool:
        return bool(self.call("tray.click", id=entry_id))

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("status")
        return result

    def wait_for(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"tray exited ({self.proc.returncode}): {self.output()}")
            try:
                last = self.describe()
                if pred(last):
                    return dict(last)
            except (ControlError, OSError, EOFError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; last: {last}")

    def item(self, d: dict[str, Any], entry_id: str) -> dict[str, Any]:
        return next(i for i in d["menu"] if i["id"] == entry_id)

    def output(self) -> str:
        return (self.home.parent / "tray-stdout.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
