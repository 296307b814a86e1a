"""What the audit log costs per request, and how big it gets.

1. Side by side, end to end: two identical sidecars (fast path on, as shipped) against the
   stand-in internal LLM; the request events of one are consumed by the agent's real audit
   writer (``AuditWriter``: its core-thread observer, its worker thread appending batches
   with fsync and checkpoints), those of the other only collected. Requests alternate one
   by one (order flipping), so drift hits both alike. The writer runs in this process, the
   client's, so it competes with the client for the CPU: if anything this overstates it.
2. In process, per event: the sidecar's share on the request path (request id, client tool
   from the User-Agent), the writer's observer on the agent's core thread (fields, queue)
   and its worker's append per event at the batch sizes a 0.5 s flush sees.
3. Size: bytes of the log per 10,000 requests (checkpoints every 1,000), and of each export
   format of it; how long exporting and verifying each takes.

The end-to-end difference is a difference of two medians of loopback requests of a few ms;
an A/A round first (no writer on either) shows how big such a difference is by chance on
this machine. Part 2 says what the writer itself costs, and what lies on the request path.

Usage: .venv/bin/python -m bench.audit [--requests 400]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.overhead import (  # noqa: E402
    READY_TIMEOUT,
    WARMUP_REQUESTS,
    Target,
    one_request,
    percentile,
    start_standin,
)
from bench.policy_overhead import MODEL, apply, launch, write_config  # noqa: E402
from tests.helpers.sidecar import Sidecar  # noqa: E402
from tests.standins.tokens import mint  # noqa: E402
from tray_agent.paths import get_paths  # noqa: E402
from tray_agent.secrets import MemoryStore  # noqa: E402

KINDS = ("chat", "chat-stream")
EMPLOYEE = "employee-1"
TARGET_MS = 0.2


class _Agent:
    """What ``AuditWriter`` asks of the agent core: observers, a snapshot, a post box."""

    latest_prepared = None

    def __init__(self) -> None:
        self.observers: dict[str, list[Any]] = {}

    def on(self, name: str, fn: Any) -> None:
        self.observers.setdefault(name, []).append(fn)

    def subscribe(self, fn: Any) -> None:
        pass

    def snapshot(self) -> dict[str, Any]:
        return {"token": {"state": "valid", "employee_id": EMPLOYEE}}

    def post(self, message: Any) -> None:
        pass

    def emit(self, name: str, payload: dict[str, Any]) -> None:
        for fn in self.observers.get(name, ()):
            fn(payload)


def make_writer(home: Path) -> tuple[Any, _Agent]:
    from tray_agent.audit.writer import AuditWriter

    paths = get_paths({"LITELLM_BRIDGE_HOME": str(home)})
    paths.ensure()
    agent = _Agent()
    host = SimpleNamespace(
        agent=agent,
        paths=paths,
        secrets=MemoryStore(),
        status_extras={},
        handlers={},
        extensions=[],
    )
    return AuditWriter(host), agent  # type: ignore[arg-type]


def consume(sidecar: Sidecar, agent: _Agent, stop: threading.Event) -> threading.Thread:
    """Hand each request event of ``sidecar`` to the writer's observer, as the core does."""

    def run() -> None:
        seen = 0
        while not stop.is_set():
            events = sidecar.request_events()
            for payload in events[seen:]:
                agent.emit("request", payload)
            seen = len(events)
            time.sleep(0.002)

    thread = threading.Thread(target=run, name="audit-feed", daemon=True)
    thread.start()
    return thread


def interleaved(plain: Target, audited: Target, kind: str, requests: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"off": [], "on": []}
    with httpx.Client(timeout=30) as a, httpx.Client(timeout=30) as b:
        pairs = {"off": (a, plain), "on": (b, audited)}
        for client, target in pairs.values():
            for _ in range(WARMUP_REQUESTS):
                one_request(client, target, kind)
        for index in range(requests):
            for state in ("off", "on") if index % 2 == 0 else ("on", "off"):
                client, target = pairs[state]
                began = time.perf_counter()
                ok, _first = one_request(client, target, kind)
                if ok:
                    out[state].append((time.perf_counter() - began) * 1000)
    return out


def end_to_end(requests: int, home: Path) -> dict[str, float]:
    token, _ = mint(EMPLOYEE, 3600)
    standin, upstream = start_standin()
    sidecars: dict[str, Sidecar] = {}
    writer, agent = make_writer(home)
    stop = threading.Event()
    try:
        config = write_config(home, upstream)
        sidecars = {state: launch(home, config, state) for state in ("off", "on")}
        for sidecar in sidecars.values():
            sidecar.wait_ready(READY_TIMEOUT)
            apply(sidecar, None, token)
        targets = {
            state: Target("fast", s.url, s.auth, {}, s.pid, KINDS) for state, s in sidecars.items()
        }
        # A/A first: the same comparison with no writer at all shows how much of a
        # difference this machine makes up by itself.
        same = interleaved(targets["off"], targets["on"], "chat", requests)
        noise = statistics.median(same["on"]) - statistics.median(same["off"])
        print(f"A/A (no audit on either, chat): p50 difference {noise:+.3f} ms")
        writer.start()
        feed = consume(sidecars["on"], agent, stop)
        added: dict[str, float] = {"aa_noise": round(noise, 4)}
        print(f"{'kind':<12} {'audit':<6} {'p50 ms':>8} {'p95 ms':>8} {'n':>6}")
        for kind in KINDS:
            lat = interleaved(targets["off"], targets["on"], kind, requests)
            for state, values in lat.items():
                print(
                    f"{kind:<12} {state:<6} {statistics.median(values):>8.3f} "
                    f"{percentile(values, 0.95):>8.3f} {len(values):>6}"
                )
            added[kind] = round(statistics.median(lat["on"]) - statistics.median(lat["off"]), 4)
        time.sleep(1.5)  # the last events reach the writer and the disk
        stop.set()
        feed.join(5)
        writer.stop()
        sent = len(sidecars["on"].request_events())
        print(f"request lines in the audit log: {request_lines(writer.dir)} (sidecar sent {sent})")
        return added
    finally:
        stop.set()
        for sidecar in sidecars.values():
            sidecar.stop()
        standin.terminate()
        standin.wait(10)


