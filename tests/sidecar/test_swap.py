"""Graceful drain during a swap: two sidecars share the agent's socket, the old one drains.

Keep-alive clients must see no reset and no failed request, an in-flight stream on the old
sidecar must complete, and the old sidecar must exit 0 on its own.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers.sidecar import Sidecar, launch_sidecar, listening_socket
from tests.helpers.wait import wait_until
from tests.sidecar.common import (
    DEMO_MODEL,
    INJECT,
    INTERNAL_MODEL,
    MESSAGES,
    READY_TIMEOUT,
    fresh_token,
)
from tests.standins.llm import StandInLLM

pytestmark = pytest.mark.timeout(600)

CLIENTS = 6


class KeepAliveClients:
    """Threads that each reuse one pooled connection for back-to-back requests.

    They ask the demo model (answered by LiteLLM itself) so that the only request reaching
    the stand-in is the held stream, whatever the timing on a busy machine.
    """

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers
        self.done = threading.Event()
        self.ok = 0
        self.closed_by_server = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(CLIENTS)]

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=60) as http:
            while not self.done.is_set():
                try:
                    response = http.post(
                        "/v1/chat/completions",
                        json={"model": DEMO_MODEL, "messages": MESSAGES},
                    )
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.failures.append(repr(exc))
                    continue
                with self._lock:
                    if response.status_code == 200:
                        self.ok += 1
                    else:
                        self.failures.append(f"{response.status_code} {response.text[:200]}")
                    if response.headers.get("connection", "").lower() == "close":
                        self.closed_by_server += 1
                # Leaves CPU for the successor's start on a small machine.
                time.sleep(0.05)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self.done.set()
        for thread in self._threads:
            thread.join(60)


class HeldStream:
    """One streaming request whose upstream answer waits for ``llm.release()``."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(url, headers))

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            with httpx.stream(
                "POST",
                url + "/v1/chat/completions",
                json={"model": INTERNAL_MODEL, "messages": MESSAGES, "stream": True},
                headers=headers,
                # Held until the successor is ready, which can take minutes on a busy machine.
                timeout=600,
            ) as response:
                for line in response.iter_lines():
                    self.lines.append(line)
        except BaseException as exc:  # reported by the test
            self.failure = exc

    def start_and_wait_first_words(self, timeout: float = 60) -> None:
        self._thread.start()
        wait_until(
            lambda: self.failure is not None or any("stand-in" in line for line in self.lines),
            timeout,
            "the first words of the held stream",
        )
        assert self.failure is None, self.failure

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


def test_drain_swaps_sidecars_without_failed_requests(config_path: Path, llm: StandInLLM) -> None:
    sock = listening_socket()
    token = fresh_token()
    old = launch_sidecar(config_path, inject=INJECT, listen=sock)
    new: Sidecar | None = None
    clients = KeepAliveClients(old.url, old.auth)
    try:
        old.wait_ready(READY_TIMEOUT)
        old.send_token(*token)
        llm.inject_fault("hold")
        held = HeldStream(old.url, old.auth)
        held.start_and_wait_first_words()

        # The successor shares the socket and the master key, as in the agent's swap.
        new = launch_sidecar(
            config_path,
            inject=INJECT,
            listen=sock,
            master_key=old.master_key,
            log_path=config_path.parent / "sidecar-new.log",
        )
        new.wait_ready(READY_TIMEOUT)
        new.send_token(*token)
        # Clients start only now: on a small busy machine their load would starve the
        # successor's start. Their connections land on either sidecar.
        clients.start()
        wait_until(lambda: clients.ok >= 2 * CLIENTS, 120, f"{2 * CLIENTS} answered requests")
        served_before_drain = clients.ok

        old.drain(timeout=60)
        # The old sidecar is draining once a client on one of its connections is told
        # "Connection: close"; it must stay until the held stream has finished.
        wait_until(lambda: clients.closed_by_server >= 1, 60, "a response with Connection: close")
        assert old.proc.poll() is None, "the old sidecar left before its stream finished"
        llm.release()
        held.join(30)
        assert old.wait(30) == 0
        # The new sidecar alone serves everyone: every client gets answers after the exit.
        after_exit = clients.ok
        wait_until(
            lambda: clients.ok >= after_exit + 2 * CLIENTS,
            60,
            f"{2 * CLIENTS} answered requests after the old sidecar exited",
        )
    finally:
        llm.release()
        clients.stop()
        old.stop()
    assert held.failure is None
    assert "data: [DONE]" in held.lines
    assert "hello" in "".join(held.lines)
    assert len(llm.completions()) == 1
    assert clients.failures == []
    assert clients.ok > served_before_drain > 0
    assert clients.closed_by_server >= 1
    assert new is not None and new.proc.poll() is None
    # The successor is then ended like the agent would: by closing its stdin (how fast:
    # bench/sidecar_exit.py).
    new.close_stdin()
    assert new.wait(60) == 0
