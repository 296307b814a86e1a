"""Reach a URL step by step (DNS, TCP, TLS, HTTP) and say which step failed and why.

TLS failures are told apart: a certificate signed by a CA this computer does not trust
(the usual corporate-CA case, fixed with ``ca_bundle``) versus a name mismatch, an expired
certificate or a server that does not speak TLS.
"""

from __future__ import annotations

import email.utils
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import httpx

# OpenSSL X509 verify codes meaning "no trusted CA signs this chain".
UNTRUSTED_CODES = {2, 18, 19, 20, 21, 27}
NAME_MISMATCH = {62, 64}  # host name, IP address
EXPIRED = 10
NOT_YET_VALID = 9


@dataclass
class ProbeResult:
    ok: bool
    step: str  # dns | tcp | tls | http | done
    message: str
    fix: str | None = None
    status: int | None = None
    server_date: float | None = None
    local_mid: float | None = None
    untrusted_ca: bool = False
    via_proxy: bool = False


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The verification the agent uses: system CAs, plus ``ca_bundle`` when set."""
    ctx = ssl.create_default_context()
    if ca_bundle:
        ctx.load_verify_locations(cafile=str(Path(ca_bundle).expanduser()))
    return ctx


def proxy_for(url: str, environ: dict[str, str]) -> str | None:
    """The proxy variable httpx would use for ``url`` (None when it goes direct)."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    no_proxy = ",".join(environ.get(k, "") for k in ("NO_PROXY", "no_proxy"))
    for item in (p.strip().lower() for p in no_proxy.split(",")):
        if not item:
            continue
        if item == "*" or host == item.lstrip(".") or host.endswith("." + item.lstrip(".")):
            return None
    keys = [f"{parts.scheme.upper()}_PROXY", f"{parts.scheme}_proxy", "ALL_PROXY", "all_proxy"]
    return next((k for k in keys if environ.get(k)), None)


def _tls_failure(exc: ssl.SSLError, host: str, port: int, ca_bundle: str | None) -> ProbeResult:
    where = f"{host}:{port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        reason = exc.verify_message or str(exc)
        if code in UNTRUSTED_CODES:
            if ca_bundle:
                fix = (
                    f"bridge.iam.ca_bundle ({ca_bundle}) does not hold the CA that signed this "
                    "certificate: export the right root/intermediate CA as PEM and point "
                    "ca_bundle to it"
                )
            else:
                fix = (
                    "the certificate is signed by a CA this computer does not trust (usually "
                    "the company's own CA): set bridge.iam.ca_bundle in config.yaml to a PEM "
                    "file with that CA certificate (ask IT for it)"
                )
            return ProbeResult(
                False,
                "tls",
                f"TLS: the certificate of {where} is not trusted ({reason})",
                fix,
                untrusted_ca=True,
            )
        if code in NAME_MISMATCH:
            return ProbeResult(
                False,
                "tls",
                f"TLS: the certificate of {where} is for another name ({reason})",
                "use the host name the certificate was issued for in the IAM URL",
            )
        if code in (EXPIRED, NOT_YET_VALID):
            return ProbeResult(
                False,
                "tls",
                f"TLS: the certificate of {where} is outside its validity period ({reason})",
                "check this computer's date and time; if it is right, the server's "
                "certificate must be renewed (tell its operators)",
            )
        return ProbeResult(
            False,
            "tls",
            f"TLS: the certificate of {where} was refused ({reason})",
            "tell the IAM's operators; the agent never turns TLS verification off",
        )
    return ProbeResult(
        False,
        "tls",
        f"TLS handshake with {where} failed ({exc.reason or exc})",
        "check that the URL's scheme and port are right (https on a TLS port) and that no "
        "network device intercepts the connection",
    )


def _server_date(headers: httpx.Headers) -> float | None:
    value = headers.get("date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def probe_url(
    url: str,
    *,
    ca_bundle: str | None = None,
    timeout: float = 5.0,
    environ: dict[str, str] | None = None,
    what: str = "the server",
) -> ProbeResult:
    """DNS, TCP, TLS, then one GET without credentials (any HTTP answer means reachable)."""
    import os

    env = dict(os.environ) if environ is None else environ
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return ProbeResult(False, "dns", f"{url!r} is not an http(s) URL", "fix the URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        ctx = ssl_context(ca_bundle) if parts.scheme == "https" else None
    except (OSError, ssl.SSLError) as exc:
        return ProbeResult(
            False,
            "tls",
            f"cannot load the CA bundle {ca_bundle}: {exc}",
            "point bridge.iam.ca_bundle to a readable PEM file with the CA certificate",
        )
    proxy = proxy_for(url, env)
    if proxy is None:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            return ProbeResult(
                False,
                "dns",
                f"DNS: cannot resolve {host} ({exc.strerror or exc})",
                "check the host name in the URL and that the company network or VPN is "
                "connected (internal names resolve only there)",
            )
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError:
            return ProbeResult(
                False,
                "tcp",
                f"TCP: no answer from {host}:{port} within {timeout:g} s",
                "check the VPN and firewall; the server may be down",
            )
        except OSError as exc:
            return ProbeResult(
                False,
                "tcp",
                f"TCP: cannot connect to {host}:{port} ({exc.strerror or exc})",
                f"{what} is down or not at this address: check the URL's host and port",
            )
        try:
            if ctx is not None:
                try:
                    with ctx.wrap_socket(sock, server_hostname=host) as tls:
                        tls.settimeout(timeout)
                except ssl.SSLError as exc:
                    return _tls_failure(exc, host, port, ca_bundle)
                except OSError as exc:
                    return ProbeResult(
                        False,
                        "tls",
                        f"TLS handshake with {host}:{port} failed ({exc.strerror or exc})",
                        "check that the URL's port serves HTTPS",
                    )
        finally:
            sock.close()
    before = time.time()
    try:
        with httpx.Client(
            verify=ctx if ctx is not None else True,
            timeout=timeout,
            trust_env=proxy is not None,
            follow_redirects=False,
        ) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ssl.SSLError):
                return _tls_failure(cause, host, port, ca_bundle)
            cause = cause.__cause__ or cause.__context__
        via = f" through the proxy in {proxy}" if proxy else ""
        return ProbeResult(
            False,
            "http",
            f"HTTP: no answer from {url}{via} ({type(exc).__name__}: {exc})",
            "check the proxy settings" if proxy else "check the URL and the server",
            via_proxy=proxy is not None,
        )
    after = time.time()
    status = response.status_code
    result = ProbeResult(
        status < 500,
        "done" if status < 500 else "http",
        f"HTTP {status} from {url}" + (f" (through {proxy})" if proxy else ""),
        None if status < 500 else f"{what} answered with a server error: tell its operators",
        status=status,
        server_date=_server_date(response.headers),
        local_mid=(before + after) / 2,
        via_proxy=proxy is not None,
    )
    return result
