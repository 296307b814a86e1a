"""Stand-in company IAM speaking both dialects, with faults on demand.

Endpoints (tokens from ``tests.standins.tokens``, lifetimes in seconds):

- ``POST /json/login``: ``{"data": {"session": {"jwt": ..., "valid_until": <epoch>}}}``
- ``POST /json/login-iso``: same, ``valid_until`` as ISO 8601 (UTC, ``Z``)
- ``POST /json/login-ttl``: ``{"data": {"session": {"jwt": ..., "ttl": <seconds>}}}``
  The JSON body carries ``employee_id`` and ``password`` at the top level or under
  ``credentials``.
- ``POST /oauth/token``: RFC 6749 password and refresh_token grants, client authentication
  by HTTP Basic or form fields.

Faults are queued with :meth:`StandinIam.fault` and consumed one per request: a status, a
delay, a raw body, and the absurd answers of a broken IAM (an expiry as raw JSON text such as
``1e400``, the whole answer trickled one byte every N s, a huge body, deeply nested JSON, a
gzip-compressed answer or gzip bomb, an unknown Content-Encoding; see :class:`Fault`). Every
answer
carries a ``Date`` header, shifted by ``date_skew`` seconds. ``calls`` counts requests per
path; ``password_attempts`` counts password checks per employee ID; ``last_headers`` holds the
last request's headers (names in lower case).

Run alone: ``python -m tests.standins.iam --port 8700 --user e1:pw --ttl 60``.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime as dt
import email.utils
import functools
import gzip
import io
import ipaddress
import json
import secrets
import ssl
import struct
import threading
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.standins import tokens


@dataclass
class Fault:
    """One scripted misbehaviour: ``status`` (with optional Retry-After), ``delay``, ``body``.

    The broken-IAM ones: ``expiry`` answers a normal sign-in but with this raw JSON text as
    the expiry value (``valid_until``, ``ttl`` or ``expires_in`` by endpoint), e.g. ``1e400``,
    ``-5``, ``NaN``, ``true``, ``"soon"``; ``trickle`` sends the whole answer (status line,
    headers, body) one byte every ``trickle`` seconds; ``huge`` sends a JSON body of that many
    bytes, announced in Content-Length when ``huge_declared``, else read until the connection
    closes; ``deep`` sends that many nested ``[`` (and as many ``]``).

    Compression: ``gzip`` compresses the answer that many times over (``Content-Encoding:
    gzip, gzip`` for 2); ``bomb`` replaces the answer by a JSON body of that many MiB of
    padding, compressed ``gzip`` times (at least once); ``encoding`` sends this
    Content-Encoding header over the answer left as it is (e.g. ``br``, ``zstd``).

    Tokens: ``token`` (and ``refresh_token``, OAuth only) answer a normal sign-in with this
    value in place of the token (``jwt`` or ``access_token``), e.g. one with a line break.
    """

    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    body: bytes | None = None
    path: str | None = None  # only requests to this path consume it
    expiry: str | None = None
    trickle: float = 0.0
    huge: int = 0
    huge_declared: bool = True
    deep: int = 0
    gzip: int = 0
    bomb: int = 0
    encoding: str | None = None
    token: Any = None
    refresh_token: Any = None


def gzip_layers(body: bytes, layers: int) -> bytes:
    for _ in range(layers):
        body = gzip.compress(body, mtime=0)
    return body


@functools.lru_cache(maxsize=4)
def gzip_bomb(mebibytes: int, layers: int) -> bytes:
    """``{"pad": "xxx..."}`` of ``mebibytes`` MiB, gzipped ``layers`` times (at least once).

    Built in about a second: each MiB block is compressed once and repeated (a full flush
    makes every block's deflate output the same), the gzip header and trailer written out.
    """
    head, block, tail = b'{"pad": "', b"x" * (1 << 20), b'"}'
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    start = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    one = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.compress(tail) + deflate.flush()
    crc = zlib.crc32(head)
    for _ in range(mebibytes):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = (len(head) + len(block) * mebibytes + len(tail)) & 0xFFFFFFFF
    member = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + start + one * mebibytes + end
    return gzip_layers(member + struct.pack("<II", crc, size), max(layers, 1) - 1)


@dataclass
class TlsFiles:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def make_test_ca(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TlsFiles:
    """A throwaway CA and a server certificate for ``hosts``, written as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Stand-in Corp Test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for h in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@dataclass
class StandinIam:
    """In-process IAM on 127.0.0.1 in a background thread."""

    users: dict[str, str] = field(default_factory=lambda: {"e1001": "correct horse"})
    ttl: float = 60.0
    refresh_ttl: float = 3600.0
    clients: dict[str, str] = field(default_factory=lambda: {"bridge": "client-s3cret"})
    issue_refresh_tokens: bool = True
    date_skew: float = 0.0
    tls: TlsFiles | None = None
    port: int = 0
    key: bytes = tokens.DEFAULT_KEY

    def __post_init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.password_attempts: collections.Counter[str] = collections.Counter()
        self.failed_password_attempts: collections.Counter[str] = collections.Counter()
        self.refresh_grants = 0
        self.issued: list[str] = []
        self.last_json_body: Any = None
        self.last_headers: dict[str, str] = {}
        self._faults: list[Fault] = []
        self._refresh: dict[str, tuple[str, float]] = {}  # refresh token -> (sub, expires_at)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> StandinIam:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        server.block_on_close = False
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls.cert_pem, self.tls.key_pem)
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="standin-iam"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StandinIam:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fault(self, count: int = 1, **kwargs: Any) -> None:
        """Queue ``count`` identical faults, e.g. ``fault(3, status=503)``."""
        with self._lock:
            self._faults.extend(Fault(**kwargs) for _ in range(count))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self._refresh.clear()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for i, f in enumerate(self._faults):
                if f.path is None or f.path == path:
                    return self._faults.pop(i)
        return None

    # -- behaviour ------------------------------------------------------------------------

    def _check_password(self, employee_id: str, password: str) -> bool:
        with self._lock:
            self.password_attempts[employee_id] += 1
            ok = employee_id in self.users and secrets.compare_digest(
                self.users[employee_id].encode(), password.encode()
            )
            if not ok:
                self.failed_password_attempts[employee_id] += 1
        return ok

    def _mint(self, sub: str) -> tuple[str, float]:
        token, exp = tokens.mint(sub, self.ttl, key=self.key)
        with self._lock:
            self.issued.append(token)
        return token, exp

    def handle_json(self, path: str, body: Any) -> tuple[int, Any]:
        self.last_json_body = body
        creds = body.get("credentials", body) if isinstance(body, dict) else {}
        employee_id, password = creds.get("employee_id"), creds.get("password")
        if not isinstance(employee_id, str) or not isinstance(password, str):
            return 400, {"error": "invalid_request"}
        if not self._check_password(employee_id, password):
            return 401, {"error": "invalid_credentials", "message": "bad employee id/password"}
        token, exp = self._mint(employee_id)
        if path == "/json/login-iso":
            iso = dt.datetime.fromtimestamp(exp, dt.UTC).isoformat().replace("+00:00", "Z")
            session: dict[str, Any] = {"jwt": token, "valid_until": iso}
        elif path == "/json/login-ttl":
            session = {"jwt": token, "ttl": self.ttl}
        else:
            session = {"jwt": token, "valid_until": exp}
        return 200, {"data": {"session": session, "user": {"id": employee_id}}}

    def handle_oauth(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, Any]:
        client_id, client_secret = basic or (form.get("client_id"), form.get("client_secret"))
        if client_id not in self.clients or (
            self.clients[client_id] and client_secret != self.clients[client_id]
        ):
            return 401, {"error": "invalid_client"}
        grant_type = form.get("grant_type")
        if grant_type == "password":
            username, password = form.get("username", ""), form.get("password", "")
            if not self._check_password(username, password):
                return 400, {"error": "invalid_grant", "error_description": "bad credentials"}
            sub = username
        elif grant_type == "refresh_token":
            with self._lock:
                self.refresh_grants += 1
                entry = self._refresh.pop(form.get("refresh_token", ""), None)
            if entry is None or entry[1] <= time.time():
                return 400, {"error": "invalid_grant", "error_description": "refresh token"}
            sub = entry[0]
        else:
            return 400, {"error": "unsupported_grant_type"}
        token, _ = self._mint(sub)
        answer: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
        answer["expires_in"] = self.ttl
        if self.issue_refresh_tokens:
            refresh = secrets.token_urlsafe(24)
            with self._lock:
                self._refresh[refresh] = (sub, time.time() + self.refresh_ttl)
            answer["refresh_token"] = refresh
        return 200, answer


