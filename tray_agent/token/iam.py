"""IAM dialects behind one interface: sign in with employee ID + password, refresh silently.

Each dialect implements :class:`Iam` (``login`` and ``refresh``); :func:`make_iam` picks one
from the ``bridge.iam`` profile. Errors are typed so the refresh schedule can tell a blip
(:class:`TransientIamError`: retry later) from something only the user can fix
(:class:`PermanentIamError`: stop). No message ever contains a password or a token.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import json
import logging
import math
import re
import socket
import ssl
import threading
import time
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import TypeAdapter

from tray_agent.envref import ref_name, resolve_ref
from tray_agent.token.profiles import IamProfile, JsonIamProfile, OAuth2PasswordIamProfile

log = logging.getLogger("tray_agent.token")

Clock = Callable[[], float]
# A sign-in answer is a few hundred bytes; a cap keeps a broken or hostile IAM from filling
# memory (a 300 MB body used to be read whole).
MAX_RESPONSE_BYTES = 1024 * 1024
# Longer lifetimes are clamped (and renewed before then): a lifetime of centuries is a unit
# mistake on the IAM's side, and every date shown or scheduled must stay computable.
MAX_LIFETIME = 30 * 24 * 3600.0
# Epoch numbers by magnitude: below 1e11 seconds (until year 5138), then ms, µs, ns.
_EPOCH_UNITS: tuple[tuple[float, float, str], ...] = (
    (1e11, 1.0, "seconds"),
    (1e14, 1e3, "milliseconds"),
    (1e17, 1e6, "microseconds"),
    (1e20, 1e9, "nanoseconds"),
)
_PLACEHOLDER = re.compile(r"\{(employee_id|password)\}")
# What a token or refresh token may look like, checked when it arrives and when it is read
# back: it goes into HTTP headers and the keyring, so visible ASCII on one line, bounded.
TOKEN_SHAPE = re.compile(r"[!-~]{1,65536}")
# Retry-After can ask for anything; a refresh loop must not go to sleep for a day.
MAX_RETRY_AFTER = 600.0
_TOKEN_URL_HINT = "bridge.iam.token_url points to the OAuth token endpoint"
RETRY_HINT = "this is usually temporary: try again shortly (automatic renewals retry by themselves)"


@dataclass(frozen=True)
class Grant:
    """A token the IAM issued. ``repr`` hides the secrets so logs cannot leak them."""

    token: str
    expires_at: float
    refresh_token: str | None
    employee_id: str
    note: str | None = None
    """Set when the IAM's expiry was adjusted (clamped), saying how; never a secret."""

    def __repr__(self) -> str:
        return (
            f"Grant(employee_id={self.employee_id!r}, expires_at={self.expires_at!r}, "
            f"refresh_token={'<set>' if self.refresh_token else None})"
        )


class IamError(Exception):
    """Base of every IAM failure; ``str()`` is a message the user can act on."""

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class TransientIamError(IamError):
    """Timeouts, connection errors, 5xx, 429: worth retrying later."""

    def __init__(self, message: str, url: str | None = None, retry_after: float | None = None):
        super().__init__(message, url)
        self.retry_after = retry_after


class PermanentIamError(IamError):
    """Retrying will not help: the user (or the config) must change something."""


class InvalidCredentialsError(PermanentIamError):
    """The IAM refused the employee ID / password (or the refresh token)."""


class IamResponseError(PermanentIamError):
    """The IAM answered, but not in the shape the profile describes."""


class IamConfigError(PermanentIamError):
    """The profile cannot be used as written (missing env entry, unreadable CA bundle)."""


class CannotRefreshSilently(IamError):
    """This grant can only be renewed by signing in again with the password."""


