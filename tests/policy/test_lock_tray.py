"""The real tray (``litellm-bridge tray`` on the private desktop) under the admin lock: locked
entries greyed out with a "managed" label, a click on them refused, a restore announced."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests.agentproc import write_config
from tests.conftest import free_port
from tests.policy.policy_files import needs_root, policy_dir, write_policy
from tests.tray import desktop
from tests.tray.trayproc import TrayProc

pytestmark = [pytest.mark.gui, pytest.mark.slow, needs_root]


@pytest.mark.timeout(150)
def test_locked_entries_are_greyed_and_a_restore_is_announced() -> None:
    desktop.require_desktop()
    root = Path(tempfile.mkdtemp(prefix="litellm-bridge-lock-tray-"))
    try:
        home = root / "home"
        home.mkdir()
        machine = policy_dir(root, "machine")  # no real machine policy leaks in
        d = policy_dir(root)
        config = write_config(home, free_port())
        managed = write_policy(d / "config.yaml", config.read_text())
        write_policy(
            d / "policy.json",
            {"lock": {"config": True, "autostart": True}, "managed_config": "config.yaml"},
        )
        tray = TrayProc(
            home,
            "--no-start",
            "--no-wizard",
            extra_env={
                "LITELLM_BRIDGE_POLICY_DIR": str(d),
                "LITELLM_BRIDGE_MACHINE_POLICY_DIR": str(machine),
            },
        )
        try:
            shown = tray.wait_for(
                lambda s: not tray.item(s, "edit-config")["enabled"], 30, "greyed entries"
            )
            edit = tray.item(shown, "edit-config")
            auto = tray.item(shown, "autostart")
            assert edit["text"] == "Edit config (managed)"
            assert auto["text"] == "Start at login (managed)" and not auto["enabled"]
            assert tray.item(shown, "environment")["enabled"]  # env is not locked here
            assert tray.click("autostart") is False
            assert tray.click("edit-config") is False
            time.sleep(1)
            config.write_text(config.read_text() + "# a foreign edit\n")
            tray.wait_for(
                lambda s: (
                    config.read_bytes() == managed.read_bytes()
                    and any(n["kind"] == "config-restored" for n in s["notices"])
                ),
                60,
                "the restore and its notice",
            )
        finally:
            tray.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
