"""What the organization policy check adds per request, fast path and LiteLLM path side by side.

Two identical sidecars (fast path on) serve ``internal-model`` on the fast path and
``internal-model-litellm`` (same upstream, a LiteLLM-only setting) through LiteLLM, against
the stand-in internal LLM (separate process, no delay). One has no policy, the other a policy
that uses every check (allow/deny globs, total and per-model rpm/tpm set high, max_parallel,
quotas with a usage message). Requests alternate between the two one by one (the order
flipping each time), so drift of a busy machine hits both alike. Prints p50/p95 per path,
kind and policy state, the p50 added by the policy per path (target: at most 0.1 ms on the
fast path), and the in-process cost of one gate decision.

Usage: .venv/bin/python -m bench.policy_overhead [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.overhead import (  # noqa: E402
    PROJECT,
    READY_TIMEOUT,
    WARMUP_REQUESTS,
    Target,
    one_request,
    percentile,
    start_standin,
)
from tests.helpers.sidecar import HOOK_CALLBACK, Sidecar, launch_sidecar  # noqa: E402
from tests.standins.tokens import mint  # noqa: E402

MODEL = "internal-model"
TWIN = "internal-model-litellm"
KINDS = ("chat", "chat-stream")
LIMIT = 10**9
POLICY: dict[str, Any] = {
    "models": {"allow": ["internal-*", "demo"], "deny": ["internal-experimental*"]},
    "limits": {
        "rpm": LIMIT,
        "tpm": LIMIT,
        "max_parallel": 1000,
        "per_model": {MODEL: {"rpm": LIMIT, "tpm": LIMIT}, TWIN: {"rpm": LIMIT, "tpm": LIMIT}},
    },
    "quota": {
        "requests_per_day": LIMIT,
        "tokens_per_day": LIMIT,
        "tokens_per_month": LIMIT,
        "timezone": "Europe/Berlin",
    },
}


def usage() -> dict[str, Any]:
    now = time.time()
    return {
        "employee_id": "employee-1",
        "period": {"day": "", "month": "", "timezone": "Europe/Berlin"},
        "requests_today": 10,
        "tokens_today": 1000,
        "tokens_month": 10000,
        "resets": {"day": now + 86400, "month": now + 30 * 86400},
    }


def write_config(directory: Path, upstream: str) -> Path:
    def entry(name: str, **extra: Any) -> dict[str, Any]:
        params = {
            "model": f"hosted_vllm/{MODEL}",
            "api_base": upstream + "/v1",
            "api_key": "none",
            "use_chat_completions_api": True,
            **extra,
        }
        return {"model_name": name, "litellm_params": params}

    config = {
        # rpm is LiteLLM's business: that model goes through LiteLLM, the other one does not.
        "model_list": [entry(MODEL), entry(TWIN, rpm=10**6)],
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
        "litellm_settings": {"callbacks": [HOOK_CALLBACK]},
        "router_settings": {"disable_cooldowns": True},
    }
    path = directory / "policy-bench.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def apply(sidecar: Sidecar, policy: dict[str, Any] | None, token: str) -> None:
    """Send usage and policy; the acknowledged token after them says they are applied."""
    if policy is not None:
        sidecar.send({"type": "usage", "usage": usage()})
    sidecar.send({"type": "policy", "policy": policy})
    sidecar.send_token(token, time.time() + 3600)


def gate_cost_us(samples: int = 20000) -> float:
    """Median microseconds of one in-process gate decision (body read, model, buckets)."""
    from sidecar import allowlist
    from sidecar.metrics import RequestRecord
    from sidecar.policy import PolicyGate
    from sidecar.policy.models import ModelNames
    from sidecar.state import BridgeState

    state = BridgeState()
    state.policy, state.usage = POLICY, usage()
    gate = PolicyGate(state, lambda: ModelNames([MODEL, TWIN]))
    route = allowlist.match("POST", "/v1/chat/completions")
    assert route is not None
    raw = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hello"}]}).encode()
    scope: dict[str, Any] = {"path": "/v1/chat/completions", "headers": []}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def run() -> list[float]:
        timings: list[float] = []
        for _ in range(samples):
            record = RequestRecord(route="/v1/chat/completions")
            began = time.perf_counter()
            policy = gate.current()
            assert policy is not None
            admission = await gate.admit(policy, scope, receive, route, record)
            timings.append((time.perf_counter() - began) * 1e6)
            release = getattr(admission, "release", None)
            if release is not None:
                release()
        return timings

    return statistics.median(asyncio.run(run()))


def interleaved(
    off: Target, on: Target, kind: str, requests: int
) -> tuple[list[float], list[float], int]:
    """Latencies (ms) without and with the policy, one request each in turn."""
    latencies: dict[str, list[float]] = {"off": [], "on": []}
    failures = 0
    with httpx.Client(timeout=30) as off_client, httpx.Client(timeout=30) as on_client:
        pairs = {"off": (off_client, off), "on": (on_client, on)}
        for client, target in pairs.values():
            for _ in range(WARMUP_REQUESTS):
                one_request(client, target, kind)
        for index in range(requests):
            for state in ("off", "on") if index % 2 == 0 else ("on", "off"):
                client, target = pairs[state]
                began = time.perf_counter()
                failures += not one_request(client, target, kind)
                latencies[state].append((time.perf_counter() - began) * 1000)
    return latencies["off"], latencies["on"], failures


def launch(directory: Path, config: Path, name: str) -> Sidecar:
    return launch_sidecar(
        config,
        inject={
            model: {"token": ["token"], "literal": {"project": PROJECT}} for model in (MODEL, TWIN)
        },
        extra_env={"LITELLM_BRIDGE_FAST_PATH": "on"},
        log_path=directory / f"{name}.log",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="per path, kind and state")
    args = parser.parse_args(argv)
    requests = max(20, min(args.requests, 5000))
    token, _ = mint("employee-1", 3600)
    standin, upstream = start_standin()
    sidecars: dict[str, Sidecar] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bridge-policy-") as tmp:
            directory = Path(tmp)
            config = write_config(directory, upstream)
            sidecars = {state: launch(directory, config, state) for state in ("off", "on")}
            for state, sidecar in sidecars.items():
                sidecar.wait_ready(READY_TIMEOUT)
                apply(sidecar, POLICY if state == "on" else None, token)
            latencies: dict[tuple[str, str, str], list[float]] = {}
            failures = 0
            for kind in KINDS:
                for path, model in (("fast", MODEL), ("litellm", TWIN)):
                    targets = {
                        state: Target(
                            path,
                            sidecar.url,
                            {"Authorization": f"Bearer {sidecar.master_key}"},
                            {"model": model},
                            sidecar.pid,
                            KINDS,
                        )
                        for state, sidecar in sidecars.items()
                    }
                    without, with_policy, failed = interleaved(
                        targets["off"], targets["on"], kind, requests
                    )
                    latencies[(path, kind, "off")] = without
                    latencies[(path, kind, "on")] = with_policy
                    failures += failed
            print(f"{'path':<8} {'kind':<12} {'policy':<6} {'p50 ms':>8} {'p95 ms':>8} {'n':>6}")
            for (name, kind, state), values in latencies.items():
                print(
                    f"{name:<8} {kind:<12} {state:<6} {statistics.median(values):>8.3f} "
                    f"{percentile(values, 0.95):>8.3f} {len(values):>6}"
                )
            print("\np50 added by the policy check (ms), side by side:")
            added: dict[str, float] = {}
            for kind in KINDS:
                cells = []
                for name in ("fast", "litellm"):
                    on = statistics.median(latencies[(name, kind, "on")])
                    off = statistics.median(latencies[(name, kind, "off")])
                    added[f"{name}/{kind}"] = round(on - off, 4)
                    cells.append(f"{name} {on - off:+.3f}")
                print(f"  {kind:<12} " + "   ".join(cells))
            cost = gate_cost_us()
            print(f"\none gate decision in process: {cost:.1f} us (median)")
            ok = all(value <= 0.1 for key, value in added.items() if key.startswith("fast/"))
            print(f"fast path within 0.1 ms p50: {ok}   failures: {failures}")
            print(json.dumps({"added_p50_ms": added, "gate_us": round(cost, 2)}))
    finally:
        for sidecar in sidecars.values():
            sidecar.stop()
        standin.terminate()
        standin.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
