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
