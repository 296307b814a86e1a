"""How fast the token refresher answers a command while idle, stops, and renews ahead of expiry.

Usage: .venv/bin/python -m bench.token_refresh [--runs 5]
The tests in tests/token/test_refresh_live.py check what happens (woken, stopped, no gap
between tokens); this prints how long it takes, against the stand-in IAM with secrets kept in
memory. Targets: a command and a stop answered well under 2 s; renewals ahead of expiry by
most of the lifetime left after the refresh point.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.standins.iam import StandinIam  # noqa: E402
from tests.token.conftest import EMPLOYEE, PASSWORD, make_oauth_iam  # noqa: E402
from tray_agent.secrets.store import MemoryStore  # noqa: E402
from tray_agent.token.lifecycle import TokenManager  # noqa: E402
from tray_agent.token.refresher import TokenRefresher  # noqa: E402
from tray_agent.token.schedule import RefreshPolicy  # noqa: E402


def wake_and_stop(iam: StandinIam, state: Path) -> tuple[float, float]:
    """Seconds for a login sent to an idle refresher, then for stop()."""
    manager = TokenManager(make_oauth_iam(iam.url), MemoryStore(), state)
    refresher = TokenRefresher(manager, max_sleep=120.0)
    refresher.start()
    refresher.submit(lambda: None).result(30)
    time.sleep(0.2)  # a bench, not a test: let it fall asleep
    began = time.monotonic()
    refresher.login(EMPLOYEE, PASSWORD, False).result(30)
    login = time.monotonic() - began
    time.sleep(0.2)
    began = time.monotonic()
    refresher.stop(timeout=30)
    return login, time.monotonic() - began


def renewal_leads(iam: StandinIam, state: Path, lifetime: float, renewals: int) -> list[float]:
    """For each renewal, how many seconds the replaced token still had to live."""
    iam.ttl = lifetime
    arrivals: list[tuple[float | None, float]] = []
    done = threading.Event()

    def on_token(token: str | None, expires_at: float | None) -> None:
        arrivals.append((expires_at, time.time()))
        if len(arrivals) > renewals:
            done.set()

    policy = RefreshPolicy(fraction=0.3)
    manager = TokenManager(
        make_oauth_iam(iam.url), MemoryStore(), state, on_token=on_token, policy=policy
    )
    refresher = TokenRefresher(manager)
    refresher.start()
    try:
        refresher.login(EMPLOYEE, PASSWORD, False).result(30)
        done.wait(lifetime * (renewals + 2))
    finally:
        refresher.stop()
    pairs = itertools.pairwise(arrivals)
    return [old_exp - at for (old_exp, _), (_, at) in pairs if old_exp is not None]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--lifetime", type=float, default=5.0)
    args = ap.parse_args()
    logins: list[float] = []
    stops: list[float] = []
    leads: list[float] = []
    with StandinIam(users={EMPLOYEE: PASSWORD}, ttl=600.0) as iam:
        for i in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                iam.ttl = 600.0
                login, stop = wake_and_stop(iam, Path(tmp) / f"state-{i}.json")
                logins.append(login)
                stops.append(stop)
        with tempfile.TemporaryDirectory() as tmp:
            leads = renewal_leads(iam, Path(tmp) / "state.json", args.lifetime, args.runs)
    rows = {
        "login to an idle refresher": logins,
        "refresher stop": stops,
        f"renewal lead ({args.lifetime:g} s tokens)": leads,
    }
    for name, times in rows.items():
        if not times:
            print(f"{name:32s} no samples")
            continue
        print(
            f"{name:32s} median {statistics.median(times):6.2f} s  "
            f"min {min(times):6.2f} s  max {max(times):6.2f} s"
        )


if __name__ == "__main__":
    main()
