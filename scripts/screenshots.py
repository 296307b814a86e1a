"""Regenerate the Status window screenshots in docs/screenshots/ (100 % and 200 %).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts its own Xvfb, large enough for the window at 200 %, and shows the real Status dialog
fed with a scripted agent: a busy hour of requests recorded in a real metrics store, an
organization policy with quotas and locks, and a verified audit log. Needs Xvfb and
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
    if scale == 1:
        shutil.copy(out / "status-100.png", out / "status.png")  # the README's picture
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="lb-")) / "litellm-bridge"
    home.mkdir()
    try:
        paths = get_paths({"LITELLM_BRIDGE_HOME": str(home)})
        paths.ensure()
        paths.agent_log.write_text("")
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
