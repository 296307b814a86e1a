"""Regenerate the Status window and tray menu screenshots in docs/screenshots/ (100 % and
200 %).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
    scripts/with-desktop.sh .venv/bin/python scripts/screenshots.py --tray

Starts its own Xvfb, large enough for the window at 200 %, and shows the real Status dialog
fed with a scripted agent: a busy hour of requests recorded in a real metrics store, an
organization policy with quotas and locks, and a verified audit log. ``--tray`` runs the
real tray (agent, sidecar, two requests) in the test desktop's tray host. Needs Xvfb and
ImageMagick's ``import`` (installed by ``scripts/setup.sh --dev``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tkinter as tk
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tray_agent.dialogs.base import make_root  # noqa: E402
from tray_agent.dialogs.charts import DARK, Chart  # noqa: E402
from tray_agent.dialogs.status import StatusDialog  # noqa: E402
from tray_agent.dialogs.status_parts import chart_data  # noqa: E402
from tray_agent.metrics.store import MetricsStore  # noqa: E402
from tray_agent.paths import Paths, get_paths  # noqa: E402

SCREEN = "3000x2000x24"
LOG = "".join(
    f"2026-12-02T09:{m:02d}:{s:02d}.000Z {level:<7} {where} {text}\n"
    for m, s, level, where, text in (
        (12, 4, "INFO", "core", "agent.started keyring=Secret Service"),
        (12, 5, "INFO", "core", "sidecar.starting generation=1 port=4000"),
        (12, 19, "INFO", "core", "sidecar.ready generation=1 pid=3144 took=14.2s"),
        (12, 20, "INFO", "token", "token.refreshed expires_in=18000"),
        (44, 2, "WARNING", "metrics", "upstream.error status=502 model=corp-chat"),
        (44, 3, "INFO", "core", "upstream.retry model=corp-chat ok=true"),
        (51, 40, "INFO", "policy", "policy.loaded source=/etc/litellm-bridge/policy.json"),
    )
)


@contextlib.contextmanager
def own_display() -> Iterator[None]:
    """A private X server (the shared test desktop is too small for 200 %)."""
    for n in range(140, 180):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            break
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", SCREEN, "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ["DISPLAY"] = f":{n}"
    try:
        for _ in range(100):
            if subprocess.run(["xdpyinfo"], capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def busy_hour(now: float) -> dict[str, Any]:
    """A real store's summary after an hour of traffic with a lunchtime peak and a blip."""
    rng = random.Random(18)
    clock = [now - 3600.0]
    store = MetricsStore(clock=lambda: clock[0])
    for minute in range(60):
        load = 6 + int(10 * max(0.0, 1 - abs(minute - 38) / 14)) + rng.randint(0, 3)
        for _ in range(load):
            clock[0] = now - 3600 + minute * 60 + rng.uniform(0, 59)
            slow = 1.0 + (2.2 if 44 <= minute <= 47 else 0.0)
            store.record(
                {
                    "route": "/v1/chat/completions",
                    "model": rng.choice(["corp-chat", "corp-chat", "corp-coder"]),
                    "status": 502 if 44 <= minute <= 46 and rng.random() < 0.3 else 200,
                    "latency_ms": rng.lognormvariate(6.0, 0.35) * slow,
                    "stream": rng.random() < 0.6,
                    "tokens_in": rng.randint(200, 3000),
                    "tokens_out": rng.randint(20, 900),
                }
            )
    clock[0] = now
    store.set_in_flight(requests=2, connections=5)
    return store.summary()


def snapshot(paths: Paths, now: float) -> dict[str, Any]:
    return {
        "agent": {"pid": 3120, "version": "0.1.0"},
        "sidecar": {
            "state": "running",
            "pid": 3144,
            "url": "http://127.0.0.1:4000",
            "restarts": 0,
            "error": None,
            "last_output": [],
        },
        "config": {"path": str(paths.config_file), "valid": True, "errors": []},
        "token": {"state": "valid", "expires_at": now + 5 * 3600, "employee_id": "e1001"},
        "keyring": {"persistent": True, "backend": "Secret Service"},
        "policy": {
            "state": "policy",
            "locked": {"config": False, "env": ["CORP_LLM_KEY"], "iam": True, "autostart": True},
            "usage": {
                "requests_today": 412,
                "tokens_today": 388_000,
                "tokens_month": 5_100_000,
                "resets": {"day": now + 6 * 3600, "month": now + 12 * 86400},
                "quota": {
                    "requests_per_day": 2000,
                    "tokens_per_day": 500_000,
                    "tokens_per_month": 8_000_000,
                },
            },
        },
        "audit": {
            "last_verify": {
                "ok": True,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 600)),
                "events": 1873,
                "problem": None,
            }
        },
    }


class ScriptedServices:
    """What the dialog asks of the agent, answered from the data above."""

    def __init__(self, paths: Paths, now: float) -> None:
        self.paths = paths
        self.snap = snapshot(paths, now)
        self.summary = busy_hour(now)

    def call(self, method: str, timeout: float = 120.0, **params: Any) -> Any:
        if method == "status":
            return self.snap
        raise RuntimeError(f"not scripted: {method}")

    def metrics(self) -> dict[str, Any]:
        return self.summary


