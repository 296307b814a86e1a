"""The interface every IAM dialect implements (:class:`Iam`) and what they share: the HTTP
status rules, the CA bundle, the expiry clamp and the refusal of already-expired tokens.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tray_agent.token.iam.answers import MAX_LIFETIME, span
from tray_agent.token.iam.errors import (
    CannotRefreshSilently,
    Grant,
    IamConfigError,
    IamResponseError,
    InvalidCredentialsError,
    PermanentIamError,
    TransientIamError,
)
from tray_agent.token.iam.transport import RETRY_HINT, IamReply, decode_json, iam_request

log = logging.getLogger("tray_agent.token")

Clock = Callable[[], float]


# Retry-After can ask for anything; a refresh loop must not go to sleep for a day.
MAX_RETRY_AFTER = 600.0


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
            f"the IAM at {url} gave a token lifetime of {span(lifetime)} at {path}; the bridge "
            f"counts at most {span(MAX_LIFETIME)} and renews it before then"
        )
        log.warning("token expiry clamped: %s", note)
        return now + MAX_LIFETIME, note


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
