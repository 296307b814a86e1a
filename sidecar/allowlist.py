"""The routes the sidecar serves, and the master-key check every one of them needs.

The LiteLLM proxy app has hundreds of routes (keys, users, teams, spend, config, UI, health
checks that call every upstream, model info with the deployments' settings, ...). Clients
need a handful; everything else is answered 404 by the ASGI wrapper (``sidecar.asgi``)
before LiteLLM or the upstream sees it. This list is the one place that decides.

The key is checked here too, ahead of LiteLLM and the fast path, so a missing or wrong key is
a clear 401 on every route (LiteLLM without a database answers 400 or a bare 500). Once it
passed, the credential headers are rewritten into the one form LiteLLM parses
(``canonical_headers``), so LiteLLM can never read a key the bridge accepted differently.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

CLIENT_KEY_ERROR = "ClientKeyRejected"
"""The error class a request event carries when the bridge refused the client's key."""
KEY_MESSAGE = 'missing or wrong API key: use the key from "litellm-bridge key"'

# How a route answers errors: the format its clients parse.
ErrorStyle = Literal["openai", "anthropic"]

# A model name in a Gemini path: one or more segments of the characters model names use.
_MODEL = r"[A-Za-z0-9._@+\-]+(?:/[A-Za-z0-9._@+\-]+)*"


@dataclass(frozen=True)
class ServedRoute:
    """One route clients may call: method, path (full match) and how it answers errors."""

    name: str
    method: str
    pattern: re.Pattern[str]
    style: ErrorStyle = "openai"
    needs_key: bool = True
    # Gemini's ``?key=``: LiteLLM reads it on (stream)generateContent only.
    query_key: bool = False

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and self.pattern.fullmatch(path) is not None


def _route(name: str, method: str, pattern: str, **kwargs: Any) -> ServedRoute:
    return ServedRoute(name, method, re.compile(pattern), **kwargs)


SERVED: tuple[ServedRoute, ...] = (
    # OpenAI: SDKs, aider, curl and Codex use the /v1 base; some tools leave /v1 out.
    _route("chat", "POST", r"(?:/v1)?/chat/completions"),
    _route("completions", "POST", r"(?:/v1)?/completions"),
    _route("embeddings", "POST", r"(?:/v1)?/embeddings"),
    _route("responses", "POST", r"(?:/v1)?/responses"),
    # Model names only (checked: no deployment setting in any of its answer formats).
    _route("models", "GET", r"(?:/v1)?/models"),
    # Anthropic: Claude Code and the Anthropic SDK.
    _route("messages", "POST", r"/v1/messages", style="anthropic"),
    _route("count_tokens", "POST", r"/v1/messages/count_tokens", style="anthropic"),
    # Gemini CLI and the Google GenAI SDK.
    _route(
        "gemini",
        "POST",
        rf"/v1beta/models/{_MODEL}:(?:generateContent|streamGenerateContent)",
        query_key=True,
    ),
    _route("gemini_count_tokens", "POST", rf"/v1beta/models/{_MODEL}:countTokens"),
    # The agent's liveness probe and readiness checks (no key: they carry none, and answer
    # nothing but "alive"/"healthy"). Never /health, which calls every upstream.
    _route("liveliness", "GET", r"/health/liveliness", needs_key=False),
    _route("readiness", "GET", r"/health/readiness", needs_key=False),
)

# Headers LiteLLM reads a key from (user_api_key_auth). Every one present must carry the
# master key: LiteLLM then finds it whichever header it picks.
_KEY_HEADERS = (
    b"x-api-key",  # Anthropic SDK, Claude Code
    b"x-goog-api-key",  # Gemini CLI, Google GenAI SDK
    b"x-litellm-api-key",
    b"api-key",
    b"ocp-apim-subscription-key",
)


def match(method: str, path: str) -> ServedRoute | None:
    """The served route for this request, or None: the bridge does not serve it."""
    for route in SERVED:
        if route.matches(method, path):
            return route
    return None


def presented_keys(
    headers: Iterable[tuple[bytes, bytes]], query_string: bytes, route: ServedRoute
) -> list[bytes]:
    """Every credential the request carries, the way each client sends it."""
    keys: list[bytes] = []
    for name, value in headers:
        name = name.lower()
        if name == b"authorization":
            # The scheme is case-insensitive and any run of blanks may follow it (RFC 9110).
            parts = value.split(None, 1)
            bearer = len(parts) == 2 and parts[0].lower() == b"bearer"
            # Any other scheme (or a bare key, which LiteLLM does not take) is a wrong one.
            keys.append(parts[1].strip() if bearer else b"")
        elif name in _KEY_HEADERS:
            keys.append(value.strip())
    if route.query_key and query_string:
        # Latin-1 both ways: any byte round-trips, so no query string can raise here.
        query = parse_qsl(
            query_string.decode("latin-1"), keep_blank_values=True, encoding="latin-1"
        )
        keys.extend(text.encode("latin-1") for param, text in query if param == "key")
    return keys


def authorized(scope: Mapping[str, Any], master_key: bytes, route: ServedRoute) -> bool:
    """True when the request carries the master key and no other credential."""
    keys = presented_keys(scope.get("headers", ()), scope.get("query_string", b""), route)
    # Compare every one (no early exit), each in constant time.
    results = [hmac.compare_digest(key, master_key) for key in keys]
    return bool(results) and all(results)


def canonical_headers(
    headers: Iterable[tuple[bytes, bytes]], master_key: bytes
) -> list[tuple[bytes, bytes]]:
    """The headers of an authorized request, each credential in the exact form LiteLLM parses.

    LiteLLM takes ``Authorization`` only as ``Bearer <key>`` (one space, that case):
    ``BEARER <key>`` made it answer a bare 500, two spaces a 400 about a database. Every
    credential header already carried the master key, so each is set to exactly that.

    Every served route takes a JSON body, and the policy reads the body as JSON; LiteLLM
    would parse a form-encoded body as a form instead, so one body could name an allowed
    model to the policy and a denied one to LiteLLM. The body is declared JSON, always.
    """
    canonical: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"authorization":
            value = b"Bearer " + master_key
        elif lowered in _KEY_HEADERS:
            value = master_key
        elif lowered == b"content-type":
            continue
        canonical.append((name, value))
    canonical.append((b"content-type", b"application/json"))
    return canonical


def error_body(style: ErrorStyle, status: int, message: str, kind: str) -> bytes:
    """An error in the format the route's clients parse."""
    if style == "anthropic":
        payload: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        payload = {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}
    return json.dumps(payload, separators=(",", ":")).encode()


def not_served_message(method: str, path: str) -> str:
    shown = path if len(path) <= 200 else path[:200] + "..."
    names = ", ".join(sorted({route.name for route in SERVED}))
    return (
        f"{method} {shown} is not served by the bridge (it serves only the client API "
        f"routes: {names}); check the client's base URL"
    )