class Iam(ABC):
    """One IAM dialect."""

    kind: str = ""

    def __init__(self, *, timeout: float, ca_bundle: str | None, clock: Clock = time.time):
        self.timeout = timeout
        self.ca_bundle = ca_bundle
        self.clock = clock

    @property
    @abstractmethod
    def endpoint(self) -> str:
        """The URL signed in against (for messages)."""

    @abstractmethod
    def login(self, employee_id: str, password: str) -> Grant:
        """Sign in once. Never retried here: a wrong password must count as one attempt."""

    def refresh(self, grant: Grant) -> Grant:
        """Renew without the password, or raise :class:`CannotRefreshSilently`."""
        raise CannotRefreshSilently(
            f"the IAM at {self.endpoint} issues no refresh token: the token can only be renewed "
            'by signing in again ("litellm-bridge token login", or --remember to let the '
            "agent do it)",
            self.endpoint,
        )

    def can_refresh(self, grant: Grant) -> bool:
        """True when :meth:`refresh` may succeed for ``grant`` without the password."""
        return False

    def _fresh(self, grant: Grant, url: str) -> Grant:
        """Refuse a token that is already expired: renewing it would loop at once."""
        now = self.clock()
        if grant.expires_at <= now + 1.0:
            stamp = datetime.fromtimestamp(grant.expires_at, UTC).isoformat()
            local = datetime.fromtimestamp(now, UTC).isoformat()
            raise IamResponseError(
                f"the IAM at {url} issued a token that expires at {stamp}, which is not in the "
                f"future by this computer's clock ({local}); check the system clock and the "
                "expiry path and unit in bridge.iam",
                url,
            )
        return grant

    # -- HTTP, shared by the dialects -------------------------------------------------

    def _verify(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.ca_bundle:
            path = Path(self.ca_bundle).expanduser()
            try:
                ctx.load_verify_locations(cafile=str(path))
            except (OSError, ssl.SSLError) as exc:
                raise IamConfigError(
                    f"cannot load bridge.iam.ca_bundle {path}: {exc}; point it to a PEM file "
                    "with your company's CA certificate",
                    self.endpoint,
                ) from exc
        return ctx

    def _send(self, method: str, url: str, **kwargs: Any) -> IamReply:
        """One IAM call through :func:`iam_request`; a non-2xx answer becomes an IamError."""
        reply = iam_request(method, url, timeout=self.timeout, verify=self._verify(), **kwargs)
        self._raise_for_status(reply, url)
        return reply

    def _raise_for_status(self, response: IamReply, url: str) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = _error_detail(response)
        if status == 429 or status >= 500 or status == 408:
            retry_after = _retry_after(response.headers.get("retry-after"), self.clock())
            when = f" (it asks to wait {retry_after:g} s)" if retry_after is not None else ""
            raise TransientIamError(
                f"the IAM at {url} answered HTTP {status}{detail}{when}; {RETRY_HINT}",
                url,
                retry_after,
            )
        if status in (400, 401, 403):
            raise InvalidCredentialsError(
                f"the IAM at {url} refused the sign-in (HTTP {status}{detail}); check the "
                'employee ID and password and sign in again with "litellm-bridge token login"',
                url,
            )
        raise PermanentIamError(
            f"the IAM at {url} answered HTTP {status}{detail}; check bridge.iam in config.yaml "
            "(URL, method, headers)",
            url,
        )

    def _json(self, response: IamReply, url: str) -> Any:
        return decode_json(response, url)

    def _expiry(self, expires_at: float, url: str, path: str) -> tuple[float, str | None]:
        """Clamp an absurdly long lifetime to :data:`MAX_LIFETIME`, saying so (log and note)."""
        now = self.clock()
        lifetime = expires_at - now
        if lifetime <= MAX_LIFETIME:
            return expires_at, None
        note = (
            f"the IAM at {url} gave a token lifetime of {_span(lifetime)} at {path}; the bridge "
            f"counts at most {_span(MAX_LIFETIME)} and renews it before then"
        )
        log.warning("token expiry clamped: %s", note)
        return now + MAX_LIFETIME, note


# -- transport, shared by every dialect and every call (login and refresh) ------------------


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


class JsonIam(Iam):
    """Declarative in-house IAM: a JSON body template in, token and expiry by dotted path."""

    kind = "json"

    def __init__(self, profile: JsonIamProfile, headers: Mapping[str, str], clock: Clock):
        super().__init__(timeout=profile.timeout, ca_bundle=profile.ca_bundle, clock=clock)
        self.profile = profile
        self.headers = dict(headers)
        self.body = _parse_body(profile.body)

    @property
    def endpoint(self) -> str:
        return self.profile.url

    def login(self, employee_id: str, password: str) -> Grant:
        p = self.profile
        values = {"employee_id": employee_id, "password": password}
        body = substitute(self.body, values)
        headers = {k: substitute(v, values) for k, v in self.headers.items()}
        if p.method == "GET":
            params = body if isinstance(body, dict) else {}
            response = self._send(p.method, p.url, headers=headers, params=params)
        else:
            response = self._send(p.method, p.url, headers=headers, json=body)
        data = self._json(response, p.url)
        raw = lookup(data, p.token_path, p.url, "token_path")
        token = checked_token(
            raw, p.url, f"token_path {p.token_path!r}", "bridge.iam.token_path and url"
        )
        now = self.clock()
        if p.expires_at_path:
            path = p.expires_at_path
            raw = lookup(data, path, p.url, "expires_at_path")
            expires_at = parse_expires_at(raw, p.url, path)
        else:
            assert p.expires_in_path is not None
            path = p.expires_in_path
            raw = lookup(data, path, p.url, "expires_in_path")
            expires_at = now + parse_expires_in(raw, p.url, path)
        expires_at, note = self._expiry(expires_at, p.url, path)
        return self._fresh(Grant(token, expires_at, None, employee_id, note), p.url)


class OAuth2PasswordIam(Iam):
    """RFC 6749 resource-owner password grant (4.3) and refresh grant (6)."""

    kind = "oauth2-password"

    def __init__(
        self, profile: OAuth2PasswordIamProfile, client_secret: str | None, clock: Clock
    ) -> None:
        super().__init__(timeout=profile.timeout, ca_bundle=profile.ca_bundle, clock=clock)
        self.profile = profile
        self.client_secret = client_secret

    @property
    def endpoint(self) -> str:
        return self.profile.token_url

    def can_refresh(self, grant: Grant) -> bool:
        return bool(grant.refresh_token)

    def login(self, employee_id: str, password: str) -> Grant:
        form = {"grant_type": "password", "username": employee_id, "password": password}
        return self._token_request(form, employee_id, previous_refresh=None)

    def refresh(self, grant: Grant) -> Grant:
        if not grant.refresh_token:
            return super().refresh(grant)
        form = {"grant_type": "refresh_token", "refresh_token": grant.refresh_token}
        return self._token_request(form, grant.employee_id, previous_refresh=grant.refresh_token)

    def _token_request(
        self, form: dict[str, str], employee_id: str, previous_refresh: str | None
    ) -> Grant:
        p = self.profile
        url = p.token_url
        if p.scope:
            form["scope"] = p.scope
        auth: tuple[str, str] | None = None
        if self.client_secret is not None and p.client_auth == "basic":
            auth = (p.client_id, self.client_secret)
        else:
            form["client_id"] = p.client_id
            if self.client_secret is not None:
                form["client_secret"] = self.client_secret
        try:
            response = self._send(
                "POST", url, data=form, auth=auth, headers={"Accept": "application/json"}
            )
        except InvalidCredentialsError as exc:
            raise self._oauth_error(exc, form["grant_type"]) from exc.__cause__
        data = self._json(response, url)
        raw = lookup(data, "access_token", url, "access_token")
        token = checked_token(raw, url, "access_token", _TOKEN_URL_HINT)
        now = self.clock()
        if isinstance(data, dict) and data.get("expires_in") is not None:
            path = "expires_in"
            expires_at = now + parse_expires_in(data["expires_in"], url, path)
        else:
            path = "access_token (its JWT exp claim)"
            jwt_exp = _jwt_exp(token)
            if jwt_exp is None:
                raise IamResponseError(
                    f"the IAM at {url} sent no expires_in and the token carries no expiry; "
                    "the refresh time cannot be known",
                    url,
                )
            expires_at = parse_expires_at(jwt_exp, url, path)
        expires_at, note = self._expiry(expires_at, url, path)
        refresh = data.get("refresh_token") if isinstance(data, dict) else None
        if isinstance(refresh, str) and refresh:
            refresh = checked_token(refresh, url, "refresh_token", _TOKEN_URL_HINT)
        else:
            # RFC 6749 6: the server may keep the old refresh token valid and not resend it.
            refresh = previous_refresh
        return self._fresh(Grant(token, expires_at, refresh, employee_id, note), url)

    def _oauth_error(self, exc: InvalidCredentialsError, grant_type: str) -> PermanentIamError:
        """Turn a 400/401/403 into the message matching the OAuth error code."""
        text = str(exc)
        url = self.profile.token_url
        if "invalid_client" in text or "unauthorized_client" in text:
            return PermanentIamError(
                f"the IAM at {url} refused the client credentials ({_code(text)}); check "
                "bridge.iam.client_id and the env entry behind client_secret",
                url,
            )
        if grant_type == "refresh_token":
            return InvalidCredentialsError(
                f"the IAM at {url} refused the refresh token ({_code(text)}): the session "
                'ended; sign in again with "litellm-bridge token login"',
                url,
            )
        return exc


# -- factory --------------------------------------------------------------------------


def make_iam(
    profile: IamProfile | Mapping[str, Any],
    env: Mapping[str, str],
    *,
    clock: Clock = time.time,
    base_dir: Path | None = None,
) -> Iam:
    """Build the dialect for ``profile``; ``os.environ/NAME`` values are read from ``env``.

    A relative ``ca_bundle`` is taken relative to ``base_dir`` (the config file's folder).
    """
    if isinstance(profile, Mapping):
        profile = TypeAdapter(IamProfile).validate_python(dict(profile))
    if profile.ca_bundle and base_dir is not None:
        bundle = Path(profile.ca_bundle).expanduser()
        if not bundle.is_absolute():
            profile = profile.model_copy(update={"ca_bundle": str(base_dir / bundle)})
    if isinstance(profile, JsonIamProfile):
        headers = {k: resolve_env_ref(v, env, f"headers.{k}") for k, v in profile.headers.items()}
        return JsonIam(profile, headers, clock)
    if isinstance(profile, OAuth2PasswordIamProfile):
        secret = None
        if profile.client_secret is not None:
            secret = resolve_env_ref(profile.client_secret, env, "client_secret")
        return OAuth2PasswordIam(profile, secret, clock)
    raise IamConfigError(f"unknown IAM profile kind {type(profile).__name__}")


def resolve_env_ref(value: str, env: Mapping[str, str], field: str) -> str:
    """``os.environ/NAME`` -> env[NAME]; other values unchanged."""
    name = ref_name(value)
    if name is None:
        return value
    resolved = resolve_ref(value, env)
    if not isinstance(resolved, str):
        raise IamConfigError(
            f"bridge.iam.{field} refers to the env entry {name}, which is not set or not "
            f"enabled; add it to the env store (or the environment) and try again"
        )
    return resolved


# -- templates, paths and expiry ----------------------------------------------------------


def _parse_body(body: Any) -> Any:
    if isinstance(body, str):
        try:
            return json.loads(body)
        except json.JSONDecodeError as exc:
            raise IamConfigError(
                f"bridge.iam.body is a string but not JSON ({exc.msg} at char {exc.pos}); "
                "write it as a YAML mapping instead"
            ) from exc
    return body


def substitute(template: Any, values: Mapping[str, str]) -> Any:
    """Replace ``{employee_id}`` / ``{password}`` inside string values, in one pass.

    The values are inserted as data into a parsed structure (then JSON-encoded by the
    client), so quotes, braces or backslashes in a password cannot change the shape of
    the body or trigger a second substitution.
    """
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    if isinstance(template, dict):
        return {k: substitute(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [substitute(v, values) for v in template]
    return template


def lookup(data: Any, path: str, url: str, field: str) -> Any:
    """Follow a dotted path (``data.session.jwt``, list indexes as numbers)."""
    current = data
    walked: list[str] = []
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            where = ".".join(walked) or "the top level"
            if isinstance(current, dict):
                seen = ", ".join(sorted(map(str, current))[:10]) or "none"
                found = f"keys there: {seen}"
            else:
                found = f"found {type(current).__name__} there"
            raise IamResponseError(
                f"the answer of the IAM at {url} has no {path!r} (bridge.iam.{field}): "
                f"{part!r} is missing under {where} ({found}); fix bridge.iam.{field}",
                url,
            )
        walked.append(part)
    return current


def parse_expires_at(raw: Any, url: str = "", path: str = "expires_at_path") -> float:
    """An absolute expiry -> epoch seconds, or an IamResponseError naming ``path`` and ``url``.

    Epoch numbers (or numeric strings) in seconds, milliseconds, microseconds or nanoseconds,
    told apart by magnitude and converted; ISO 8601 (no offset: UTC). Refused: booleans,
    non-numbers, NaN/Infinity, zero or negative, and numbers too large for any epoch unit.
    """
    value: float | None = None
    kind = "neither epoch seconds nor ISO 8601"
    iso = False
    if isinstance(raw, bool):
        kind = "a boolean, not a time"
    elif isinstance(raw, int | float | str):
        value, kind, iso = _epoch_or_iso(raw)
    if value is not None:
        if not math.isfinite(value):
            value, kind = None, "not a finite number"
        elif value <= 0:
            value, kind = None, "not after 1970 (zero or negative)"
    if value is None:
        raise _refused(url, path, raw, kind, "expires_at_path")
    if iso:  # a date has no unit to guess: a far one is clamped by the dialect
        return value
    for limit, per_second, unit in _EPOCH_UNITS:
        if value < limit:
            if per_second != 1.0:
                log.info("token expiry at %s read as epoch %s", path, unit)
            return value / per_second
    raise _refused(url, path, raw, "too large for epoch seconds, ms, µs or ns", "expires_at_path")


def parse_expires_in(raw: Any, url: str = "", path: str = "expires_in_path") -> float:
    """A lifetime in seconds (number or numeric string) -> float, or an IamResponseError.

    Refused: booleans, non-numbers, NaN/Infinity, zero or negative. Long lifetimes are
    accepted here and clamped by the dialect (:data:`MAX_LIFETIME`).
    """
    value: float | None = None
    kind = "not a number of seconds"
    if isinstance(raw, bool):
        kind = "a boolean, not a number of seconds"
    elif isinstance(raw, int | float | str):
        try:
            value = float(raw)
        except (OverflowError, ValueError):
            value = math.inf if isinstance(raw, int) else None
    if value is not None:
        if not math.isfinite(value):
            value, kind = None, "not a finite number"
        elif value <= 0:
            value, kind = None, "not a positive number of seconds"
    if value is None:
        raise _refused(url, path, raw, kind, "expires_in_path")
    return value


def _epoch_or_iso(raw: int | float | str) -> tuple[float | None, str, bool]:
    """(epoch number or ISO timestamp, why not when None, whether it was ISO 8601)."""
    if isinstance(raw, int):
        try:
            return float(raw), "", False
        except OverflowError:  # an integer beyond any float
            return math.inf, "", False
    if isinstance(raw, float):
        return raw, "", False
    text = raw.strip()
    try:
        return float(text), "", False
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None, "neither epoch seconds nor ISO 8601", False
    if parsed.tzinfo is None:  # no offset: the IAM means UTC
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp(), "", True
    except (OverflowError, ValueError):
        return None, "a date out of range", False


def checked_token(raw: Any, url: str, field: str, hint: str) -> str:
    """``raw`` if it has :data:`TOKEN_SHAPE`, else an IamResponseError naming ``field``.

    Both dialects check the token (and refresh token) here, on sign-in and on refresh, so
    nothing that would be refused when read back is saved or used. The message never shows
    the value: a mangled token may still be a secret.
    """
    if isinstance(raw, str) and TOKEN_SHAPE.fullmatch(raw):
        return raw
    if not isinstance(raw, str):
        what = f"not a string ({type(raw).__name__})"
    elif not raw:
        what = "empty"
    elif len(raw) > 65536:
        what = f"{len(raw):,} characters long (at most 65,536)"
    elif any(ch in raw for ch in "\r\n"):
        what = "more than one line"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        what = "holding control characters"
    else:
        what = "holding spaces or characters outside printable ASCII"
    raise IamResponseError(
        f"the IAM at {url} sent a {field} that is {what}, not a token (one line of printable "
        f"ASCII up to 64 KiB); the token was refused and nothing was saved; check {hint}",
        url,
    )


def _refused(url: str, path: str, raw: Any, kind: str, key: str) -> IamResponseError:
    shown = repr(raw) if isinstance(raw, int | float | str) else type(raw).__name__
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return IamResponseError(
        f"the IAM at {url} sent an expiry at {path!r} that is {kind} ({shown}); the token "
        f"was refused and nothing was saved; check the IAM's answer and bridge.iam.{key}",
        url,
    )


def _span(seconds: float) -> str:
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    if seconds < 730 * 86400:
        return f"{seconds / 86400:.0f} days"
    years = seconds / (365.25 * 86400)
    return f"{years:,.0f} years" if years < 1e9 else f"{years:.3g} years"


# -- helpers ------------------------------------------------------------------------------


def _retry_after(header: str | None, now: float) -> float | None:
    if not header:
        return None
    header = header.strip()
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - now
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _error_detail(response: IamReply) -> str:
    """A short, safe hint from an error body: only OAuth-style ``error`` codes, never text."""
    try:
        data = json.loads(response.content)
    except (RecursionError, ValueError, UnicodeDecodeError):
        return ""
    if isinstance(data, dict):
        code = data.get("error")
        if isinstance(code, str) and re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", code):
            return f", error {code}"
    return ""


def _code(text: str) -> str:
    m = re.search(r"HTTP \d+(?:, error [A-Za-z0-9_.-]+)?", text)
    if not m:
        return "refused"
    return m.group(0)


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


def _jwt_exp(token: str) -> int | float | None:
    """The JWT's ``exp`` claim as sent (checked by :func:`parse_expires_at`), or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        exp = claims.get("exp") if isinstance(claims, dict) else None
    except (RecursionError, ValueError):
        return None
    return exp if isinstance(exp, int | float) and not isinstance(exp, bool) else None
