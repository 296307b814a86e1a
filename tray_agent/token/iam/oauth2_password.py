"""The OAuth 2 dialect (``kind: oauth2-password``): RFC 6749 resource-owner password grant (4.3)
and refresh grant (6), client authentication by HTTP Basic or form fields.
"""

from __future__ import annotations

import base64
import json
import re

from tray_agent.token.iam.answers import checked_token, lookup, parse_expires_at, parse_expires_in
from tray_agent.token.iam.base import Clock, Iam
from tray_agent.token.iam.errors import (
    Grant,
    IamResponseError,
    InvalidCredentialsError,
    PermanentIamError,
)
from tray_agent.token.profiles import OAuth2PasswordIamProfile

_TOKEN_URL_HINT = "bridge.iam.token_url points to the OAuth token endpoint"


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


def _code(text: str) -> str:
    m = re.search(r"HTTP \d+(?:, error [A-Za-z0-9_.-]+)?", text)
    if not m:
        return "refused"
    return m.group(0)


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