def _handler_for(iam: StandinIam) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._answer(404, {"error": "not_found"})

        def do_POST(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            with iam._lock:
                iam.calls[path] += 1
                iam.last_headers = {k.lower(): v for k, v in self.headers.items()}
            fault = iam._take_fault(path)
            self._fault = fault
            if fault is not None:
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.huge:
                    self._send_huge(fault.huge, fault.huge_declared)
                    return
                if fault.bomb:
                    bomb = gzip_bomb(fault.bomb, fault.gzip)
                    # The client hangs up mid-body: read no further request from it.
                    self.close_connection = True
                    self._send(fault.status or 200, bomb, "application/json", compressed=True)
                    return
                if fault.deep:
                    body = b"[" * fault.deep + b"]" * fault.deep
                    self._send(fault.status or 200, body, "application/json")
                    return
                if fault.body is not None:
                    self._send(fault.status or 200, fault.body, "application/json")
                    return
                if fault.status is not None:
                    extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    self._answer(fault.status, {"error": "scripted_fault"}, extra)
                    return
            if path.startswith("/json/login"):
                try:
                    body = json.loads(raw or b"null")
                except json.JSONDecodeError:
                    self._answer(400, {"error": "invalid_json"})
                    return
                self._answer(*iam.handle_json(path, body))
            elif path == "/oauth/token":
                form = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
                self._answer(*iam.handle_oauth(form, self._basic()))
            else:
                self._answer(404, {"error": "not_found"})

        def _with_expiry(self, data: Any, raw: str) -> bytes:
            """``data`` as JSON with its expiry value replaced by the raw JSON text ``raw``."""
            marker = "__standin_expiry__"
            holder = data.get("data", {}).get("session", data) if isinstance(data, dict) else {}
            for key in ("valid_until", "ttl", "expires_in"):
                if key in holder:
                    holder[key] = marker
            return json.dumps(data).replace(json.dumps(marker), raw).encode()

        def _send_huge(self, size: int, declared: bool) -> None:
            """A JSON body of ``size`` bytes in 64 KiB writes, stopping when the client leaves."""
            head, tail = b'{"pad": "', b'"}'
            fill = max(0, size - len(head) - len(tail))
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if declared:
                    self.send_header("Content-Length", str(len(head) + fill + len(tail)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(head)
                chunk = b"x" * 65536
                while fill > 0:
                    self.wfile.write(chunk[:fill])
                    fill -= min(fill, len(chunk))
                self.wfile.write(tail)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _basic(self) -> tuple[str, str] | None:
            header = self.headers.get("Authorization", "")
            if not header.lower().startswith("basic "):
                return None
            decoded = base64.b64decode(header[6:]).decode()
            user, _, pw = decoded.partition(":")
            return urllib.parse.unquote(user), urllib.parse.unquote(pw)

        def _answer(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            fault = getattr(self, "_fault", None)
            if fault is not None and status == 200 and isinstance(data, dict):
                holder = data.get("data", {}).get("session", data)
                if fault.token is not None:
                    holder["jwt" if "jwt" in holder else "access_token"] = fault.token
                if fault.refresh_token is not None:
                    holder["refresh_token"] = fault.refresh_token
            if fault is not None and fault.expiry is not None and status == 200:
                body = self._with_expiry(data, fault.expiry)
            else:
                body = json.dumps(data).encode()
            self._send(status, body, "application/json", headers)

        def _send(
            self,
            status: int,
            body: bytes,
            ctype: str,
            headers: dict[str, str] | None = None,
            compressed: bool = False,
        ) -> None:
            fault = getattr(self, "_fault", None)
            trickle = fault.trickle if fault is not None else 0.0
            encoding = None
            if fault is not None and fault.encoding is not None:
                encoding = fault.encoding
            elif fault is not None and (fault.gzip or fault.bomb):
                encoding = ", ".join(["gzip"] * max(fault.gzip, 1))
                if not compressed:
                    body = gzip_layers(body, fault.gzip)
            try:
                if trickle:
                    # Build the whole answer first, then send it one byte at a time.
                    real, self.wfile = self.wfile, io.BytesIO()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Cache-Control", "no-store")
                    if encoding is not None:
                        self.send_header("Content-Encoding", encoding)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    if trickle:
                        assert isinstance(self.wfile, io.BytesIO)
                        whole, self.wfile = self.wfile.getvalue(), real
                if trickle:
                    self.close_connection = True
                    for i in range(len(whole)):
                        self.wfile.write(whole[i : i + 1])
                        self.wfile.flush()
                        time.sleep(trickle)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (timeout faults)

        def date_time_string(self, timestamp: float | None = None) -> str:
            when = (time.time() if timestamp is None else timestamp) + iam.date_skew
            return email.utils.formatdate(when, usegmt=True)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.standins.iam")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--ttl", type=float, default=60.0)
    parser.add_argument("--user", action="append", default=[], help="ID:PASSWORD (repeatable)")
    parser.add_argument("--client", action="append", default=[], help="ID:SECRET (repeatable)")
    parser.add_argument("--no-refresh-tokens", action="store_true")
    parser.add_argument("--tls-dir", type=Path, help="generate a test CA here and serve HTTPS")
    args = parser.parse_args(argv)
    iam = StandinIam(ttl=args.ttl, port=args.port)
    if args.user:
        iam.users = dict(u.split(":", 1) for u in args.user)
    if args.client:
        iam.clients = dict(c.split(":", 1) for c in args.client)
    iam.issue_refresh_tokens = not args.no_refresh_tokens
    if args.tls_dir:
        iam.tls = make_test_ca(args.tls_dir)
        print(f"CA bundle: {iam.tls.ca_pem}", flush=True)
    iam.start()
    print(f"stand-in IAM listening on {iam.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        iam.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
