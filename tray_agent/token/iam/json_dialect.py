"""The declarative in-house IAM (``kind: json``): a JSON body template in, token and expiry by
dotted path out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tray_agent.token.iam.answers import (
    checked_token,
    lookup,
    parse_expires_at,
    parse_expires_in,
    substitute,
)
from tray_agent.token.iam.base import Clock, Iam
from tray_agent.token.iam.errors import Grant, IamConfigError
from tray_agent.token.profiles import JsonIamProfile


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
