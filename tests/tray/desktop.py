"""Helpers for tests on the private desktop: screenshots, windows, clicks, bus notifications."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


def require_desktop() -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs a display: run under scripts/with-desktop.sh")
    for tool in ("xdotool", "import", "xwininfo"):
        if not shutil.which(tool):
            pytest.skip(f"needs {tool}")


def screenshot(path: Path, window: str = "root", crop: str | None = None) -> Path:
    """``import`` (ImageMagick) of a window id or the root, optionally cropped (WxH+X+Y)."""
    cmd = ["import", "-window", window]
    if crop:
        cmd += ["-crop", crop, "+repage"]
    cmd.append(str(path))
    subprocess.run(cmd, check=True, timeout=20, capture_output=True)
    return path


@dataclass(frozen=True)
class Geometry:
    x: int
    y: int
    w: int
    h: int

    @property
    def crop(self) -> str:
        return f"{self.w}x{self.h}+{self.x}+{self.y}"

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2


_TREE = re.compile(r"^\s*(0x[0-9a-f]+) (.*?):.*?(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)\s*$")


def window_tree(root: str = "-root") -> list[tuple[str, str, Geometry]]:
    args = ["xwininfo", "-tree"] + (["-root"] if root == "-root" else ["-id", root])
    out = subprocess.run(args, capture_output=True, text=True, timeout=10).stdout
    found = []
    for line in out.splitlines():
        m = _TREE.match(line)
        if m:
            wid, name, w, h, x, y = m.groups()
            found.append((wid, name, Geometry(int(x), int(y), int(w), int(h))))
    return found


def tray_panel() -> Geometry:
    for _wid, name, geo in window_tree():
        if name.startswith('"panel"') and geo.w >= 40:
            return geo
    raise AssertionError("no trayer panel on this display")


def tray_icon_geometry(timeout: float = 15.0) -> Geometry:
    """Where the (single) embedded status icon sits inside trayer's panel."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        panel = tray_panel()
        icons = [
            g
            for _wid, name, g in window_tree()
            if 12 <= g.w <= 64
            and 12 <= g.h <= 64
            and panel.x <= g.x < panel.x + panel.w
            and panel.y <= g.y < panel.y + panel.h
            and not name.startswith('"panel"')
        ]
        if icons:
            return max(icons, key=lambda g: g.x)
        time.sleep(0.2)
    raise AssertionError("no icon was embedded in the tray host")


def find_window(title: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", title],
            capture_output=True,
            text=True,
            timeout=10,
        )
        ids = r.stdout.split()
        if ids:
            return ids[-1]
        time.sleep(0.2)
    raise AssertionError(f"no window titled {title!r} appeared")


def window_gone(title: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", title], capture_output=True, text=True
        )
        if not r.stdout.split():
            return True
        time.sleep(0.2)
    return False


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=20)


def click(x: int, y: int, button: int = 1) -> None:
    xdotool("mousemove", "--sync", str(x), str(y))
    time.sleep(0.2)
    xdotool("click", str(button))


def settled_screenshot(
    path: Path,
    window: str = "root",
    crop: str | None = None,
    unlike: Path | None = None,
    timeout: float = 30.0,
    quiet: float = 0.1,
) -> Path:
    """A screenshot taken once the picture shows the change and stopped changing.

    Grabs until the picture differs from ``unlike`` (the previous state's picture, when
    given) and two grabs ``quiet`` s apart are the same: the tray host and Tk draw
    asynchronously, so a fixed pause before the grab either wastes time or catches a
    half-drawn frame.
    """
    deadline = time.monotonic() + timeout
    previous = path.with_name(path.stem + ".previous.png")
    screenshot(previous, window, crop)
    while True:
        time.sleep(quiet)
        screenshot(path, window, crop)
        changed = unlike is None or differs(unlike, path)
        if changed and not differs(previous, path):
            previous.unlink(missing_ok=True)
            return path
        if time.monotonic() > deadline:
            previous.unlink(missing_ok=True)
            raise AssertionError(f"the picture for {path.name} did not settle in {timeout} s")
        path.replace(previous)


def differs(a: Path, b: Path) -> bool:
    from PIL import Image, ImageChops

    ia, ib = Image.open(a).convert("RGB"), Image.open(b).convert("RGB")
    if ia.size != ib.size:
        return True
    return ImageChops.difference(ia, ib).getbbox() is not None


class NotificationMonitor:
    """Notify calls seen on the session bus (``dbus-monitor``), as (summary, body) pairs."""

    def __init__(self) -> None:
        if not shutil.which("dbus-monitor") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            pytest.skip("needs dbus-monitor and a session bus")
        self.proc = subprocess.Popen(
            [
                "dbus-monitor",
                "--session",
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.5)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        block: list[str] = []
        for line in self.proc.stdout:
            if line.startswith("method call") and block:
                self._parse(block)
                block = []
            block.append(line)
            if len([x for x in block if x.strip().startswith("string ")]) >= 4:
                self._parse(block)
                block = []

    def _parse(self, block: list[str]) -> None:
        strings = [
            m.group(1)
            for m in (re.match(r'\s*string "(.*)"\s*$', ln) for ln in block)
            if m is not None
        ]
        if len(strings) >= 4:
            with self._lock:
                self.seen.append((strings[2], strings[3]))

    def mark(self) -> int:
        """A position: ``since=mark()`` looks only at notifications shown after it."""
        with self._lock:
            return len(self.seen)

    def wait_for(self, needle: str, timeout: float = 30.0, since: int = 0) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for summary, body in self.matching(needle, since):
                return summary, body
            time.sleep(0.1)
        raise AssertionError(f"no notification containing {needle!r}; seen: {self.seen}")

    def matching(self, needle: str, since: int = 0) -> list[tuple[str, str]]:
        with self._lock:
            return [(s, b) for s, b in self.seen[since:] if needle in s or needle in b]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


def focus(wid: str) -> None:
    """Give ``wid`` the keyboard focus (no window manager here) once it is mapped."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        out = subprocess.run(["xwininfo", "-id", wid], capture_output=True, text=True).stdout
        if "IsViewable" in out:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    subprocess.run(["xdotool", "windowfocus", "--sync", wid], timeout=20, check=False)
    time.sleep(0.3)


def key_until_gone(wid: str, title: str, key: str, attempts: int = 5) -> bool:
    """Press ``key`` in window ``wid`` until the window titled ``title`` has closed."""
    for _ in range(attempts):
        focus(wid)
        subprocess.run(["xdotool", "key", key], timeout=20, check=False)
        if window_gone(title, timeout=3):
            return True
    return False


def popup_menus() -> list[Geometry]:
    """Open tray menu popups (tall override-redirect windows near the panel)."""
    panel = tray_panel()
    return [
        g
        for wid, name, g in window_tree()
        if 120 <= g.w <= 700
        and 200 <= g.h <= 900
        and g.y <= panel.y + panel.h + 40
        and not name.startswith('"panel"')
        and g.x + g.w >= panel.x - 400
        and viewable(wid)  # a closed menu can stay in the tree, unmapped
    ]


def viewable(wid: str) -> bool:
    out = subprocess.run(["xwininfo", "-id", wid], capture_output=True, text=True).stdout
    return "IsViewable" in out


def popup_menu(timeout: float = 10.0) -> Geometry:
    """The tray menu's popup window."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        menus = popup_menus()
        if menus:
            return max(menus, key=lambda g: g.h)
        time.sleep(0.2)
    raise AssertionError("the tray menu did not pop up")
