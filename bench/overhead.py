"""Per-request cost of the bridge, side by side in one run.

Paths, all against the same stand-in internal LLM (separate process, no delay):
  direct    the stand-in itself, token and project written by the client
  litellm   the sidecar without the bridge hook (effective config without the callback,
            token and project as a plain ``extra_body`` in ``litellm_params``)
  hook      the sidecar as shipped, fast path off (LiteLLM + bridge hook)
  fast      the sidecar as shipped, fast path on (chat, /v1/messages and /v1/responses
            served by the fast path)
  ccr       claude-code-router (pinned, bench/install_ccr.sh; log off) translating
            /v1/messages to chat for the same stand-in (an open model: it cannot add the
            token); its row is skipped with the reason when it cannot be installed or started

For each: chat and chat streaming (and /v1/messages and /v1/responses, streaming or not, on
the sidecar paths), sequential and ``--concurrency`` clients at once. Prints p50/p95 latency,
time to first byte for streams, throughput and the process's CPU time per request (psutil
``cpu_times`` over the run / requests), then the sidecars' memory before and after the run.
Loopback only; bounded by ``--requests`` and the start-up timeout.

Usage: .venv/bin/python -m bench.overhead [--requests 200] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import ccr_router  # noqa: E402
from tests.helpers.sidecar import HOOK_CALLBACK, Sidecar, launch_sidecar  # noqa: E402
from tests.standins.tokens import mint  # noqa: E402

MODEL = "internal-model"
PROJECT = "proj-42"
MESSAGES = [{"role": "user", "content": "hello"}]
READY_TIMEOUT = 400.0
WARMUP_REQUESTS = 10
KINDS = (
    "chat",
    "chat-stream",
    "messages",
    "messages-stream",
    "responses",
    "responses-stream",
)
MESSAGE_KINDS = ("messages", "messages-stream")
TRANSLATED_KINDS = (*MESSAGE_KINDS, "responses", "responses-stream")
CCR_KEY = "bench-ccr-key"
OPEN_MODEL = "open-model"


@dataclass
class Target:
    name: str
    url: str
    headers: dict[str, str]
    extra: dict[str, Any]
    pid: int | None
    kinds: tuple[str, ...]
    model: str = MODEL


@dataclass
class Row:
    target: str
    kind: str
    clients: int
    latencies: list[float]
    seconds: float
    cpu_ms: float | None
    failures: int
    first_bytes: list[float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_standin() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            *("-m", "tests.standins.llm", "--port", str(port), "--open-model", OPEN_MODEL),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/v1/models", timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("stand-in LLM did not start")


def write_config(directory: Path, name: str, upstream: str, token: str | None) -> Path:
    params: dict[str, Any] = {
        "model": f"hosted_vllm/{MODEL}",
        "api_base": upstream + "/v1",
        "api_key": "none",
        "use_chat_completions_api": True,
    }
    config: dict[str, Any] = {
        "model_list": [{"model_name": MODEL, "litellm_params": params}],
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
        "router_settings": {"disable_cooldowns": True},
    }
    if token is None:
        config["litellm_settings"] = {"callbacks": [HOOK_CALLBACK]}
    else:
        params["extra_body"] = {"token": token, "project": PROJECT}
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def one_request(client: httpx.Client, target: Target, kind: str) -> tuple[bool, float | None]:
    """Whether it succeeded, and for a stream the milliseconds to its first body bytes."""
    stream = kind.endswith("-stream")
    body: dict[str, Any]
    if kind.startswith("messages"):
        path = "/v1/messages"
        body = {"model": target.model, "messages": MESSAGES, "max_tokens": 32}
    elif kind.startswith("responses"):
        path = "/v1/responses"
        body = {"model": target.model, "input": "hello"}
    else:
        path = "/v1/chat/completions"
        body = {"model": target.model, "messages": MESSAGES}
    body.update(target.extra)
    if stream:
        body["stream"] = True
        began = time.perf_counter()
        first: float | None = None
        with client.stream("POST", target.url + path, json=body, headers=target.headers) as r:
            for _ in r.iter_bytes():
                if first is None:
                    first = (time.perf_counter() - began) * 1000
            return r.status_code == 200, first
    response = client.post(target.url + path, json=body, headers=target.headers)
    return response.status_code == 200, None


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / (1 << 20)


def cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def measure(target: Target, kind: str, clients: int, requests: int) -> Row:
    per_client = max(1, requests // clients)
    latencies: list[float] = []
    first_bytes: list[float] = []
    failures = [0]
    lock = threading.Lock()
    sessions = [httpx.Client(timeout=30) for _ in range(clients)]
    for session in sessions:
        for _ in range(max(1, WARMUP_REQUESTS // clients)):
            one_request(session, target, kind)

    def worker(session: httpx.Client) -> None:
        mine: list[float] = []
        firsts: list[float] = []
        bad = 0
        for _ in range(per_client):
            began = time.perf_counter()
            ok, first = one_request(session, target, kind)
            mine.append((time.perf_counter() - began) * 1000)
            if first is not None:
                firsts.append(first)
            bad += not ok
        with lock:
            latencies.extend(mine)
            first_bytes.extend(firsts)
            failures[0] += bad

    cpu_before = cpu_seconds(target.pid)
    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    cpu_after = cpu_seconds(target.pid)
    for session in sessions:
        session.close()
    cpu_ms = None
    if cpu_before is not None and cpu_after is not None:
        cpu_ms = (cpu_after - cpu_before) * 1000 / len(latencies)
    return Row(target.name, kind, clients, latencies, seconds, cpu_ms, failures[0], first_bytes)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


HEADER = (
    f"{'path':<8} {'kind':<16} {'clients':>7} {'p50 ms':>8} {'p95 ms':>8} {'TTFB p50':>8} "
    f"{'req/s':>7} {'CPU ms/req':>10} {'fail':>5}"
)


def format_row(row: Row) -> str:
    cpu = f"{row.cpu_ms:.2f}" if row.cpu_ms is not None else "-"
    first = f"{statistics.median(row.first_bytes):.2f}" if row.first_bytes else "-"
    return (
        f"{row.target:<8} {row.kind:<16} {row.clients:>7} "
        f"{statistics.median(row.latencies):>8.2f} {percentile(row.latencies, 0.95):>8.2f} "
        f"{first:>8} {len(row.latencies) / row.seconds:>7.0f} {cpu:>10} {row.failures:>5}"
    )


def print_summary(rows: list[Row]) -> None:
    """Medians side by side: what LiteLLM adds over direct, what the hook adds over LiteLLM."""
    cells = {(r.target, r.kind, r.clients): r for r in rows}
    print("\nadded p50 latency (ms) and sidecar CPU (ms/request):")
    for (target, kind, clients), row in cells.items():
        if target == "direct":
            continue
        base_name = "litellm" if target in ("hook", "fast") else "direct"
        base = cells.get((base_name, kind, clients))
        if base is None:
            continue
        added = statistics.median(row.latencies) - statistics.median(base.latencies)
        cpu = f"{row.cpu_ms:.2f}" if row.cpu_ms is not None else "-"
        base_cpu = f"{base.cpu_ms:.2f}" if base.cpu_ms is not None else "-"
        print(
            f"  {target:<8} vs {base_name:<8} {kind:<16} x{clients}: "
            f"p50 {added:+8.2f} ms, CPU {base_cpu:>6} -> {cpu:>6} ms/req"
        )
    print_targets(cells)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_targets(cells: dict[tuple[str, str, int], Row]) -> None:
    """The issue's targets for the fast path's translated routes, each with its verdict."""
    print("\n/v1/messages and /v1/responses on the fast path against ccr, LiteLLM and direct:")
    for (target, kind, clients), row in cells.items():
        if target != "fast" or kind not in TRANSLATED_KINDS:
            continue
        ccr, hook = cells.get(("ccr", kind, clients)), cells.get(("hook", kind, clients))
        p50 = _median(row.latencies)
        line = f"  {kind:<16} x{clients}: fast p50 {p50:.2f} ms"
        if ccr is not None:
            ccr_p50 = _median(ccr.latencies)
            verdict = "ok" if p50 <= ccr_p50 else "MISSED"
            line += f", ccr {ccr_p50:.2f} ms ({verdict})"
        if hook is not None and hook.cpu_ms and row.cpu_ms is not None:
            share = row.cpu_ms / hook.cpu_ms
            line += f"; CPU {row.cpu_ms:.2f} vs LiteLLM {hook.cpu_ms:.2f} ms/req = {share:.2f}"
            line += " (ok)" if share <= 0.25 else " (MISSED)"
        direct = cells.get(("direct", "chat-stream", clients))
        if kind.endswith("-stream") and direct is not None and row.first_bytes:
            added = _median(row.first_bytes) - _median(direct.first_bytes)
            line += f"; TTFB {added:+.2f} ms over direct chat stream"
        print(line)


def launch_all(directory: Path, upstream: str, token: str) -> dict[str, Sidecar]:
    inject = {MODEL: {"token": ["token"], "literal": {"project": PROJECT}}}
    plans: dict[str, Callable[[], Sidecar]] = {
        "litellm": lambda: launch_sidecar(
            write_config(directory, "litellm", upstream, token),
            log_path=directory / "litellm.log",
        ),
        "hook": lambda: launch_sidecar(
            write_config(directory, "hook", upstream, None),
            inject=inject,
            extra_env={"LITELLM_BRIDGE_FAST_PATH": "off"},
            log_path=directory / "hook.log",
        ),
        "fast": lambda: launch_sidecar(
            write_config(directory, "fast", upstream, None),
            inject=inject,
            extra_env={"LITELLM_BRIDGE_FAST_PATH": "on"},
            log_path=directory / "fast.log",
        ),
    }
    sidecars = {name: plan() for name, plan in plans.items()}
    for name, sidecar in sidecars.items():
        try:
            sidecar.wait_ready(READY_TIMEOUT)
        except (TimeoutError, RuntimeError):
            print(f"{name} sidecar did not start; log:\n{sidecar.log()[-3000:]}", file=sys.stderr)
            raise
        if name != "litellm":
            sidecar.send_token(token, time.time() + 3600)
    return sidecars


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="per path, kind and mode")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    requests = max(10, min(args.requests, 5000))
    token, _ = mint("employee-1", 3600)
    standin, upstream = start_standin()
    sidecars: dict[str, Sidecar] = {}
    processes: list[ccr_router.Router] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bridge-overhead-") as tmp:
            began = time.monotonic()
            sidecars = launch_all(Path(tmp), upstream, token)
            print(f"sidecars ready in {time.monotonic() - began:.0f} s", file=sys.stderr)
            print(HEADER)
            print("-" * len(HEADER), flush=True)
            direct_fields = {"token": token, "project": PROJECT}
            targets = [Target("direct", upstream, {}, direct_fields, None, KINDS[:2])]
            for name, sidecar in sidecars.items():
                targets.append(Target(name, sidecar.url, {}, {}, sidecar.pid, KINDS))
            ccr = ccr_router.start(Path(tmp), upstream, OPEN_MODEL, CCR_KEY)
            if isinstance(ccr, str):
                print(f"ccr row skipped: {ccr}", file=sys.stderr)
            else:
                processes.append(ccr)
                targets.append(
                    Target("ccr", ccr.url, {}, {}, ccr.pid, MESSAGE_KINDS, model=OPEN_MODEL)
                )
            memory_before = {name: rss_mb(s.pid) for name, s in sidecars.items()}
            rows: list[Row] = []
            for clients in (1, args.concurrency):
                for kind in KINDS:
                    for target in targets:
                        if kind not in target.kinds:
                            continue
                        running = sidecars.get(target.name)
                        key = running.master_key if running is not None else "unused"
                        key = CCR_KEY if target.name == "ccr" else key
                        target.headers = (
                            {"x-api-key": key}
                            if kind.startswith("messages")
                            else {"Authorization": f"Bearer {key}"}
                        )
                        rows.append(measure(target, kind, clients, requests))
                        print(format_row(rows[-1]), flush=True)
            print_summary(rows)
            print("\nsidecar memory (RSS, MB) before -> after the run:")
            for name, sidecar in sidecars.items():
                print(f"  {name:<8} {memory_before[name]:.0f} -> {rss_mb(sidecar.pid):.0f}")
            fast_log = sidecars["fast"].log()
            served = "fast path on for" in fast_log
            print(f"\nfast path active in the 'fast' sidecar: {served}")
            print(json.dumps({"requests": requests, "concurrency": args.concurrency}))
    finally:
        for sidecar in sidecars.values():
            sidecar.stop()
        for process in processes:
            process.stop()
        standin.terminate()
        standin.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
