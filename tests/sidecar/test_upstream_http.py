"""The fast path's upstream client (``sidecar.upstream_http``) against real sockets: lines cut
anywhere by the network, a hostile endless line, timeouts, refused connections, and the proxy
variables (``HTTP_PROXY`` used, ``NO_PROXY`` honoured) with a real forward proxy."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from sidecar import upstream_http
from sidecar.upstream_http import UpstreamClient, UpstreamError, UpstreamTimeout, proxy_for
from tests.helpers.corp_proxy import CorpProxy
from tests.standins.llm import StandInLLM

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


class RawServer:
    """Answers every connection with the given byte pieces, each sent on its own with a pause
    (so the client reads them as separate network chunks); ``silent`` answers nothing."""

    def __init__(self, pieces: list[bytes], silent: bool = False) -> None:
        self.pieces = pieces
        self.silent = silent
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1/chat/completions"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.recv(65536)
            if self.silent:
                time.sleep(5)
            else:
                try:
                    for piece in self.pieces:
                        conn.sendall(piece)
                        time.sleep(0.02)
                except OSError:
                    pass  # the client hung up (what the line-limit test wants)
            conn.close()

    def close(self) -> None:
        self.sock.close()


def chunked(*parts: bytes) -> list[bytes]:
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    return [head, *(b"%x\r\n%s\r\n" % (len(p), p) for p in parts), b"0\r\n\r\n"]


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    proxy_for.cache_clear()
    yield
    proxy_for.cache_clear()


async def _lines(url: str) -> list[str]:
    client = UpstreamClient("test")
    try:
        response = await client.post(url, b"{}", {}, read_timeout=5, connect_timeout=5)
        try:
            return [line async for line in response.aiter_lines()]
        finally:
            await response.aclose()
    finally:
        await client.aclose()


def test_lines_cut_anywhere_by_the_network_come_out_whole() -> None:
    server = RawServer(chunked(b'data: {"a"', b": 1}\r\n\r\ndata: [DO", b"NE]\n\n", b"tail"))
    try:
        lines = asyncio.run(_lines(server.url))
    finally:
        server.close()
    assert lines == ['data: {"a": 1}', "", "data: [DONE]", "", "tail"]


def test_an_endless_line_is_an_error_not_a_growing_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upstream_http, "MAX_LINE_BYTES", 1000)
    server = RawServer(chunked(*[b"x" * 400] * 5))
    try:
        with pytest.raises(UpstreamError, match="line of over 1000 bytes"):
            asyncio.run(_lines(server.url))
    finally:
        server.close()


def test_a_silent_upstream_times_out_and_a_closed_port_is_a_connection_error() -> None:
    silent = RawServer([], silent=True)

    async def ask(url: str) -> None:
        client = UpstreamClient("test")
        try:
            await client.post(url, b"{}", {}, read_timeout=0.5, connect_timeout=0.5)
        finally:
            await client.aclose()

    began = time.monotonic()
    try:
        with pytest.raises(UpstreamTimeout):
            asyncio.run(ask(silent.url))
    finally:
        silent.close()
    assert time.monotonic() - began < 4
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(UpstreamError) as caught:
        asyncio.run(ask(f"http://127.0.0.1:{port}/v1"))
    assert not isinstance(caught.value, UpstreamTimeout)


def test_the_proxy_variables_apply_and_no_proxy_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    with StandInLLM() as llm:
        target = llm.url.removeprefix("http://")
        proxy = CorpProxy(serves={target}).start()
        try:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            url = llm.url + "/v1/models"

            async def status() -> int:
                client = UpstreamClient("test")
                try:
                    response = await client.post(url, b"{}", {}, read_timeout=5, connect_timeout=5)
                    await response.aread()
                    await response.aclose()
                    return response.status_code
                finally:
                    await client.aclose()

            asyncio.run(status())
            assert proxy.targets == [target], "HTTP_PROXY was not used"
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            proxy_for.cache_clear()
            asyncio.run(status())
            assert proxy.targets == [target], "NO_PROXY did not keep the request off the proxy"
        finally:
            proxy.stop()
    assert proxy_for("https://api.corp.example/v1") is None  # no HTTPS_PROXY set


P = "http://p:1"


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({"ALL_PROXY": P}, "https://api.corp/v1", P),
        ({"HTTPS_PROXY": P}, "https://api.corp/v1", P),
        ({"HTTP_PROXY": P}, "https://api.corp/v1", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "*,127.0.0.1,localhost"}, "https://a/v1", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "api.corp:8443"}, "https://api.corp:8443/", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "api.corp:8443"}, "https://api.corp/", P),
        ({"HTTPS_PROXY": P, "NO_PROXY": ".corp"}, "https://api.corp/v1", None),
        ({"HTTPS_PROXY": P, "NO_PROXY": "https://api.corp"}, "https://api.corp/", None),
    ],
)
def test_proxy_rules_are_httpx_own(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str, expected: str | None
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert proxy_for(url) == expected


def test_large_headers_pass_and_failures_carry_no_request_headers() -> None:
    big = RawServer(
        [b"HTTP/1.1 200 OK\r\nx-trace: " + b"t" * 9000 + b"\r\ncontent-length: 2\r\n\r\n{}"]
    )
    broken = RawServer([b"NOT HTTP AT ALL\r\n\r\n"])

    async def ask(url: str) -> tuple[int, bytes]:
        client = UpstreamClient("test")
        try:
            headers = {"Authorization": "Bearer sk-SECRET-upstream-key"}
            response = await client.post(url, b"{}", headers, read_timeout=5, connect_timeout=5)
            data = await response.aread()
            await response.aclose()
            return response.status_code, data
        finally:
            await client.aclose()

    try:
        assert asyncio.run(ask(big.url)) == (200, b"{}")
        with pytest.raises(UpstreamError) as caught:
            asyncio.run(ask(broken.url))
    finally:
        big.close()
        broken.close()
    error = caught.value
    assert error.__cause__ is None and error.__context__ is None
    assert "sk-SECRET" not in f"{error!s}{error!r}"


def test_a_whole_answer_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upstream_http, "MAX_BODY_BYTES", 1000)
    server = RawServer(chunked(*[b"x" * 400] * 5))

    async def whole() -> bytes:
        client = UpstreamClient("test")
        try:
            response = await client.post(server.url, b"{}", {}, read_timeout=5, connect_timeout=5)
            try:
                return await response.aread()
            finally:
                await response.aclose()
        finally:
            await client.aclose()

    try:
        with pytest.raises(UpstreamError, match="answer of over 1000 bytes"):
            asyncio.run(whole())
    finally:
        server.close()


def test_the_sidecar_keeps_the_users_no_proxy_hosts_in_both_spellings() -> None:
    from sidecar.entry import prepare_environment

    # Only the uppercase one set: a lowercase one with loopback alone would win and hide it.
    environ = {"NO_PROXY": "llm.internal.corp", "HTTPS_PROXY": "http://p:1"}
    prepare_environment(environ)
    assert environ["NO_PROXY"] == environ["no_proxy"] == "llm.internal.corp,127.0.0.1,localhost"
    environ = {"no_proxy": "a.corp", "NO_PROXY": "b.corp,a.corp"}
    prepare_environment(environ)
    assert environ["no_proxy"] == "b.corp,a.corp,127.0.0.1,localhost"
