"""Sidecar cold start to ready (median of N) and agent/sidecar memory, printed as a table.

Usage: .venv/bin/python -m bench.startup [--runs 5]
Runs an agent in a temporary home on the demo profile; loopback only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.agentproc import AgentProc, write_config  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tray_agent.control.client import ControlClient  # noqa: E402
from tray_agent.paths import get_paths  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        write_config(home, free_port())
        os.environ["LITELLM_BRIDGE_HOME"] = str(home)
        agent = AgentProc(home, start_sidecar=False)
        try:
            paths = get_paths()
            client = None
            deadline = time.monotonic() + 30
            while client is None and time.monotonic() < deadline:
                client = ControlClient.connect(paths)
                time.sleep(0.1)
            assert client is not None, agent.output()
            time.sleep(2)
            agent_rss = psutil.Process(agent.proc.pid).memory_info().rss
            times = []
            sidecar_rss = 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                sc = client.call("start", timeout=300)
                times.append(time.perf_counter() - t0)
                sidecar_rss = psutil.Process(sc["pid"]).memory_info().rss
                client.call("stop", timeout=120)
            client.close()
        finally:
            agent.stop()
    print(f"{'metric':<38} {'value':>10}")
    print(f"{'sidecar cold start to ready, median':<38} {statistics.median(times):>9.2f}s")
    print(f"{'  min / max':<38} {min(times):>5.2f}/{max(times):.2f}s")
    print(f"{'agent RSS idle (headless)':<38} {agent_rss / 2**20:>8.1f}MB")
    print(f"{'sidecar RSS after start':<38} {sidecar_rss / 2**20:>8.1f}MB")


if __name__ == "__main__":
    main()
