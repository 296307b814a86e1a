"""The fast path's HTTP client for the upstream: aiohttp, the library under LiteLLM's own
transport (``LiteLLMAiohttpTransport``), without httpx's request and transport layers.

On the sidecar's event loop one upstream round trip costs about a third of a millisecond
less than through ``httpx.AsyncClient`` (``bench/overhead.py`` shows it in the fast rows'
time to first byte). The surface is the part of ``httpx.Response`` the fast path uses, so
its relays read like before: ``status_code``, ``headers.get``, ``aread``, ``aiter_bytes``,
``aiter_lines``, ``aclose``; every failure is an ``UpstreamError`` (``UpstreamTimeout`` for
timeouts), as every httpx failure was an ``httpx.HTTPError``.

Connection behaviour follows what LiteLLM and httpx did: certificates are checked against
the same CA bundle httpx uses (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` honoured), proxy
variables and ``NO_PROXY`` apply by httpx's rules (read once per upstream URL: the
sidecar's environment is fixed at its start; aiohttp's own ``trust_env`` would also look up
``~/.netrc`` in a worker thread on every request, for credentials the fast path never uses:
it sends its own ``Authorization``), redirects are not followed, a connect timeout and a
per-read timeout bound every request, at most 200 connections are open, headers may be as
large as httpx allowed, and a whole (not streamed) answer is at most ``MAX_BODY_BYTES``.
Failures name the underlying error's class only, never its text (which may hold the
request's headers), and do not chain it.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

MAX_CONNECTIONS = 200
# One SSE line (a stream event) longer than this is a broken or hostile upstream.
MAX_LINE_BYTES = 16 << 20
# A whole (not streamed) answer larger than this, after decompression, is refused.
MAX_BODY_BYTES = 64 << 20
# Header limits near h11's (httpx's parser): aiohttp's defaults refuse an 8 KiB header line.
_MAX_HEADER_BYTES = 64 << 10
_MAX_HEADERS = 256


class UpstreamError(Exception):
    """The upstream could not be reached, or its answer broke off or was malformed."""


class UpstreamTimeout(UpstreamError):
    """Connecting or reading took longer than the deployment's timeout."""


_FAILURES = (TimeoutError, aiohttp.ClientError, ValueError)


def _mapped(exc: BaseException) -> UpstreamError:
    """The fast path's error for ``exc``: its class name only (aiohttp's texts and reprs can
    carry the request's headers, with the upstream key)."""
    if isinstance(exc, UpstreamError):
        return exc
    name = type(exc).__name__
    if isinstance(exc, TimeoutError):  # aiohttp's timeout errors all derive from it
        return UpstreamTimeout(name)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return UpstreamError(f"{name} (the upstream's TLS certificate is not trusted)")
    return UpstreamError(name)


def _ssl_context() -> ssl.SSLContext:
    """httpx's default context: its CA bundle, and the ``SSL_CERT_*`` variables."""
    import httpx

    return httpx.create_ssl_context(trust_env=True)


@functools.cache
def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url``, or None: httpx's own rules (what the fast
    path used before, and LiteLLM's transport still does), read once per URL: ``HTTP(S)_PROXY``,
    ``ALL_PROXY``, the system's proxy settings on Windows and macOS, and ``NO_PROXY`` with
    ``*``, ports and schemes."""
    import httpx
    from httpx._utils import URLPattern, get_environment_proxies

    target = httpx.URL(url)
    # httpx orders its mounts this way: the most specific pattern first.
    for pattern, proxy in sorted((URLPattern(k), v) for k, v in get_environment_proxies().items()):
        if pattern.matches(target):
            return proxy
    return None


class UpstreamResponse:
    """An upstream answer whose headers have arrived; the body is read on demand."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status_code = response.status
        self.headers: Mapping[str, str] = response.headers

    async def aread(self) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for data in self.aiter_bytes():
            size += len(data)
            if size > MAX_BODY_BYTES:
                raise UpstreamError(f"an answer of over {MAX_BODY_BYTES} bytes")
            parts.append(data)
        return b"".join(parts)

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        content = self._response.content
        while True:
            failure: UpstreamError | None = None
            try:
                data = await content.readany()
            except _FAILURES as exc:
                failure = _mapped(exc)
            if failure is not None:
                raise failure  # outside the handler: nothing of aiohttp's error stays attached
            if not data:
                return
            yield data

    async def aiter_lines(self) -> AsyncIterator[str]:
        """Lines without their ending (``\\n``, ``\\r\\n``), decoded as UTF-8; a line longer
        than ``MAX_LINE_BYTES`` is an ``UpstreamError`` (nothing holds more of it)."""
        parts: list[bytes] = []
        size = 0
        async for data in self.aiter_bytes():
            start = 0
            while (end := data.find(b"\n", start)) >= 0:
                parts.append(data[start:end])
                line = b"".join(parts)
                parts.clear()
                size = 0
                start = end + 1
                yield line.removesuffix(b"\r").decode(errors="replace")
            if start < len(data):
                parts.append(data[start:])
                size += len(data) - start
                if size > MAX_LINE_BYTES:
                    raise UpstreamError(f"a line of over {MAX_LINE_BYTES} bytes")
        if parts:
            yield b"".join(parts).removesuffix(b"\r").decode(errors="replace")

    async def aclose(self) -> None:
        # A body read to the end leaves the connection in the pool; anything else closes it.
        self._response.release()


class UpstreamClient:
    """One connection pool for the sidecar's life (made on first use, on its loop)."""

    def __init__(self, user_agent: str) -> None:
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS, limit_per_host=0, ssl=_ssl_context()
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                auto_decompress=True,
                headers={"User-Agent": self._user_agent},
                max_line_size=_MAX_HEADER_BYTES,
                max_field_size=_MAX_HEADER_BYTES,
                max_headers=_MAX_HEADERS,
            )
        return self._session

    async def post(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        *,
        read_timeout: float,
        connect_timeout: float,
    ) -> UpstreamResponse:
        """POST ``content``; returns once the answer's headers are in."""
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=connect_timeout,
            sock_connect=connect_timeout,
            sock_read=read_timeout,
        )
        options: dict[str, Any] = {
            "allow_redirects": False,
            "timeout": timeout,
            "proxy": proxy_for(url),
        }
        failure: UpstreamError | None = None
        try:
            response = await self._open().post(url, data=content, headers=headers, **options)
        except _FAILURES as exc:
            failure = _mapped(exc)
        if failure is not None:
            raise failure  # outside the handler: nothing of aiohttp's error stays attached
        return UpstreamResponse(response)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
