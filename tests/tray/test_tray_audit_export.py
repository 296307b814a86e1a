"""Export audit log… from the real tray: the menu entry opens the dialog as a child process,
the export of the running agent's log (key in the desktop keyring) verifies, the tray says
where it went."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import write_config
from tests.conftest import free_port
from tests.helpers.wait import wait_until
from tests.tray import desktop
from tests.tray.desktop import NotificationMonitor
from tests.tray.trayproc import TrayProc
from tray_agent.audit.chain import decode
from tray_agent.audit.keys import trusted_keys
from tray_agent.audit.log import lines_of, log_files
from tray_agent.audit.verify import verify_path
from tray_agent.paths import get_paths

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture(scope="module")
def tray() -> Iterator[TrayProc]:
    desktop.require_desktop()
    root = Path(tempfile.mkdtemp(prefix="litellm-bridge-tray-"))
    home = root / "home"
    home.mkdir()
    write_config(home, free_port())
    t = TrayProc(home, "--no-start", "--no-wizard")
    yield t
    t.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.timeout(200)
def test_export_audit_log_from_the_menu_writes_a_verifiable_file(
    tray: TrayProc, notifications: NotificationMonitor, artifacts: Path
) -> None:
    audit_dir = get_paths({"LITELLM_BRIDGE_HOME": str(tray.home)}).audit_dir
    wait_until(lambda: bool(log_files(audit_dir)), 60, "the agent's first audit lines")
    out = tray.home.parent / "exports" / "audit.ocsf.jsonl"
    out.parent.mkdir(exist_ok=True)
    mark = notifications.mark()
    assert tray.click("audit-export")
    wid = desktop.find_window("LiteLLM Bridge: Export audit log")
    desktop.settled_screenshot(artifacts / "dialog-audit-export-live.png", window=wid, quiet=1.0)
    desktop.focus(wid)
    desktop.xdotool("key", "ctrl+slash")  # select the proposed path, then type over it
    desktop.xdotool("type", "--delay", "5", str(out))
    desktop.xdotool("key", "Return")
    _summary, body = notifications.wait_for("Audit log exported", 150, since=mark)
    assert body.endswith(f"events saved to {out}")
    report = verify_path(out, trusted_keys(audit_dir))
    assert report.ok, report.problem
    assert json.loads(out.read_text().splitlines()[1])["class_uid"] == 6003  # OCSF: default
    lines = [raw for p in log_files(audit_dir) for _n, raw, _c in lines_of(p)]
    assert any(decode(raw)["event"] == "audit.exported" for raw in lines)
