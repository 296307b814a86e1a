"""The one way the bridge calls the IAM: TLS verified, no redirects, bounded in time and size.

Shared by every dialect and every call (login and refresh); answers are read whole into an
:class:`IamReply`, decompressing at most one layer within the size cap.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tray_agent.token.iam.errors import IamResponseError, PermanentIamError, TransientIamError

# A sign-in answer is a few hundred bytes; a cap keeps a broken or hostile IAM from filling
# memory (a 300 MB body used to be read whole).
MAX_RESPONSE_BYTES = 1024 * 1024


RETRY_HINT = "this is usually temporary: try again shortly (automatic renewals retry by themselves)"


@dataclass(frozen=True)
class IamReply:
    """An IAM answer read whole, within the deadline and the size cap."""

    url: str
    status_code: int
    headers: httpx.Headers
    content: bytes


def iam_request(
    method: str,
    url: str,
    *,
    timeout: float,
    verify: ssl.SSLContext | bool = True,
    max_bytes: int = MAX_RESPONSE_BYTES,
    **kwargs: Any,
) -> IamReply:
    """The one way the bridge calls the IAM: TLS verified, no redirects, bounded in time and size.

    ``timeout`` is a total deadline for the whole call (connect, headers and body), not a
    per-read timeout: a server that trickles one byte at a time cannot hold the caller
    longer. A watchdog shuts the connection's socket down when the deadline passes (that
    wakes a blocked read); the body is also checked against the deadline chunk by chunk. An
    answer larger than ``max_bytes`` (by Content-Length, or counted while reading, after
    decompression) is refused without reading the rest. No compression is asked for; one
    ``gzip`` or ``deflate`` layer is still read (:class:`_Body`), anything else is refused.
    """
    deadline = time.monotonic() + timeout
    streams: list[Any] = []
    lock = threading.Lock()
    expired = threading.Event()

    def trace(name: str, info: Mapping[str, Any]) -> None:
        # Remember each network stream httpcore opens (TCP, then TLS) so the watchdog can
        # reach its socket; one opened after the deadline is shut at once.
        stream = info.get("return_value")
        if not hasattr(stream, "get_extra_info"):
            return
        with lock:
            streams.append(stream)
            late = expired.is_set()
        if late:
            _shut(stream)

    def abort() -> None:
        with lock:
            expired.set()
            targets = list(streams)
        for stream in targets:
            _shut(stream)

    watchdog = threading.Timer(timeout, abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        with (
            httpx.Client(
                verify=verify, timeout=timeout, follow_redirects=False, headers=_NO_COMPRESSION
            ) as client,
            client.stream(method, url, extensions={"trace": trace}, **kwargs) as response,
        ):
            declared = response.headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_big(url, f"it announces {int(declared):,} bytes", max_bytes)
            try:
                body = _Body(url, response.headers.get("content-encoding", ""), max_bytes)
            except IamResponseError:
                if 200 <= response.status_code < 300:
                    raise
                # An error answer is reported by its status; its body is only a hint.
                return IamReply(url, response.status_code, response.headers, b"")
            for chunk in response.iter_raw():
                body.feed(chunk)
                if time.monotonic() > deadline:
                    expired.set()
                    raise httpx.ReadTimeout("total deadline passed while reading the body")
            return IamReply(url, response.status_code, response.headers, body.finish())
    except httpx.TimeoutException as exc:
        raise _timed_out(url, timeout) from exc
    except httpx.HTTPError as exc:
        if expired.is_set():  # the watchdog shut the socket: that is the deadline, not a blip
            raise _timed_out(url, timeout) from exc
        if _is_tls_verify_error(exc):
            raise PermanentIamError(
                f"the TLS certificate of {url} is not trusted ({_root_cause(exc)}); set "
                "bridge.iam.ca_bundle to a PEM file with your company's CA certificate",
                url,
            ) from exc
        raise TransientIamError(
            f"cannot reach the IAM at {url} ({_root_cause(exc)}); check the network or VPN; "
            f"{RETRY_HINT}",
            url,
        ) from exc
    finally:
        watchdog.cancel()


# httpx would decode every layer a server stacks (``gzip, gzip``), each chunk in one
# unbounded call: a few KB can inflate to GBs before any size check. The bridge asks for no
# compression and decodes at most one layer itself, bounded by the size cap.
_NO_COMPRESSION = {"Accept-Encoding": "identity"}
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class _Body:
    """An answer's body, decoded (at most one gzip or deflate layer) within ``max_bytes``."""

    def __init__(self, url: str, content_encoding: str, max_bytes: int) -> None:
        self.url = url
        self.max_bytes = max_bytes
        self.chunks: list[bytes] = []
        self.size = 0
        layers = [e.strip().lower() for e in content_encoding.split(",")]
        layers = [e for e in layers if e and e != "identity"]
        self.encoding = layers[0] if len(layers) == 1 else ""
        if len(layers) > 1 or (layers and self.encoding not in _WBITS):
            shown = content_encoding.strip()[:60]
            raise IamResponseError(
                f"the IAM at {url} sent its answer with Content-Encoding {shown!r}, which the "
                "bridge does not read (it asks for no compression and reads at most one gzip "
                "or deflate layer); check bridge.iam.url points to the sign-in API, or have "
                "the IAM (or the proxy in front of it) send the answer uncompressed",
                url,
            )
        self.inflater = zlib.decompressobj(_WBITS[self.encoding]) if self.encoding else None
        self.raw_deflate = False  # some servers send deflate without the zlib header

    def feed(self, data: bytes) -> None:
        if self.inflater is None:
            self._keep(data)
            return
        try:
            self._inflate(data)
        except zlib.error as exc:
            if self.encoding != "deflate" or self.raw_deflate or self.size:
                raise self._broken(exc) from None
            self.raw_deflate = True
            self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                self._inflate(data)
            except zlib.error as again:
                raise self._broken(again) from None

    def finish(self) -> bytes:
        if self.inflater is not None:
            try:
                self._keep(self.inflater.flush())
            except zlib.error as exc:
                raise self._broken(exc) from None
        return b"".join(self.chunks)

    def _inflate(self, data: bytes) -> None:
        assert self.inflater is not None
        if self.inflater.eof and data:
            raise zlib.error("data after the end of the compressed stream")
        # Never more output per call than still fits under the cap (+1 to notice the excess).
        while True:
            out = self.inflater.decompress(data, self.max_bytes - self.size + 1)
            self._keep(out)
            data = self.inflater.unconsumed_tail
            if not out:
                if data:  # zlib made no progress: never loop on the same input
                    raise zlib.error("the compressed stream stalled")
                return
            if self.inflater.eof and self.inflater.unused_data:
                raise zlib.error("data after the end of the compressed stream")

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            what = f"more than {self.max_bytes:,} bytes arrived"
            if self.encoding:
                what += f" once decompressed ({self.encoding})"
            raise _too_big(self.url, what, self.max_bytes)
        if data:
            self.chunks.append(data)

    def _broken(self, exc: zlib.error) -> IamResponseError:
        return IamResponseError(
            f"the IAM at {self.url} sent a {self.encoding} answer that cannot be decompressed "
            f"({exc}); check bridge.iam.url points to the sign-in API",
            self.url,
        )


