"""The injection spec (``LITELLM_BRIDGE_INJECT``): which body fields each model group gets."""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

INJECT_ENV = "LITELLM_BRIDGE_INJECT"

TOKEN_MISSING_MESSAGE = (
    'internal token missing or expired: sign in with "litellm-bridge token login"'
)


# Body fields LiteLLM turns into upstream request headers or query parameters: a client's
# copy replaces the configured ones (``extra_headers`` in a model's ``litellm_params``) or
# adds its own. Removed for every model, on every route, on both paths. LiteLLM also fills
# ``headers`` and ``provider_specific_header`` itself from client HTTP headers when asked to
# forward them (``forward_client_headers_to_llm_api``, ``anthropic-beta`` to Anthropic
# upstreams): that is the same override, so it does not pass the bridge either.
CLIENT_TRANSPORT_FIELDS = frozenset(
    {"extra_headers", "extra_query", "headers", "provider_specific_header"}
)


class InjectSpecError(ValueError):
    """The injection spec is not valid JSON of the expected shape."""


@dataclass(frozen=True)
class ModelInjection:
    """Fields added to every upstream request body of one model group."""

    token: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    literal: Mapping[str, Any] = field(default_factory=dict)

    @property
    def needs_token(self) -> bool:
        return bool(self.token)

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(self.token) | frozenset(self.env) | frozenset(self.literal)

    def fields(self, token: str | None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The values to inject now; env values are read at request time."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = dict(self.literal)
        for name, env_name in self.env.items():
            value = environ.get(env_name)
            if value is not None:
                values[name] = value
        if token is not None:
            for name in self.token:
                values[name] = token
        return values


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InjectSpecError(f"{where}: expected a list of field names")
    return tuple(value)


def _string_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()
    ):
        raise InjectSpecError(f"{where}: expected an object of field name to variable name")
    return dict(value)


def parse_spec(text: str | None) -> dict[str, ModelInjection]:
    """Parse the JSON spec; an empty or absent spec injects nothing."""
    if not text or not text.strip():
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InjectSpecError(f"{INJECT_ENV} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InjectSpecError(f"{INJECT_ENV}: expected an object keyed by model name")
    spec: dict[str, ModelInjection] = {}
    for model, entry in raw.items():
        where = f"{INJECT_ENV}[{model!r}]"
        if not isinstance(entry, dict):
            raise InjectSpecError(f"{where}: expected an object")
        unknown = set(entry) - {"token", "env", "literal"}
        if unknown:
            raise InjectSpecError(f"{where}: unknown keys {sorted(unknown)}")
        literal = entry.get("literal", {})
        if not isinstance(literal, dict):
            raise InjectSpecError(f"{where}.literal: expected an object")
        spec[model] = ModelInjection(
            token=_string_list(entry.get("token", []), f"{where}.token"),
            env=_string_map(entry.get("env", {}), f"{where}.env"),
            literal=dict(literal),
        )
    return spec


def load_spec(environ: Mapping[str, str] | None = None) -> dict[str, ModelInjection]:
    environ = os.environ if environ is None else environ
    return parse_spec(environ.get(INJECT_ENV))


def lookup(spec: Mapping[str, ModelInjection], model: str | None) -> ModelInjection | None:
    """The injection for a requested model or model group.

    Exact names win; otherwise wildcard model names (``claude-*``, ``*``) match the way
    LiteLLM routes them, the most specific (longest) pattern first.
    """
    if model is None:
        return None
    exact = spec.get(model)
    if exact is not None:
        return exact
    patterns = sorted((p for p in spec if "*" in p), key=len, reverse=True)
    for pattern in patterns:
        if fnmatch.fnmatchcase(model, pattern):
            return spec[pattern]
    return None


def strip_fields(data: dict[str, Any], names: frozenset[str]) -> None:
    """Remove client-sent copies of injected fields, top level and inside ``extra_body``."""
    for name in names:
        data.pop(name, None)
    extra = data.get("extra_body")
    if isinstance(extra, Mapping):
        data["extra_body"] = {k: v for k, v in extra.items() if k not in names}


def strip_transport_overrides(data: dict[str, Any]) -> None:
    """Remove client-sent upstream headers and query parameters, top level and in ``extra_body``."""
    strip_fields(data, CLIENT_TRANSPORT_FIELDS)


def refuses(injection: ModelInjection, token: str | None) -> bool:
    """True when the model needs a token and none is usable: nothing may go upstream."""
    return injection.needs_token and token is None


def inject_extra_body(data: dict[str, Any], injection: ModelInjection, token: str | None) -> None:
    """Strip client copies, then merge the current values into ``extra_body``.

    ``extra_body`` ends up at the top level of the upstream JSON body (LiteLLM and the fast
    path both flatten it), after the client's own fields, so injected values always win.
    """
    strip_fields(data, injection.field_names)
    extra = dict(data.get("extra_body") or {})
    extra.update(injection.fields(token))
    data["extra_body"] = extra