def pump(roots: list[tk.Tk], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for r in roots:
            r.update()
        time.sleep(0.01)


def close(root: tk.Tk) -> None:
    for job in root.tk.splitlist(root.tk.call("after", "info")):
        root.after_cancel(job)  # the dialog's poll would fire into a destroyed window
    root.destroy()


def grab(window_id: str, path: Path) -> None:
    subprocess.run(["import", "-window", window_id, str(path)], check=True, timeout=30)
    print(path)


def status_shot(services: ScriptedServices, scale: int, out: Path) -> None:
    os.environ["LITELLM_BRIDGE_UI_SCALE"] = str(scale)
    root = make_root(StatusDialog.title)
    dlg = StatusDialog(root, {}, services)  # type: ignore[arg-type]
    root.geometry("+0+0")
    pump([root], 2.5)
    assert sum(dlg.charts["requests"].drawn.get("last min") or [0]) > 0, "charts are empty"
    grab(root.wm_frame(), out / f"status-{scale * 100}.png")
    dlg.show_log()
    pump([root], 1.0)
    grab(root.wm_frame(), out / f"status-log-{scale * 100}.png")
    if scale == 1:  # the README's pictures
        shutil.copy(out / "status-100.png", out / "status.png")
        shutil.copy(out / "status-log-100.png", out / "status-log.png")
    close(root)


def dark_charts_shot(services: ScriptedServices, scale: int, out: Path) -> None:
    """The charts on a dark window (they take the dark palette from the background)."""
    os.environ["LITELLM_BRIDGE_UI_SCALE"] = str(scale)
    root = make_root("charts")
    root.configure(background=DARK.background)
    row = tk.Frame(root, background=DARK.background, padx=8 * scale, pady=8 * scale)
    row.pack()
    data = chart_data(services.summary, DARK)
    for i, (title, unit, series, caption) in enumerate(
        (
            ("Requests per minute", "", data.requests, data.captions[0]),
            ("Latency p50 / p95 (ms)", " ms", data.latency, ""),
            ("Errors per minute", "", data.errors, data.captions[2]),
        )
    ):
        chart = Chart(row, title, unit, scale=scale)
        assert chart.palette is DARK
        chart.draw(series, caption)
        chart.canvas.grid(row=0, column=i, padx=(0 if i == 0 else 8 * scale, 0))
    root.geometry("+0+0")
    pump([root], 1.0)
    grab(root.wm_frame(), out / f"status-charts-dark-{scale * 100}.png")
    close(root)


def popup(desktop: Any, timeout: float = 10.0) -> Any:
    """The open tray menu: the test helper's search, with room for a menu at 200 %."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        panel = desktop.tray_panel()
        menus = [
            g
            for wid, name, g in desktop.window_tree()
            if 120 <= g.w <= 2000
            and 200 <= g.h <= 1600
            and not name.startswith('"panel"')
            and desktop.viewable(wid)
            and g.y <= panel.y + panel.h + 40
        ]
        if menus:
            return max(menus, key=lambda g: g.h)
        time.sleep(0.2)
    raise AssertionError("the tray menu did not pop up")


def tray_menu_shots(out: Path) -> None:
    """The real tray's menu (headline with requests per minute) at 100 % and 200 % (GTK's
    GDK_SCALE): a real agent and sidecar behind it, two real requests sent through it."""
    import httpx

    from tests.agentproc import write_config
    from tests.conftest import free_port
    from tests.tray import desktop
    from tests.tray.trayproc import TrayProc
    from tray_agent.control.client import ControlClient

    for scale in (1, 2):
        root = Path(tempfile.mkdtemp(prefix="lb-tray-"))
        home = root / "home"
        home.mkdir()
        write_config(home, free_port())
        tray = TrayProc(home, "--no-start", "--no-wizard", extra_env={"GDK_SCALE": str(scale)})
        try:
            client = ControlClient.connect(tray.paths)
            assert client is not None, "the tray's agent did not answer"
            with client:
                sc = client.call("start", timeout=300)
                key = client.call("key")["key"]
            for _ in range(2):
                httpx.post(
                    sc["url"] + "/v1/chat/completions",
                    headers={"Authorization": f"Bearer {key}"},
                    json={"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]},
                    timeout=60,
                ).raise_for_status()
            tray.wait_for(lambda d: "2 requests/min" in d["tooltip"], 30, "the headline")
            x, y = desktop.tray_icon_geometry().center
            desktop.click(x, y, 3)
            menu = popup(desktop)
            panel = desktop.tray_panel()
            left = max(0, min(menu.x, panel.x) - 16)
            bottom = max(menu.y + menu.h, panel.y + panel.h) + 16
            area = desktop.Geometry(left, 0, panel.x + panel.w - left, bottom)
            path = out / f"tray-menu-{scale * 100}.png"
            desktop.settled_screenshot(path, crop=area.crop, quiet=0.3)
            print(path)
            desktop.xdotool("key", "Escape")
            if scale == 1:
                shutil.copy(path, out / "tray-menu.png")
        finally:
            tray.stop()
            shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--tray",
        action="store_true",
        help="the tray menu instead (run under scripts/with-desktop.sh: it needs a tray host)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.tray:
        tray_menu_shots(args.out)
        return 0
    home = Path(tempfile.mkdtemp(prefix="lb-")) / "litellm-bridge"
    home.mkdir()
    try:
        paths = get_paths({"LITELLM_BRIDGE_HOME": str(home)})
        paths.ensure()
        paths.agent_log.write_text(LOG)
        paths.sidecar_log.write_text("")
        services = ScriptedServices(paths, time.time())
        with own_display():
            for scale in (1, 2):
                status_shot(services, scale, args.out)
                dark_charts_shot(services, scale, args.out)
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
