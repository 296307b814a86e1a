"""The real tray's headline during a real start and after real requests."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agentproc import write_config
from tests.conftest import free_port
from tests.tray import desktop
from tests.tray.trayproc import TrayProc

pytestmark = [pytest.mark.gui, pytest.mark.slow]
PROGRESS = re.compile(r"^Proxy starting \((\d+) s( of ~(\d+) s)?\)")


@pytest.fixture(scope="module")
def tray() -> Iterator[TrayProc]:
    desktop.require_desktop()
    root = Path(tempfile.mkdtemp(prefix="litellm-bridge-headline-"))
    home = root / "home"
    home.mkdir()
    write_config(home, free_port())
    t = TrayProc(home, "--no-start", "--no-wizard")
    yield t
    t.stop()
    shutil.rmtree(root, ignore_errors=True)


def headline(d: dict[str, Any]) -> str:
    return str(next(i for i in d["menu"] if i["id"] == "state")["text"])


@pytest.mark.timeout(400)
def test_start_progress_then_requests_per_minute(tray: TrayProc) -> None:
    assert tray.click("start")
    d = tray.wait_for(lambda d: PROGRESS.match(headline(d)) is not None, 60, "start progress")
    assert "LiteLLM Bridge: starting (" in d["tooltip"]
    d = tray.wait_for(lambda d: d["icon"] == "running", 180, "running")
    d = tray.wait_for(lambda d: "0 requests/min" in d["tooltip"], 30, "the request count")
    url = tray.status()["sidecar"]["url"]
    key = tray.call("key")["key"]
    for _ in range(2):
        r = httpx.post(
            url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]},
            timeout=60,
        )
        assert r.status_code == 200
    d = tray.wait_for(lambda d: "2 requests/min" in d["tooltip"], 30, "two requests counted")
    assert " · 2 requests/min" in headline(d)
    took = tray.status()["start"]["last_duration"]
    assert took and took > 0

    # The next start measures itself against the one before.
    assert tray.click("stop")
    tray.wait_for(lambda d: d["icon"] == "stopped", 120, "stopped")
    assert tray.click("start")

    def against_last(d: dict[str, Any]) -> bool:
        m = PROGRESS.match(headline(d))
        return m is not None and m.group(3) is not None

    d = tray.wait_for(against_last, 60, "progress against the last start")
    m = PROGRESS.match(headline(d))
    assert m is not None and int(m.group(3)) == round(took)
    tray.wait_for(lambda d: d["icon"] == "running", 180, "running again")
