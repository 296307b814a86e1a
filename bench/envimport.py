"""`env import` throughput: lines per second for growing .env files, printed as a table.

Usage: .venv/bin/python -m bench.envimport [--sizes 10000,100000,200000]
Each size runs the real CLI (`python -m tray_agent env import`) in a fresh temporary home,
plain values (no keyring). Linear import keeps lines/s roughly flat as the file grows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(lines: int) -> float:
    """Seconds one import of ``lines`` entries takes, process start included."""
    with tempfile.TemporaryDirectory() as tmp:
        dotenv = Path(tmp) / "big.env"
        dotenv.write_text("".join(f"VAR_{i}=value-{i}\n" for i in range(lines)))
        env = {**os.environ, "LITELLM_BRIDGE_HOME": str(Path(tmp) / "home")}
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "tray_agent", "env", "import", str(dotenv), "--plain"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        took = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"env import of {lines} lines failed: {done.stderr[-500:]}")
        return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,200000", help="comma-separated line counts")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(f"{'lines':>8} {'seconds':>9} {'lines/s':>10}")
    for lines in sizes:
        took = run_once(lines)
        print(f"{lines:>8} {took:>9.2f} {lines / took:>10,.0f}")


if __name__ == "__main__":
    main()
