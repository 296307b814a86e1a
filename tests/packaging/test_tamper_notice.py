"""A tampered frozen sidecar raises a desktop notification from the frozen tray (README:
"refused with a clear error in status, log and a notification")."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.test_package import _flip_one_byte, _init_demo, app, deb, root
from tests.tray import desktop
from tests.tray.desktop import NotificationMonitor

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
__all__ = ["app", "deb", "root"]  # the session's frozen build, shared with test_package

TAMPERED = Path("sidecar") / "_internal" / "base_library.zip"
REFUSAL = "base_library.zip was modified after signing"


@pytest.fixture
def notifications() -> Iterator[NotificationMonitor]:
    desktop.require_desktop()
    mon = NotificationMonitor()
    yield mon
    mon.close()


def test_a_tampered_sidecar_raises_a_notification(
    app: Path, tmp_path: Path, notifications: NotificationMonitor
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    _init_demo(home, app)
    target = app / TAMPERED
    original = target.read_bytes()
    env = {**os.environ, "LITELLM_BRIDGE_HOME": str(home), "PYSTRAY_BACKEND": "dummy"}
    for name in ("LITELLM_BRIDGE_SIDECAR_CMD", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(name, None)
    since = notifications.mark()
    _flip_one_byte(target)
    log = open(home / "tray-stdout.log", "ab")  # noqa: SIM115
    tray = subprocess.Popen(
        [str(app / "litellm-bridge"), "tray", "--no-wizard"], env=env, stdout=log, stderr=log
    )
    try:
        summary, body = notifications.wait_for(REFUSAL, timeout=300, since=since)
        assert summary == "Proxy could not start", (summary, body)
        assert tray.poll() is None, "the tray quit instead of reporting"
    finally:
        tray.send_signal(signal.SIGTERM)
        try:
            tray.wait(40)
        except subprocess.TimeoutExpired:
            tray.kill()
            tray.wait(5)
        log.close()
        target.write_bytes(original)
