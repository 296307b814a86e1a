"""The LiteLLM hook named in the effective config: ``sidecar.bridge_hook.bridge_hook``.

* ``async_pre_call_hook`` (proxy level, every route, before routing): refuses client-sent
  credentials, endpoints and LiteLLM call settings (``api_key``, ``custom_llm_provider``,
  ...: ``sidecar.inject.client_credential_fields``) with HTTP 400, removes client-sent
  upstream headers and query parameters (``sidecar.inject.CLIENT_TRANSPORT_FIELDS``) and
  refuses a model that needs a token while none is usable, with HTTP 401, before anything
  goes upstream.
* ``async_pre_call_deployment_hook`` (just before the upstream call, every route and each
  nested call a route makes): removes client-sent copies of the injected fields and merges
  the current values into ``extra_body``, which LiteLLM writes at the top level of the
  upstream JSON body.
* ``async_post_call_failure_hook``: LiteLLM's refusal of a client parameter (``api_base``,
  ``base_url``, ...) becomes a 400 with its reason, and a token that lapsed between the two
  checks the same 401 as before routing (LiteLLM without a database would answer a bare 500).
* success / failure callbacks: token counts and errors for the request metric, which the
  ASGI layer (``sidecar.metrics``) emits once per HTTP request.

LiteLLM imports this module by name (``importlib``) because no ``sidecar/bridge_hook.py``
lies next to the effective config; it is therefore the same module object the entry uses,
and ``check_loaded_once`` verifies that at start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException
from litellm.integrations.custom_logger import CustomLogger

from sidecar.inject import (
    TOKEN_MISSING_MESSAGE,
    ModelInjection,
    enforce_client_boundary,
    inject_extra_body,
    load_spec,
    lookup,
    refusal_message,
    refuses,
    strip_fields,
)
from sidecar.metrics import current_record
from sidecar.state import STATE, BridgeState

__all__ = ["TOKEN_MISSING_MESSAGE", "BridgeHook", "bridge_hook", "check_loaded_once"]

WARMUP_REPLY = "warm"
# How LiteLLM's request-body check words a refused client parameter (a ValueError).
_REJECTED_PREFIX = "Rejected Request: "


class TokenMissingError(Exception):
    """Raised at the deployment level when the token lapsed after the proxy-level check."""


def _model_group_from_router(model_id: str) -> str | None:
    from litellm.proxy import proxy_server

    router = proxy_server.llm_router
    if router is None:
        return None
    deployment = router.get_deployment(model_id=model_id)
    return None if deployment is None else str(deployment.model_name)


def model_group_of(kwargs: Mapping[str, Any]) -> str | None:
    """The model group (config ``model_name``) of a deployment call.

    LiteLLM puts it in different places per route: ``metadata`` (chat, messages),
    ``litellm_metadata`` (responses); the chat call nested inside the Gemini routes only
    carries the deployment id in ``model_info``.
    """
    for key in ("metadata", "litellm_metadata"):
        metadata = kwargs.get(key)
        if isinstance(metadata, Mapping) and isinstance(metadata.get("model_group"), str):
            return str(metadata["model_group"])
    model_info = kwargs.get("model_info")
    if isinstance(model_info, Mapping) and isinstance(model_info.get("id"), str):
        group = _model_group_from_router(model_info["id"])
        if group is not None:
            return group
    request = kwargs.get("proxy_server_request")
    if isinstance(request, Mapping):
        body = request.get("body")
        if isinstance(body, Mapping) and isinstance(body.get("model"), str):
            return str(body["model"])
    return None


class BridgeHook(CustomLogger):
    """Injects token and project fields; refuses requests that would go out without a token."""

    def __init__(self, state: BridgeState = STATE) -> None:
        super().__init__()
        self.state = state
        self._spec: dict[str, ModelInjection] | None = None

    @property
    def spec(self) -> dict[str, ModelInjection]:
        # Read lazily: the entry validated it already, and tests may set it after import.
        if self._spec is None:
            self._spec = load_spec()
        return self._spec

    def set_spec(self, spec: dict[str, ModelInjection]) -> None:
        self._spec = spec

    # -- before routing -----------------------------------------------------------------------

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any
    ) -> dict:
        model = data.get("model")
        injection = lookup(self.spec, model if isinstance(model, str) else None)
        record = current_record()
        if record is not None:
            if isinstance(model, str):
                record.model = model
            record.stream = record.stream or data.get("stream") is True
        refusal = enforce_client_boundary(data)
        if refusal is not None:
            raise HTTPException(status_code=400, detail=refusal)
        if injection is None:
            return data
        strip_fields(data, injection.field_names)
        if not self.state.warming and refuses(injection, self.state.usable_token()):
            raise HTTPException(status_code=401, detail=TOKEN_MISSING_MESSAGE)
        return data

    # -- just before the upstream call --------------------------------------------------------

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        if self.state.warming:
            # Warm-up requests run the whole path but are answered by LiteLLM itself.
            kwargs["mock_response"] = WARMUP_REPLY
        group = model_group_of(kwargs)
        injection = lookup(self.spec, group)
        if injection is None:
            return kwargs if self.state.warming else None
        record = current_record()
        if record is not None:
            record.model = group
        token = self.state.usable_token()
        if not self.state.warming and refuses(injection, token):
            raise TokenMissingError(TOKEN_MISSING_MESSAGE)
        inject_extra_body(kwargs, injection, token)
        return kwargs

    # -- errors sent to the client -------------------------------------------------------------

    async def async_post_call_failure_hook(
        self,
        request_data: dict,
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
    ) -> HTTPException | None:
        """A clear 4xx for refusals; None leaves LiteLLM's own answer."""
        if isinstance(original_exception, TokenMissingError):
            return HTTPException(status_code=401, detail=TOKEN_MISSING_MESSAGE)
        if isinstance(original_exception, ValueError):
            message = rejected_parameter_message(str(original_exception))
            if message is not None:
                return HTTPException(status_code=400, detail=message)
        return None

    # -- metrics ------------------------------------------------------------------------------

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        record = current_record()
        if record is None:
            return
        tokens_in, tokens_out = _usage(kwargs, response_obj)
        if tokens_in is not None:
            record.tokens_in = tokens_in
        if tokens_out is not None:
            record.tokens_out = tokens_out
        record.settled()

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        record = current_record()
        if record is None:
            return
        exception = kwargs.get("exception") if isinstance(kwargs, Mapping) else None
        record.error = type(exception).__name__ if exception is not None else "error"
        record.settled()


