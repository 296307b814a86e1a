"""What the Status window's charts and the tray's headline cost the agent.

Fills a real metrics store with an hour of requests (default: 70/s for an hour, the store's
cap of 250,000) and times, in-process: ``summary()`` (the metrics call the Status window
makes every second, windows plus the per-minute chart series), the series alone (from the
minutes the store keeps up to date, and by a pass over every request for comparison), and
``headline()`` (the part of status the tray polls every 5 s). Then draws the three charts
of that summary on a Tk canvas at 100 % and 200 % (needs a display: run under
``scripts/with-desktop.sh``) and times a redraw.

Usage: .venv/bin/python -m bench.status_charts [--requests 250000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tray_agent.metrics.store import MetricsStore, series  # noqa: E402


def filled(n: int) -> MetricsStore:
    rng = random.Random(18)
    now = time.time()
    clock = [now - 3599.0]
    store = MetricsStore(clock=lambda: clock[0], max_records=max(n, 1))
    step = 3598.0 / max(n, 1)
    for i in range(n):
        clock[0] = now - 3599.0 + i * step
        store.record(
            {
                "route": "/v1/chat/completions",
                "model": ("corp-chat", "corp-coder", "corp-small")[i % 3],
                "status": 502 if rng.random() < 0.01 else 200,
                "latency_ms": rng.lognormvariate(6.0, 0.4),
                "stream": i % 2 == 0,
                "tokens_in": 500,
                "tokens_out": 100,
            }
        )
    clock[0] = now
    return store


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(median, max) in ms."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs), max(runs)


def draw_times(summary: dict[str, Any], repeat: int) -> None:
    if not os.environ.get("DISPLAY"):
        print("charts: no display (run under scripts/with-desktop.sh to time the drawing)")
        return
    from tray_agent.dialogs.base import make_root
    from tray_agent.dialogs.charts import LIGHT, Chart
    from tray_agent.dialogs.status_parts import chart_data

    for scale in (1, 2):
        os.environ["LITELLM_BRIDGE_UI_SCALE"] = str(scale)
        root = make_root("bench")
        charts = [Chart(root, t, scale=scale, palette=LIGHT) for t in ("a", "b", "c")]
        data = chart_data(summary, LIGHT)

        def draw(charts: list[Chart] = charts, data: Any = data, root: Any = root) -> None:
            for c in charts:
                c._last = None  # force the redraw a changed minute causes
            charts[0].draw(data.requests, "x")
            charts[1].draw(data.latency, "")
            charts[2].draw(data.errors, "y")
            root.update_idletasks()

        med, worst = timed(draw, repeat)
        print(f"charts redraw at {scale * 100} %: median {med:.1f} ms, max {worst:.1f} ms")
        root.destroy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    store = filled(args.requests)
    items = store.samples()
    print(f"store: {len(items)} requests in the last hour")
    med, worst = timed(store.summary, args.repeat)
    print(f"summary() (Status window, every 1 s): median {med:.1f} ms, max {worst:.1f} ms")
    now = store.clock()
    med, worst = timed(store.chart_series, args.repeat)
    print(f"  of which the chart series (kept minutes): median {med:.2f} ms, max {worst:.2f} ms")
    med, worst = timed(lambda: series(items, now), args.repeat)
    print(f"  (the same series by a pass over every request: median {med:.1f} ms)")
    med, worst = timed(store.headline, args.repeat)
    print(f"headline() (tray, every 5 s): median {med:.2f} ms, max {worst:.2f} ms")
    draw_times(store.summary(), args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
