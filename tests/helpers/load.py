"""Clients calling the proxy without pause while something changes under it (a restart of
the agent, an update): every answer is checked, every failure kept."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import httpx


def streamed_text(body: str) -> str:
    """The answer's text pieces of a server-sent-event stream, joined (a word of the answer
    may be split over two chunks)."""
    pieces: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("content", "text") and isinstance(value, str):
                    pieces.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for line in body.splitlines():
        if line.startswith("data:"):
            try:
                walk(json.loads(line[5:]))
            except ValueError:
                continue
    return "".join(pieces)


@dataclass
class Load:
    """Clients calling chat and /v1/messages (stream and not) until stopped."""

    url: str
    key: str
    model: str = "corp-llm"
    expect: str = "stand-in"  # a word every answer carries
    clients: int = 3
    ok: int = 0
    slowest: float = 0.0  # seconds, of an answered request
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def _one(self, client: httpx.Client, n: int) -> None:
        stream = n % 2 == 1
        if n % 4 < 2:
            path = "/v1/chat/completions"
            body = {
                "model": self.model,
                "stream": stream,
                "messages": [{"role": "user", "content": "hi"}],
            }
            headers = {"Authorization": f"Bearer {self.key}"}
        else:
            path = "/v1/messages"
            body = {
                "model": self.model,
                "stream": stream,
                "max_tokens": 16,
                "messages": [{"role": "user", "content": "hi"}],
            }
            headers = {"x-api-key": self.key, "anthropic-version": "2023-06-01"}
        with client.stream("POST", self.url + path, json=body, headers=headers) as r:
            text = "".join(r.iter_text())
        if r.status_code != 200 or self.expect not in text + streamed_text(text):
            raise AssertionError(f"HTTP {r.status_code} on {path}: {text[:200]}")

    def wait_served(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.ok < n and not self.failures and time.monotonic() < deadline:
            time.sleep(0.05)

    def loop(self) -> None:
        n = 0
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                n += 1
                began = time.monotonic()
                try:
                    self._one(client, n)
                except (httpx.HTTPError, AssertionError) as exc:
                    self.failures.append(f"{time.time():.3f} {exc!r}")
                else:
                    self.ok += 1
                    self.slowest = max(self.slowest, time.monotonic() - began)

    def __enter__(self) -> Load:
        self.threads = [threading.Thread(target=self.loop) for _ in range(self.clients)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(90)
