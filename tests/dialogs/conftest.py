"""Dialogs are driven in-process through their widgets (Tk on the private display)."""

from __future__ import annotations

import contextlib
import gc
import shutil
import tempfile
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.tray.desktop import require_desktop, screenshot
from tray_agent.account import Account
from tray_agent.dialogs.base import Dialog, make_root
from tray_agent.paths import Paths
from tray_agent.secrets import MemoryStore

FAST = (2**10, 8, 1)


@dataclass
class FakeServices:
    """Services with a scripted agent: ``answers[method]`` is a value or an exception."""

    paths: Paths
    answers: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    secrets: Any = field(default_factory=MemoryStore)

    def call(self, method: str, timeout: float = 120.0, **params: Any) -> Any:
        self.calls.append((method, params))
        answer = self.answers.get(method)
        if isinstance(answer, Exception):
            raise answer
        return answer(**params) if callable(answer) else answer

    def metrics(self) -> dict[str, Any] | None:
        """What ``fetch_metrics`` would return: the scripted ``metrics`` answer."""
        result: dict[str, Any] | None = self.call("metrics")
        return result

    @property
    def account(self) -> Account:
        return Account(self.paths.account_file, cost=FAST)


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A relocated home under a short, neutral path: dialogs show it in their screenshots."""
    root = Path(tempfile.mkdtemp(prefix="lb-"))
    h = root / "litellm-bridge"
    h.mkdir()
    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(h))
    yield h
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def services(paths: Paths) -> FakeServices:
    s = FakeServices(paths)
    s.secrets.persistent = True  # the env store refuses secrets without a keyring
    return s


class Harness:
    def __init__(self, artifacts: Path) -> None:
        self.artifacts = artifacts
        self.roots: list[tk.Tk] = []

    def open(self, cls: type[Dialog], params: dict[str, Any], services: Any) -> Dialog:
        root = make_root(cls.title)
        self.roots.append(root)
        dlg = cls(root, params, services)
        root.geometry("+40+40")
        self.pump()
        return dlg

    def pump(self, seconds: float = 0.15) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for r in self.roots:
                with contextlib.suppress(tk.TclError):
                    r.update()
            time.sleep(0.01)

    def until(self, pred: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.05)
            if pred():
                return
        raise AssertionError(f"timed out waiting for {what or pred}")

    def shot(self, dlg: Dialog, name: str) -> Path:
        self.pump(0.3)
        frame = dlg.root.wm_frame()
        return screenshot(self.artifacts / f"dialog-{name}.png", window=frame)

    def close(self) -> None:
        for r in self.roots:
            with contextlib.suppress(tk.TclError):
                r.destroy()
        self.roots.clear()
        # Tk objects must be freed on the thread that made them: collect them here, not in
        # whichever worker thread happens to trigger the next garbage collection.
        gc.collect()


@pytest.fixture
def ui(artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    require_desktop()
    monkeypatch.setenv("LITELLM_BRIDGE_UI_SCALE", "1")  # tests that want 200 % set it again
    h = Harness(artifacts)
    gc.disable()  # as in a dialog process: no collection on the dialogs' worker threads
    try:
        yield h
    finally:
        h.close()
        gc.enable()


def press(widget: tk.Misc, key: str) -> None:
    """A key press delivered to ``widget`` through Tk's event queue."""
    widget.focus_force()
    widget.event_generate(f"<{key}>", when="tail")


# The real sidecar, stand-in LLM and pinned CLIs the "Set up coding tools" tests share with
# the ``clients test`` tests.
from tests.clients.bridge import cli_bin, llm, sidecar  # noqa: E402

__all__ = ["FakeServices", "Harness", "cli_bin", "llm", "press", "sidecar"]
