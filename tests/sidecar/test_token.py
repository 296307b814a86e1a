"""Token channel: refusal without a usable token, rotation without restart, EOF exits."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.sidecar import Sidecar
from tests.helpers.wait import wait_until
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
            token, expires_at = fresh_token(ttl=60)
            sent.append(token)
            sidecar.send_token(token, expires_at)
            # The next rotation comes once this token has carried requests upstream.
            wait_until(
                lambda t=token: any(  # type: ignore[misc]
                    isinstance(r.body, dict) and r.body.get("token") == t for r in llm.completions()
                ),
                60,
                "a request carrying the rotated token upstream",
            )
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
    # Every rotation reached the upstream.
    assert set(sent) <= seen


def test_token_never_reaches_disk(sidecar: Sidecar, config_path: Path) -> None:
    token, expires_at = fresh_token()
    sidecar.send_token(token, expires_at)
    assert call(sidecar, ROUTES[0]).status_code == 200
    for path in config_path.parent.rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="replace"), path


def test_stdin_eof_exits_at_once_even_with_a_stream_in_flight(
    sidecar: Sidecar, llm: StandInLLM
) -> None:
    # Last in this module: it ends the shared sidecar. A drain would wait for the held
    # stream; EOF (the agent is gone) must not. How fast it exits: bench/sidecar_exit.py.
    sidecar.send_token(*fresh_token())
    llm.inject_fault("hold")
    lines: list[str] = []

    def stream() -> None:
        with (
            contextlib.suppress(httpx.HTTPError),
            httpx.stream(
                "POST",
                sidecar.url + "/v1/chat/completions",
                json={
                    "model": INTERNAL_MODEL,
                    "messages": [{"role": "user", "content": "x"}],
                    "stream": True,
                },
                headers=sidecar.auth,
                timeout=120,
            ) as response,
        ):
            lines.extend(response.iter_lines())

    reader = threading.Thread(target=stream, daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("stand-in" in line for line in lines), 60, "the stream to start")
        sidecar.close_stdin()
        assert sidecar.wait(60) == 0
        reader.join(60)
        assert "data: [DONE]" not in lines, "the stream finished: the exit waited for it"
    finally:
        llm.release()
