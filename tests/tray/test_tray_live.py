"""The real tray process: icon in the tray host, menu driving the agent, notifications, Quit.

One tray (and one real sidecar) is shared by the whole module; tests run in file order.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import write_config
from tests.conftest import free_port
from tests.helpers.wait import wait_until
from tests.tray import desktop
from tests.tray.desktop import NotificationMonitor
from tests.tray.trayproc import TrayProc
from tray_agent.control.protocol import ControlError
from tray_agent.supervisor import proctree

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture(scope="module")
def tray() -> Iterator[TrayProc]:
    desktop.require_desktop()
    # Our own directory: pytest prunes old numbered temp dirs, which other test runs on the
    # same machine can do while this long module still uses its home.
    root = Path(tempfile.mkdtemp(prefix="litellm-bridge-tray-"))
    home = root / "home"
    home.mkdir()
    write_config(home, free_port())
    t = TrayProc(home, "--no-start", "--no-wizard")
    yield t
    t.stop()
    shutil.rmtree(root, ignore_errors=True)


def shot(artifacts: Path, name: str, unlike: Path | None = None) -> Path:
    """The tray icon as the tray host shows it, once it has changed from ``unlike``."""
    geo = desktop.tray_icon_geometry()
    return desktop.settled_screenshot(artifacts / f"tray-{name}.png", crop=geo.crop, unlike=unlike)


def states_strip(artifacts: Path, states: tuple[str, ...], zoom: int = 3) -> Path:
    """The icon as the tray host showed it in each state, side by side and enlarged."""
    from PIL import Image

    # A state whose picture an earlier (failed) test did not take is left out.
    found = [artifacts / f"tray-{s}.png" for s in states]
    pics = [Image.open(p).convert("RGB") for p in found if p.is_file()]
    w, h = max(p.width for p in pics) * zoom, max(p.height for p in pics) * zoom
    gap = 8 * zoom
    strip = Image.new("RGB", (len(pics) * (w + gap) + gap, h + 2 * gap), "#FFFFFF")
    for i, pic in enumerate(pics):
        big = pic.resize((pic.width * zoom, pic.height * zoom), Image.Resampling.NEAREST)
        strip.paste(big, (gap + i * (w + gap), gap))
    out = artifacts / "tray-states-in-trayer.png"
    strip.save(out)
    return out


@pytest.mark.timeout(90)
def test_icon_appears_in_the_tray_host_showing_stopped(tray: TrayProc, artifacts: Path) -> None:
    d = tray.describe()
    assert d["icon"] == "stopped"
    assert "stopped" in d["tooltip"]
    geo = desktop.tray_icon_geometry()
    assert geo.w >= 16
    shot(artifacts, "stopped")
    assert tray.item(d, "start")["enabled"] and not tray.item(d, "stop")["enabled"]


@pytest.mark.timeout(300)
def test_start_from_the_menu_changes_the_picture(tray: TrayProc, artifacts: Path) -> None:
    """How fast the picture changes is measured by ``python -m bench.tray``."""
    if tray.describe()["icon"] != "stopped":  # a retry after a failure part-way
        tray.click("stop")
        tray.wait_for(lambda d: d["icon"] == "stopped", 120, "stopped")
    before = shot(artifacts, "stopped")
    assert tray.click("start")
    tray.wait_for(lambda d: d["icon"] == "starting", 30, "the starting picture")
    # Each grab waits until the tray host shows a picture unlike the previous state's.
    starting = shot(artifacts, "starting", unlike=before)
    d = tray.wait_for(lambda d: d["icon"] == "running", 150, "running")
    assert "http://127.0.0.1:" in d["tooltip"]
    running = shot(artifacts, "running", unlike=starting)
    assert desktop.differs(before, running)
    assert not tray.item(d, "start")["enabled"]
    assert tray.item(d, "stop")["enabled"] and tray.item(d, "restart")["enabled"]
    assert not tray.click("start")  # disabled items ignore clicks, like the backend


def invalid_checks(tray: TrayProc) -> int:
    """How many times the agent found config.yaml invalid (one log event per check)."""
    log = tray.paths.agent_log
    return log.read_text(errors="replace").count("config.invalid") if log.exists() else 0


@pytest.mark.timeout(60)
def test_invalid_config_is_notified_once_with_file_and_line(
    tray: TrayProc, notifications: NotificationMonitor
) -> None:
    cfg = tray.paths.config_file
    good = cfg.read_text()
    mark = notifications.mark()
    try:
        cfg.write_text(good.replace("model_list:", "model_list:\n  - model_nam: [oops\n", 1))
        _summary, body = notifications.wait_for("config.yaml has errors", since=mark)
        after = body.split("config.yaml:")[1][:3]
        assert "config.yaml:" in body and any(c.isdigit() for c in after)
        # Editors save twice: the same condition must not be announced again. The agent logs
        # each check, so the second save is known to be checked (and its unchanged status
        # published) before counting the notifications.
        checks = invalid_checks(tray)
        cfg.write_text(cfg.read_text() + "\n")
        wait_until(lambda: invalid_checks(tray) > checks, 30, "the second save checked")
        tray.wait_for(lambda d: "errors" in d["tooltip"], 10, "the tray still showing errors")
        assert len(notifications.matching("config.yaml has errors", since=mark)) == 1
    finally:
        cfg.write_text(good)
    tray.wait_for(lambda d: "errors" not in d["tooltip"], 30, "config valid again")
    assert tray.describe()["icon"] == "running"


@pytest.mark.timeout(200)
def test_sidecar_crash_is_notified_on_the_bus(
    tray: TrayProc, notifications: NotificationMonitor, artifacts: Path
) -> None:
    pid = tray.status()["sidecar"]["pid"]
    mark = notifications.mark()
    os.kill(pid, signal.SIGKILL)
    tray.wait_for(lambda d: d["icon"] == "error", 30, "the error picture")
    running = artifacts / "tray-running.png"  # absent when an earlier test failed part-way
    shot(artifacts, "error", unlike=running if running.is_file() else None)
    states_strip(artifacts, ("stopped", "starting", "running", "error"))
    _summary, body = notifications.wait_for("Proxy crashed", since=mark)
    assert "exit" in body
    tray.wait_for(lambda d: d["icon"] == "running", 150, "running again")
    assert len(notifications.matching("Proxy crashed", since=mark)) == 1


@pytest.mark.timeout(60)
def test_open_logs_folder_and_start_at_login(tray: TrayProc) -> None:
    assert tray.click("logs")
    wait_until(tray.opened_log.exists, 10, "the logs folder opened")
    assert str(tray.paths.log_dir) in tray.opened_log.read_text()

    entry = tray.home.parent / "xdg-config" / "autostart" / "litellm-bridge.desktop"
    assert not tray.item(tray.describe(), "autostart")["checked"]
    assert tray.click("autostart")
    tray.wait_for(lambda d: tray.item(d, "autostart")["checked"], 5, "checked")
    text = entry.read_text()
    assert "tray_agent tray" in text and f"LITELLM_BRIDGE_HOME={tray.home}" in text
    assert tray.click("autostart")
    tray.wait_for(lambda d: not tray.item(d, "autostart")["checked"], 5, "unchecked")
    assert not entry.exists()


@pytest.mark.timeout(90)
def test_real_left_click_opens_the_status_dialog(tray: TrayProc, artifacts: Path) -> None:
    x, y = desktop.tray_icon_geometry().center
    desktop.click(x, y, 1)
    wid = desktop.find_window("LiteLLM Bridge: status")
    # The window fills as its polls (one a second) answer: grab it once a whole poll
    # period went by without a change.
    desktop.settled_screenshot(artifacts / "dialog-status-live.png", window=wid, quiet=1.5)
    assert desktop.key_until_gone(wid, "LiteLLM Bridge: status", "Escape")


@pytest.mark.timeout(200)
def test_export_diagnostics_writes_the_full_bundle_and_notifies_the_path(
    tray: TrayProc, notifications: NotificationMonitor
) -> None:
    out = tray.home.parent / "exports" / "support.zip"
    out.parent.mkdir(exist_ok=True)
    out.unlink(missing_ok=True)
    mark = notifications.mark()
    assert tray.click("diagnostics")
    wid = desktop.find_window("LiteLLM Bridge: Export diagnostics")
    desktop.focus(wid)
    desktop.xdotool("key", "ctrl+slash")  # select the proposed path, then type over it
    desktop.xdotool("type", "--delay", "5", str(out))
    desktop.xdotool("key", "Return")
    _summary, body = notifications.wait_for("Diagnostics exported", 150, since=mark)
    assert body == f"Saved to {out.resolve()}"
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        status = json.loads(zf.read("status.json"))
    assert {"doctor.txt", "metrics.json", "env.json", "logs/agent.log"} <= names
    assert status["sidecar"]["state"] == "running"  # asked the running agent


@pytest.mark.timeout(120)
def test_right_click_menu_then_quit_leaves_no_sidecar(tray: TrayProc, artifacts: Path) -> None:
    sidecar = tray.status()["sidecar"]["pid"]
    assert sidecar and proctree.is_alive(sidecar)
    x, y = desktop.tray_icon_geometry().center
    desktop.click(x, y, 3)
    menu = desktop.popup_menu()
    panel = desktop.tray_panel()
    left = max(0, min(menu.x, panel.x) - 16)
    bottom = max(menu.y + menu.h, panel.y + panel.h) + 16
    area = desktop.Geometry(left, 0, panel.x + panel.w - left, bottom)
    desktop.settled_screenshot(artifacts / "tray-menu.png", crop=area.crop, quiet=0.3)
    desktop.xdotool("key", "Escape")  # close the popup; Quit goes the backend's way
    wait_until(lambda: not desktop.popup_menus(), 10, "the menu closed")
    # The agent may close the channel while answering.
    with contextlib.suppress(ControlError, OSError, EOFError):
        tray.click("quit")
    tray.proc.wait(60)
    assert tray.proc.returncode == 0, tray.output()
    wait_until(lambda: not proctree.is_alive(sidecar), 10, "the sidecar gone")
