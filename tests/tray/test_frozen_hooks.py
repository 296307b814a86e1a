"""A frozen build offers no ``tray.click`` on the control channel (any same-user client could
press Quit with it) unless ``LITELLM_BRIDGE_TEST_HOOKS=1``; a checkout always offers it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import write_config
from tests.conftest import free_port
from tests.helpers.frozen_flag import frozen_pythonpath
from tests.tray import desktop
from tests.tray.trayproc import TrayProc
from tray_agent.control.protocol import ControlError

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]


@pytest.fixture
def root() -> Iterator[Path]:
    desktop.require_desktop()
    # Our own directory: pytest prunes old numbered temp dirs under a running tray.
    path = Path(tempfile.mkdtemp(prefix="litellm-bridge-frozen-tray-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_tray(root: Path, **extra_env: str) -> TrayProc:
    home = root / "home"
    home.mkdir()
    write_config(home, free_port())
    env = {"PYTHONPATH": frozen_pythonpath(root / "frozen-flag"), **extra_env}
    return TrayProc(home, "--no-start", "--no-wizard", extra_env=env)


def test_frozen_tray_refuses_clicks_over_the_control_channel(root: Path) -> None:
    tray = start_tray(root)
    try:
        assert tray.describe()["running"]  # the tray runs and still describes itself
        with pytest.raises(ControlError):
            tray.click("quit")
        assert tray.proc.poll() is None, "a control client pressed Quit"
        assert "tray.click is off in this build" in (tray.home / "logs" / "agent.log").read_text()
    finally:
        tray.stop()


def test_frozen_tray_takes_clicks_with_test_hooks_enabled(root: Path) -> None:
    tray = start_tray(root, LITELLM_BRIDGE_TEST_HOOKS="1")
    try:
        assert tray.click("quit")
        tray.proc.wait(40)
        assert tray.proc.returncode is not None
    finally:
        tray.stop()