def request_lines(audit_dir: Path) -> int:
    from tray_agent.audit.log import lines_of, log_files

    return sum(
        1
        for path in log_files(audit_dir)
        for _n, raw, _c in lines_of(path)
        if b'"event":"request"' in raw
    )


def _median_us(fn: Any, samples: int) -> float:
    timings = []
    for _ in range(samples):
        began = time.perf_counter_ns()
        fn()
        timings.append((time.perf_counter_ns() - began) / 1000)
    return statistics.median(timings)


def payload(i: int) -> dict[str, Any]:
    return {
        "event": "request",
        "request_id": f"{i:032x}",
        "route": "/v1/chat/completions",
        "client": "claude-cli/2.0.1",
        "model": MODEL,
        "status": 200,
        "latency_ms": 1.234,
        "stream": False,
        "tokens_in": 12,
        "tokens_out": 34,
    }


def in_process(home: Path, samples: int = 20000) -> dict[str, float]:
    from sidecar import metrics

    headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"claude-cli/2.0.1 (external, cli)")]
    sidecar_us = _median_us(lambda: (metrics._request_id(), metrics.client_of(headers)), samples)
    writer, agent = make_writer(home / "core")
    i = iter(range(10**9))
    observer_us = _median_us(lambda: agent.emit("request", payload(next(i))), samples)
    print(f"sidecar, on the request path: request id + client tool  {sidecar_us:7.2f} us")
    print(f"agent core thread, per event: fields + queue           {observer_us:7.2f} us")
    log = writer.log
    out = {"sidecar_us": sidecar_us, "observer_us": observer_us}
    for batch in (1, 10, 100, 1000):
        rounds = max(5, 2000 // batch)
        events = [("request", dict(payload(n))) for n in range(batch)]
        began = time.perf_counter()
        for r in range(rounds):
            log.append(events, seal=r % max(1, 1000 // batch) == 0)
        per = (time.perf_counter() - began) / (rounds * batch) * 1e6
        out[f"append_us_batch_{batch}"] = per
        print(f"writer thread, append + fsync per event, batch {batch:>4}: {per:9.2f} us")
    return out


def sizes(home: Path, n: int = 10_000) -> dict[str, int]:
    """Bytes of the log the writer makes of ``n`` request events, and of its exports."""
    from tray_agent.audit.export import export_log
    from tray_agent.audit.keys import trusted_keys
    from tray_agent.audit.log import log_files
    from tray_agent.audit.verify import verify_path

    writer, agent = make_writer(home / "size")
    for i in range(n):
        agent.emit("request", payload(i))
        if i % 100 == 99:
            writer.flush()  # a 0.5 s flush at 200 requests/s; a checkpoint every 1,000
    writer.flush(final=True)
    audit, signer = writer.dir, writer.log.signer
    out = {"log": sum(p.stat().st_size for p in log_files(audit))}
    timings = []
    for fmt in ("jsonl", "ocsf", "cef"):
        target = home / "size" / f"export.{fmt}"
        began = time.perf_counter()
        export_log(audit, target, fmt, signer, trusted_keys(audit))
        made = time.perf_counter() - began
        report = verify_path(target, trusted_keys(audit))
        assert report.ok, report.problem
        timings.append(f"{fmt} {made:.2f} s + verify {time.perf_counter() - began - made:.2f} s")
        out[fmt] = target.stat().st_size
    print(f"export of {n:,} requests: " + "; ".join(timings))
    print(
        f"\nper {n:,} requests: log {out['log'] / 1e6:.2f} MB; exports: "
        + ", ".join(f"{f} {out[f] / 1e6:.2f} MB" for f in ("jsonl", "ocsf", "cef"))
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="per kind and state")
    parser.add_argument("--no-e2e", action="store_true", help="only the in-process numbers")
    args = parser.parse_args(argv)
    requests = max(20, min(args.requests, 5000))
    with tempfile.TemporaryDirectory(prefix="bridge-audit-bench-") as tmp:
        home = Path(tmp)
        added = {} if args.no_e2e else end_to_end(requests, home / "e2e")
        if added:
            print(
                "\np50 added by the audit writer (ms), side by side: "
                + "   ".join(f"{k} {v:+.3f}" for k, v in added.items() if k != "aa_noise")
            )
        print()
        direct = in_process(home)
        size = sizes(home)
    on_path_ms = direct["sidecar_us"] / 1000
    off_path_ms = (direct["observer_us"] + direct["append_us_batch_100"]) / 1000
    print(
        f"\nadded on the request path (sidecar, measured directly): {on_path_ms:.4f} ms p50; "
        f"target <= {TARGET_MS} ms: {on_path_ms <= TARGET_MS}\n"
        f"the writer's work, off the request path, per event: {off_path_ms:.4f} ms"
    )
    if added:
        worst = max(v for k, v in added.items() if k != "aa_noise")
        print(
            f"end to end: worst p50 difference {worst:+.3f} ms against an A/A difference of "
            f"{added['aa_noise']:+.3f} ms; within the target: {worst <= TARGET_MS}"
        )
    print(json.dumps({"added_p50_ms": added, "in_process_us": direct, "bytes_per_10k": size}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
