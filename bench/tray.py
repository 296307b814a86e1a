"""How fast the tray picture follows a menu click: Start -> "starting", Stop -> "stopped".

Usage: scripts/with-desktop.sh .venv/bin/python -m bench.tray [--runs 5]
Runs a real tray (and sidecar) on the private desktop in a temporary home; the time is from
the menu item's activation until the tray reports the new picture set on its icon.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.agentproc import write_config  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.tray.trayproc import TrayProc  # noqa: E402


def until_icon(tray: TrayProc, icon: str, timeout: float) -> float:
    began = time.perf_counter()
    tray.wait_for(lambda d: d["icon"] == icon, timeout, f"the {icon} picture")
    return time.perf_counter() - began


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    start_ms: list[float] = []
    stop_ms: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        write_config(home, free_port())
        tray = TrayProc(home, "--no-start", "--no-wizard")
        try:
            for _ in range(args.runs):
                began = time.perf_counter()
                assert tray.click("start")
                until_icon(tray, "starting", 30)
                start_ms.append((time.perf_counter() - began) * 1000)
                until_icon(tray, "running", 300)
                began = time.perf_counter()
                assert tray.click("stop")
                until_icon(tray, "stopped", 120)
                stop_ms.append((time.perf_counter() - began) * 1000)
        finally:
            tray.stop()
    med = statistics.median
    print(f"{'metric':<44} {'value':>14}")
    print(
        f"{f'click Start -> starting picture, median of {args.runs}':<44} {med(start_ms):>11.0f} ms"
    )
    print(f"{'  max':<44} {max(start_ms):>11.0f} ms")
    print(f"{'click Stop -> stopped picture (after drain)':<44} {med(stop_ms):>11.0f} ms")


if __name__ == "__main__":
    main()
