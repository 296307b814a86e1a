"""The injection spec (``LITELLM_BRIDGE_INJECT``): which body fields each model group gets."""

from __future__ import annotations

import fnmatch
import functools
import json
import os
from collections.abc import Iterator, Mapping
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


# Body fields that choose the upstream, the credentials sent to it or how LiteLLM calls it.
# A client's copy would replace the configured ones (``api_key`` becomes the upstream's
# ``Authorization``, ``custom_llm_provider`` sends it to another host), so the request is
# refused (400, naming the field) rather than quietly changed: the client asked for something
# the bridge forbids and should learn it. LiteLLM's own lists are added at first use
# (``client_credential_fields``); this floor holds if a LiteLLM upgrade moves them.
_CREDENTIAL_FLOOR = frozenset(
    {
        "api_key",
        "api_base",
        "base_url",
        "api_version",
        "api_type",
        "organization",
        "region_name",
        "azure_ad_token",
        "azure_ad_token_provider",
        "azure_username",
        "azure_password",
        "tenant_id",
        "client_id",
        "client_secret",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_region_name",
        "aws_profile_name",
        "aws_role_name",
        "aws_web_identity_token",
        "aws_sts_endpoint",
        "aws_bedrock_runtime_endpoint",
        "vertex_project",
        "vertex_location",
        "vertex_credentials",
        "vertex_ai_credentials",
        "watsonx_region_name",
        "default_headers",
        "user_config",
        "model_list",
        # LiteLLM call settings (all_litellm_params) that redirect the call or fake it.
        "custom_llm_provider",
        "use_litellm_proxy",
        "ssl_verify",
        "litellm_credential_name",
        "fallbacks",
        # Router settings LiteLLM also takes from a request body: each would send the call
        # to another model group than the one asked for (and checked by the policy).
        "context_window_fallbacks",
        "content_policy_fallbacks",
        "default_fallbacks",
        "model_alias_map",
        "mock_response",
        "input_cost_per_token",
        "output_cost_per_token",
    }
)
# Dicts whose keys LiteLLM spreads into the upstream call like top-level fields.
_NESTED_BODIES = ("extra_body", "litellm_embedding_config")
# Handled otherwise: transport fields are removed, ``extra_body`` carries the injection.
_NOT_REFUSED = CLIENT_TRANSPORT_FIELDS | {"extra_body"}
# The names in LiteLLM's ``all_litellm_params`` a request may carry. Every other name there
# is a LiteLLM call setting (``custom_llm_provider``, ``ssl_verify``, ``fallbacks``,
# ``mock_response``, cost overrides, ...) that would let a client choose the upstream, turn
# off TLS checks or change what the bridge's config decides, so it is refused.
CLIENT_REQUEST_FIELDS = frozenset(
    {
        # A request field of the OpenAI chat and Responses APIs and of Anthropic's Messages
        # API (Claude Code sends ``metadata.user_id``): the only name clients send that is
        # also in all_litellm_params. LiteLLM strips its own control keys inside it itself.
        "metadata",
        # The rest LiteLLM writes into the request before the bridge hook sees it, on every
        # request; a client's copy is dropped or replaced by LiteLLM first.
        # ``metadata`` under the name the Responses and Messages routes use.
        "litellm_metadata",
        # Its audit snapshot and the raw headers: client copies are stripped first.
        "proxy_server_request",
        "secret_fields",
        # Set (never taken from the client) when a body or header timeout is present.
        "client_side_timeout",
        # Log and trace identifiers: they choose nothing upstream.
        "litellm_call_id",
        "litellm_trace_id",
        "litellm_session_id",
        # Its per-call logging object, and its note to drop the usage chunk it asked for.
        "litellm_logging_obj",
        "_litellm_strip_stream_usage",
    }
)

REFUSAL_HINT = "remove it (the bridge's config sets the upstream and its credentials)"


@functools.cache
def client_credential_fields() -> frozenset[str]:
    """Every field a client may not send: credentials, endpoints and LiteLLM call settings.

    The floor plus LiteLLM's lists (what it refuses in a request body, what it clears when a
    client redirects ``api_base``, what it takes as client credentials, and every parameter
    its calls take, ``all_litellm_params``), minus ``CLIENT_REQUEST_FIELDS``. The lists are
    read at first use, when the sidecar has LiteLLM loaded;
    ``tests/sidecar/test_client_boundary.py`` checks they are still there.
    """
    names = set(_CREDENTIAL_FLOOR)
    try:
        from litellm.proxy.auth import auth_utils
        from litellm.router_utils import clientside_credential_handler as clientside
        from litellm.types.router import CredentialLiteLLMParams
        from litellm.types.utils import all_litellm_params
    except ImportError:
        return frozenset(names - _NOT_REFUSED - CLIENT_REQUEST_FIELDS)
    names.update(getattr(auth_utils, "_BANNED_REQUEST_BODY_PARAMS", ()))
    names.update(getattr(clientside, "_ADMIN_CONFIG_FIELDS_TO_CLEAR_ON_BASE_OVERRIDE", ()))
    names.update(getattr(clientside, "clientside_credential_keys", ()))
    names.update(CredentialLiteLLMParams.model_fields)
    names.update(all_litellm_params)
    return frozenset(names - _NOT_REFUSED - CLIENT_REQUEST_FIELDS)


def _client_fields(data: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, name) of every field a client set: top level, then inside the nested bodies."""
    for name in data:
        yield name, name
    for nested in _NESTED_BODIES:
        inner = data.get(nested)
        if isinstance(inner, Mapping):
            for name in inner:
                yield f"{nested}.{name}", name


def refused_field(data: Mapping[str, Any]) -> str | None:
    """Where the first credential or endpoint field a client sent sits, or None."""
    refused = client_credential_fields()
    for where, name in _client_fields(data):
        if name in refused:
            return where
    return None


def refusal_message(reason: str) -> str:
    """The client-facing text of a refused request field, what to do included."""
    return f"rejected request: {reason}; {REFUSAL_HINT}"


def enforce_client_boundary(data: dict[str, Any]) -> str | None:
    """Refuse client credentials and endpoints (the message), else strip transport overrides.

    The one check both paths (the LiteLLM hook and the fast path) run on a client's body
    before anything goes upstream; None means the request may go on.
    """
    where = refused_field(data)
    if where is not None:
        return refusal_message(f"{where} is not allowed in request body")
    strip_transport_overrides(data)
    return None


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


def inject_extra_body(
    data: dict[str, Any],
    injection: ModelInjection,
    token: str | None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Strip client copies, then merge the current values into ``extra_body``.

    ``extra_body`` ends up at the top level of the upstream JSON body (LiteLLM and the fast
    path both flatten it), after the client's own fields, so injected values always win.
    Env values come from ``environ`` (default: this process's environment); doctor passes the
    environment the sidecar would have, to send exactly what the sidecar sends.
    """
    strip_fields(data, injection.field_names)
    extra = dict(data.get("extra_body") or {})
    extra.update(injection.fields(token, environ))
    data["extra_body"] = extra