def decode_json(reply: IamReply, url: str) -> Any:
    """The answer's JSON; an IamResponseError naming ``url`` for anything else."""
    ctype = reply.headers.get("content-type", "no content type")
    try:
        return json.loads(reply.content)
    except RecursionError:
        raise IamResponseError(
            f"the IAM at {url} answered HTTP {reply.status_code} with JSON nested too deeply "
            f"to read ({len(reply.content):,} bytes); check bridge.iam.url points to the "
            "sign-in API",
            url,
        ) from None  # the traceback of a RecursionError is as deep as the JSON
    except (ValueError, UnicodeDecodeError) as exc:  # also Python's int-digit limit
        raise IamResponseError(
            f"the IAM at {url} answered HTTP {reply.status_code} with a body that is not "
            f"JSON ({ctype}, {len(reply.content)} bytes); check bridge.iam.url points to "
            "the sign-in API, not a web page",
            url,
        ) from exc


def _timed_out(url: str, timeout: float) -> TransientIamError:
    return TransientIamError(
        f"the IAM at {url} did not answer within {timeout:g} s; {RETRY_HINT} "
        "(raise bridge.iam.timeout if it is always this slow)",
        url,
    )


def _too_big(url: str, what: str, max_bytes: int) -> IamResponseError:
    return IamResponseError(
        f"the IAM at {url} sent an answer too large to be a sign-in response ({what}; the "
        f"limit is {max_bytes:,} bytes); check bridge.iam.url points to the sign-in API",
        url,
    )


def _shut(stream: Any) -> None:
    """Shut a connection's socket down from another thread: a blocked read returns at once."""
    sock = stream.get_extra_info("socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        # The plain socket method, also for an SSLSocket: its own shutdown() drops the TLS
        # object under the reading thread's feet.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _is_tls_verify_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _root_cause(exc: BaseException) -> str:
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        nxt = seen.__cause__ or seen.__context__
        assert nxt is not None
        seen = nxt
    text = str(seen) or type(seen).__name__
    return text[:200]
