"""Load harness: concurrent clients through the bridge while config and token keep changing.

Drives N clients (chat and /v1/messages, streaming and not) through a real agent and sidecar
to the stand-in internal LLM, rewrites config.yaml every ``--config-every`` seconds (each
change adds a model that must become servable) while the stand-in IAM's short token lifetime
makes the agent rotate the token about every ``--token-every`` seconds. Prints requests sent,
failures, refused connections and p50/p95 latency in steady state vs during swaps.

Usage: .venv/bin/python -m bench.load [--clients 8] [--duration 120] [--config-every 20]
Bounded in time and request count; loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.helpers.live_bridge import corp_model, json_iam, live_agent, proxy_key  # noqa: E402
from tests.standins.iam import StandinIam  # noqa: E402
from tests.standins.llm import StandInLLM  # noqa: E402

FLAT_LOGIN = {"employee_id": "{employee_id}", "password": "{password}"}
"""The JSON login body this scenario signs in with (fields at the top level)."""
KINDS = ("chat", "chat-stream", "messages", "messages-stream")


@dataclass
class Sample:
    kind: str
    started: float
    latency: float
    ok: bool
    refused: bool
    error: str | None = None


@dataclass
class Change:
    written: float
    model: str
    generation: int = 0
    swapped: float | None = None  # the new sidecar took over
    settled: float | None = None  # the old one is gone
    servable: bool = False


@dataclass
class Report:
    samples: list[Sample] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    tokens_seen: int = 0
    upstream_requests: int = 0
    upstream_without_token: int = 0
    sidecar_pids: set[int] = field(default_factory=set)

    def in_swap(self, s: Sample) -> bool:
        for c in self.changes:
            end = c.settled or c.swapped or (c.written + 60)
            if c.written <= s.started + s.latency and s.started <= end:
                return True
        return False

    @property
    def failures(self) -> list[Sample]:
        return [s for s in self.samples if not s.ok]

    @property
    def refused(self) -> list[Sample]:
        return [s for s in self.samples if s.refused]

    def table(self) -> str:
        def pct(values: list[float], q: float) -> str:
            if not values:
                return "-"
            values = sorted(values)
            return f"{values[min(len(values) - 1, int(q * len(values)))] * 1000:.0f}"

        steady = [s.latency for s in self.samples if s.ok and not self.in_swap(s)]
        swap = [s.latency for s in self.samples if s.ok and self.in_swap(s)]
        lines = [
            f"requests sent            {len(self.samples)}",
            f"failed                   {len(self.failures)}",
            f"refused connections      {len(self.refused)}",
            f"config changes applied   {sum(c.servable for c in self.changes)}/{len(self.changes)}",
            f"distinct tokens upstream {self.tokens_seen}",
            f"upstream without token   {self.upstream_without_token}",
            f"{'':<24} {'n':>6} {'p50 ms':>8} {'p95 ms':>8}",
            f"{'steady state':<24} {len(steady):>6} {pct(steady, 0.5):>8} {pct(steady, 0.95):>8}",
            f"{'during swaps':<24} {len(swap):>6} {pct(swap, 0.5):>8} {pct(swap, 0.95):>8}",
        ]
        for kind in KINDS:
            lat = [s.latency for s in self.samples if s.ok and s.kind == kind]
            lines.append(f"{'  ' + kind:<24} {len(lat):>6} {pct(lat, 0.5):>8} {pct(lat, 0.95):>8}")
        if self.failures:
            lines.append("first failures:")
            lines += [f"  {s.kind}: {s.error}" for s in self.failures[:5]]
        return "\n".join(lines)


def _request(client: httpx.Client, url: str, key: str, kind: str) -> tuple[bool, str | None]:
    stream = kind.endswith("stream")
    if kind.startswith("chat"):
        path, body = (
            "/v1/chat/completions",
            {
                "model": "corp-llm",
                "stream": stream,
                "messages": [{"role": "user", "content": "ping"}],
            },
        )
        headers = {"Authorization": f"Bearer {key}"}
    else:
        path, body = (
            "/v1/messages",
            {
                "model": "corp-llm",
                "stream": stream,
                "max_tokens": 32,
                "messages": [{"role": "user", "content": "ping"}],
            },
        )
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    if stream:
        with client.stream("POST", url + path, json=body, headers=headers) as r:
            text = "".join(r.iter_text())
            status = r.status_code
    else:
        r = client.post(url + path, json=body, headers=headers)
        text, status = r.text, r.status_code
    if status != 200:
        return False, f"HTTP {status}: {text[:160]}"
    if "stand-in" not in text:
        return False, f"unexpected answer: {text[:160]}"
    return True, None


def _config_with_model(cfg: Path, name: str) -> str:
    data = yaml.safe_load(cfg.read_text())
    data["model_list"].append(
        {
            "model_name": name,
            "litellm_params": {"model": f"openai/{name}", "mock_response": f"{name} is live"},
        }
    )
    return yaml.safe_dump(data, sort_keys=False)


def run_harness(
    clients: int = 8,
    duration: float = 60.0,
    config_every: float = 20.0,
    token_every: float = 10.0,
    max_requests: int = 200_000,
    workdir: Path | None = None,
    log: Any = print,
    min_changes: int = 0,
) -> Report:
    """Run the whole scenario and return what happened; raises if the bridge never starts."""
    report = Report()
    tmp = tempfile.TemporaryDirectory() if workdir is None else None
    home = Path(tmp.name) if tmp else Path(workdir)  # type: ignore[arg-type]
    # The agent refreshes at ~2/3 of the lifetime: this lifetime rotates every ~token_every s.
    stack = contextlib.ExitStack()
    try:
        iam = stack.enter_context(StandinIam(ttl=token_every * 1.5))
        llm = stack.enter_context(StandInLLM())
        agent = stack.enter_context(
            live_agent(
                home,
                models=[corp_model(llm, api_key="none", max_retries=None)],
                bridge={"iam": json_iam(iam, body=FLAT_LOGIN)},
                env_values={"CORP_PROJECT": ("bench", False)},
                signed_in=True,
                remember=True,
            )
        )
        cfg = agent.config_file
        status = agent.status()
        assert status is not None
        url = status["sidecar"]["url"]
        report.sidecar_pids.add(status["sidecar"]["pid"])
        key = proxy_key(agent)
        llm.clear()
        log(f"bridge ready at {url}; {clients} clients for {duration:.0f} s")

        stop = threading.Event()
        lock = threading.Lock()
        t_start = time.monotonic()
        # On a slow machine a swap can take longer than the interval: keep going (bounded)
        # until ``min_changes`` changes have taken over.
        hard_end = t_start + max(duration * 4, duration + 300)

        def running() -> bool:
            now = time.monotonic()
            if stop.is_set() or now >= hard_end:
                return False
            settled = sum(1 for c in report.changes if c.settled is not None)
            return now < t_start + duration or settled < min_changes

        def client_loop(i: int) -> None:
            kind_cycle = KINDS[i % len(KINDS) :] + KINDS[: i % len(KINDS)]
            n = 0
            with httpx.Client(timeout=120) as client:
                while running():
                    kind = kind_cycle[n % len(kind_cycle)]
                    n += 1
                    t0 = time.monotonic()
                    refused = False
                    try:
                        ok, err = _request(client, url, key, kind)
                    except httpx.ConnectError as exc:
                        ok, err, refused = False, f"refused: {exc!r}", True
                    except httpx.HTTPError as exc:
                        ok, err = False, repr(exc)
                    sample = Sample(kind, t0, time.monotonic() - t0, ok, refused, err)
                    with lock:
                        report.samples.append(sample)
                        if len(report.samples) >= max_requests:
                            stop.set()

        threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()

        def pending_change() -> Change | None:
            return next((c for c in report.changes if c.settled is None), None)

        next_change = time.monotonic() + config_every / 2
        while running():
            now = time.monotonic()
            if now >= next_change and pending_change() is None:
                name = f"added-{len(report.changes) + 1}"
                text = _config_with_model(cfg, name)
                tmpfile = cfg.with_suffix(".tmp")
                tmpfile.write_text(text)
                before = agent.status()
                change = Change(time.monotonic(), name)
                change.generation = before["sidecar"]["generation"] if before else 0
                tmpfile.replace(cfg)
                change.written = time.monotonic()
                report.changes.append(change)
                next_change = now + config_every
            c = pending_change()
            if c is not None:
                s = agent.status()
                if s is not None:
                    report.sidecar_pids.add(s["sidecar"]["pid"])
                    if c.swapped is None and s["sidecar"]["generation"] > c.generation:
                        c.swapped = time.monotonic()
                    if c.swapped is not None and _sidecars(agent.proc.pid) <= 1:
                        c.settled = time.monotonic()
                        c.servable = _servable(url, key, c.model)
                        log(
                            f"change {c.model}: took over after {c.swapped - c.written:.1f} s, "
                            f"servable={c.servable}"
                        )
            time.sleep(0.25)
        stop.set()
        for t in threads:
            t.join(150)
        deadline = time.monotonic() + 180
        for c in report.changes:
            # A change written near the end gets time to take over before it is judged.
            while c.settled is None and time.monotonic() < deadline:
                s = agent.status()
                if s is not None and s["sidecar"]["generation"] > c.generation:
                    c.swapped = c.swapped or time.monotonic()
                    if _sidecars(agent.proc.pid) <= 1:
                        c.settled = time.monotonic()
                time.sleep(0.25)
            c.servable = _servable(url, key, c.model)
        seen = llm.completions()
        report.upstream_requests = len(seen)
        tokens = {r.body.get("token") for r in seen if isinstance(r.body, dict)}
        report.tokens_seen = len(tokens)
        report.upstream_without_token = sum(
            1 for r in seen if not isinstance(r.body, dict) or not r.body.get("token")
        )
        return report
    finally:
        stack.close()  # the agent first, then the stand-ins
        if tmp is not None:
            tmp.cleanup()


def _sidecars(agent_pid: int) -> int:
    """Live sidecar processes under the agent (two while the old one drains)."""
    import psutil

    try:
        children = psutil.Process(agent_pid).children()
    except psutil.Error:
        return 0
    alive = 0
    for p in children:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                alive += 1
        except psutil.Error:
            continue
    return alive


def _servable(url: str, key: str, model: str) -> bool:
    try:
        r = httpx.post(
            url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
            timeout=60,
        )
    except httpx.HTTPError:
        return False
    return r.status_code == 200 and f"{model} is live" in r.text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--config-every", type=float, default=20.0)
    ap.add_argument("--token-every", type=float, default=10.0)
    ap.add_argument("--max-requests", type=int, default=200_000)
    args = ap.parse_args()
    os.environ.setdefault("LITELLM_BRIDGE_SECRET_STORE", "memory")
    report = run_harness(
        args.clients, args.duration, args.config_every, args.token_every, args.max_requests
    )
    print(report.table())


if __name__ == "__main__":
    main()
