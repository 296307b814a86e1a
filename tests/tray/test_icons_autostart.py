"""Icon pictures per state, and the per-OS start-at-login entries."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from PIL import ImageChops

from tray_agent.platform import _win32 as _autostart_win32
from tray_agent.platform import autostart
from tray_agent.tray import icons


def test_every_state_has_its_own_picture_at_every_size(artifacts: Path) -> None:
    for size in (16, 22, 24, 32, 48, 64):
        pics = {s: icons.draw(s, size) for s in icons.STATES}
        assert all(p.size == (size, size) and p.mode == "RGBA" for p in pics.values())
        names = list(pics)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                diff = ImageChops.difference(
                    pics[a].convert("RGB"), pics[b].convert("RGB")
                ).getbbox()
                assert diff is not None, f"{a} and {b} look the same at {size}px"
    icons.sheet(64).save(artifacts / "icons-all-states-64.png")
    icons.sheet(22).resize((icons.sheet(22).width * 3, icons.sheet(22).height * 3)).save(
        artifacts / "icons-all-states-22-zoomed.png"
    )


def test_badges_differ_in_shape_not_only_colour() -> None:
    # In greyscale (colour removed) the states must still differ.
    pics = {s: icons.draw(s, 32).convert("L") for s in icons.STATES}
    names = list(pics)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert ImageChops.difference(pics[a], pics[b]).getbbox() is not None


def test_build_writes_pngs_and_icos(tmp_path: Path) -> None:
    written = icons.build(tmp_path)
    assert (tmp_path / "running.ico").stat().st_size > 0
    assert (tmp_path / "error-22.png").exists()
    assert len(written) >= len(icons.STATES) * 2


def test_xdg_autostart_entry_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(tmp_path / "my home"))
    monkeypatch.setenv("LITELLM_BRIDGE_AUTOSTART", "xdg")
    autostart.backend.cache_clear()
    assert not autostart.is_enabled()
    autostart.enable()
    entry = tmp_path / "autostart" / "litellm-bridge.desktop"
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(entry)
    section = parser["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Exec"].startswith('env "LITELLM_BRIDGE_HOME=')
    assert "tray_agent tray" in section["Exec"]
    assert autostart.is_enabled()
    autostart.disable()
    assert not entry.exists() and not autostart.is_enabled()
    autostart.backend.cache_clear()


def test_windows_run_key_command_line_keeps_a_relocated_home() -> None:
    line = _autostart_win32._command_line(
        [r"C:\Program Files\LiteLLM Bridge\litellm-bridge.exe", "tray"],
        {"LITELLM_BRIDGE_HOME": r"D:\portable"},
    )
    assert '"C:\\Program Files\\LiteLLM Bridge\\litellm-bridge.exe" tray' in line
    assert r'set "LITELLM_BRIDGE_HOME=D:\portable"' in line
    assert _autostart_win32._command_line(["a.exe", "tray"], {}) == "a.exe tray"