def rejected_parameter_message(text: str) -> str | None:
    """The client-facing reason for LiteLLM's refusal of a request field, or None.

    LiteLLM's text goes on to explain proxy-admin opt-ins the bridge does not offer: only
    its first sentence is kept, with what to do instead.
    """
    if not text.startswith(_REJECTED_PREFIX):
        return None
    reason = text.removeprefix(_REJECTED_PREFIX).split(". ", 1)[0].rstrip(".")
    return refusal_message(reason)


def _usage(kwargs: Any, response_obj: Any) -> tuple[int | None, int | None]:
    payload = kwargs.get("standard_logging_object") if isinstance(kwargs, Mapping) else None
    if isinstance(payload, Mapping):
        tokens_in = payload.get("prompt_tokens")
        tokens_out = payload.get("completion_tokens")
        if isinstance(tokens_in, int) or isinstance(tokens_out, int):
            return (
                tokens_in if isinstance(tokens_in, int) else None,
                tokens_out if isinstance(tokens_out, int) else None,
            )
    usage = getattr(response_obj, "usage", None)
    if usage is None:
        return None, None
    tokens_in = getattr(usage, "prompt_tokens", None) or getattr(usage, "input_tokens", None)
    tokens_out = getattr(usage, "completion_tokens", None) or getattr(usage, "output_tokens", None)
    return (
        tokens_in if isinstance(tokens_in, int) else None,
        tokens_out if isinstance(tokens_out, int) else None,
    )


bridge_hook = BridgeHook()


def check_loaded_once() -> str | None:
    """A problem when LiteLLM registered a different copy of this hook than the one we feed.

    LiteLLM loads a callback from a file next to the config when one exists there, as a
    fresh module: that copy would never see token updates. Returns None when all is well.
    """
    import litellm

    ours = [cb for cb in litellm.callbacks if type(cb).__name__ == "BridgeHook"]
    if any(cb is not bridge_hook for cb in ours):
        return (
            "the bridge hook was loaded from a second copy (is there a sidecar/bridge_hook.py "
            "next to the config file?); token updates would not reach it"
        )
    if not ours:
        print(
            "litellm-bridge-sidecar: warning: the effective config does not list "
            "sidecar.bridge_hook.bridge_hook in litellm_settings.callbacks; nothing is injected",
            file=sys.stderr,
            flush=True,
        )
    return None
