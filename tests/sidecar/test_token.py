"""Token channel: refusal without a usable token, rotation without restart, EOF exits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.sidecar import Sidecar
from tests.sidecar.common import INTERNAL_MODEL, ROUTES, Route, call, fresh_token, start
from tests.standins.llm import StandInLLM
from tests.standins.tokens import verify

pytestmark = pytest.mark.timeout(360)

MESSAGE = 'internal token missing or expired: sign in with "litellm-bridge token login"'


@pytest.fixture(scope="module")
def sidecar(config_path: Path) -> Iterator[Sidecar]:
    """A sidecar that has not been given any token yet."""
    running = start(config_path)
    yield running
    running.stop()


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_no_token_is_a_clear_401_and_nothing_goes_upstream(
    sidecar: Sidecar, llm: StandInLLM, route: Route
) -> None:
    llm.clear()
    response = call(sidecar, route)
    assert response.status_code == 401
    assert MESSAGE in response.json()["error"]["message"]
    assert llm.completions() == []


def settled_request_count(sidecar: Sidecar, quiet: float = 1.0) -> int:
    """The number of request events once earlier requests' events stopped arriving (they
    are sent after the response, so the previous test's last one may still be on its way)."""
    count = len(sidecar.request_events())
    while True:
        time.sleep(quiet)
        now = len(sidecar.request_events())
        if now == count:
            return count
        count = now


def test_refused_requests_are_counted(sidecar: Sidecar) -> None:
    before = settled_request_count(sidecar)
    assert call(sidecar, ROUTES[0]).status_code == 401
    sidecar.wait_request_events(before, 1)
    (event,) = sidecar.request_events()[before:]
    assert event["status"] == 401
    assert event["model"] == INTERNAL_MODEL


def test_expired_token_is_a_clear_401(sidecar: Sidecar, llm: StandInLLM) -> None:
    token, _ = fresh_token()
    sidecar.send_token(token, time.time() - 1)
    llm.clear()
    response = call(sidecar, ROUTES[0])
    assert response.status_code == 401
    assert MESSAGE in response.json()["error"]["message"]
    assert llm.completions() == []


def test_token_rotates_without_restarting_sidecar(sidecar: Sidecar, llm: StandInLLM) -> None:
    pid = sidecar.pid
    sidecar.send_token(*fresh_token(ttl=60))
    llm.clear()
    failures: list[str] = []
    done = threading.Event()
    count = 0

    def client() -> None:
        nonlocal count
        with httpx.Client(base_url=sidecar.url, headers=sidecar.auth, timeout=30) as http:
            while not done.is_set():
                try:
                    response = http.post(
                        "/v1/chat/completions",
                        json={
                            "model": INTERNAL_MODEL,
                            "messages": [{"role": "user", "content": "x"}],
                        },
                    )
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                count += 1

    workers = [threading.Thread(target=client) for _ in range(2)]
    for worker in workers:
        worker.start()
    sent: list[str] = []
    try:
        for _ in range(5):
            time.sleep(0.6)
            token, expires_at = fresh_token(ttl=60)
            sent.append(token)
            sidecar.send_token(token, expires_at)
        time.sleep(0.6)
    finally:
        done.set()
        for worker in workers:
            worker.join(30)
    assert failures == []
    assert count >= 10
    assert sidecar.proc.poll() is None
    assert sidecar.wait_ready(1)["pid"] == pid
    seen = {r.body["token"] for r in llm.completions() if isinstance(r.body, dict)}
    assert all(verify(t) is not None for t in seen)
    # Every rotation reached the upstream except possibly the very last.
    assert len(set(sent[:-1]) & seen) == len(sent) - 1


def test_token_never_reaches_disk(sidecar: Sidecar, config_path: Path) -> None:
    token, expires_at = fresh_token()
    sidecar.send_token(token, expires_at)
    assert call(sidecar, ROUTES[0]).status_code == 200
    for path in config_path.parent.rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="replace"), path


def test_stdin_eof_exits_within_seconds(sidecar: Sidecar) -> None:
    # Last in this module: it ends the shared sidecar.
    began = time.monotonic()
    sidecar.close_stdin()
    sidecar.wait(10)
    assert time.monotonic() - began < 5
