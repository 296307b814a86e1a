"""Which requests may skip LiteLLM: the eligibility rules of the fast path.

Chat requests first; ``/v1/messages`` has its own request rules at the end of this module.

The fast path (``sidecar.fast_path``) forwards an OpenAI chat request to an OpenAI-compatible
upstream itself. That is only the same as what LiteLLM would do when LiteLLM would not change
the request beyond renaming the model, removing client copies of injected fields and adding
``stream_options.include_usage``. These rules decide that, conservatively: anything that is
not known to pass through LiteLLM verbatim goes to LiteLLM.

Config level (read once at start-up; any doubt turns the fast path off for every model):
  * top-level sections only ``model_list``, ``general_settings`` (``master_key`` only),
    ``litellm_settings`` (our hook as the only callback, ``drop_params``,
    ``request_timeout``) and ``router_settings`` (cool-down settings only): no fallbacks,
    aliases, retries settings, budgets, other callbacks, guardrails, caching, includes.
Model level (a model not eligible goes to LiteLLM):
  * exactly one deployment with that ``model_name``, no wildcard in the name;
  * ``hosted_vllm/`` or ``openai/`` with an explicit ``api_base`` and ``api_key``; not an
    OpenAI reasoning, audio or search model (LiteLLM rewrites their parameters);
  * no other ``litellm_params`` than ``use_chat_completions_api``, ``timeout`` and
    ``stream_timeout``.
Request level (``request_eligible``): only the parameters LiteLLM passes through as they are,
plain string message contents, function tools without ``strict``, ``cache_control`` or
``additionalProperties: false`` (LiteLLM rewrites those).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

HOOK_CALLBACK = "sidecar.bridge_hook.bridge_hook"
DEFAULT_TIMEOUT_SECONDS = 6000.0  # LiteLLM's default request timeout
_PROVIDERS = ("hosted_vllm/", "openai/")
_TOP_LEVEL = frozenset({"model_list", "general_settings", "litellm_settings", "router_settings"})
_GENERAL = frozenset({"master_key"})
_LITELLM = frozenset({"callbacks", "drop_params", "request_timeout"})
_ROUTER = frozenset({"disable_cooldowns", "cooldown_time", "allowed_fails"})
_PARAMS = frozenset(
    {"model", "api_base", "api_key", "use_chat_completions_api", "timeout", "stream_timeout"}
)
# Wildcard names resolved, kept per requested name (clients ask for a handful).
_MATCH_CACHE = 256
# Environment variables that change how LiteLLM connects upstream.
_CONNECTION_ENV = (
    "SSL_VERIFY",
    "SSL_CERTIFICATE",
    "LITELLM_SSL_VERIFY",
    "DISABLE_AIOHTTP_TRUST_ENV",
)

# Chat parameters LiteLLM sends upstream unchanged for these providers (checked against
# what the stand-in receives through LiteLLM, see tests/sidecar/test_fast_path.py).
_PASSED_AS_IS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "temperature",
        "top_p",
        "n",
        "stop",
        "max_tokens",
        "max_completion_tokens",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "seed",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning_effort",
        "extra_body",
    }
)
_MESSAGE_KEYS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id"})
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_REWRITTEN_KEYS = frozenset({"strict", "cache_control"})
# OpenAI models whose parameters LiteLLM rewrites (reasoning models, audio, search).
_OPENAI_TRANSLATED_PREFIXES = ("o1", "o3", "o4", "gpt-5")
_OPENAI_TRANSLATED_PARTS = ("audio", "search")


@dataclass(frozen=True)
class Upstream:
    """Where the fast path sends one model's chat requests."""

    model_name: str
    upstream_model: str
    url: str
    api_key: str
    timeout: float
    stream_timeout: float
    # LiteLLM's provider prefix: whose request and stream transformations apply.
    provider: str = "hosted_vllm"
    # ``use_chat_completions_api``: LiteLLM bridges /v1/responses to chat completions
    # (without it LiteLLM forwards the Responses request to the upstream as it is).
    chat_bridge: bool = False


@dataclass(frozen=True)
class Pattern:
    """A wildcard ``model_name`` as LiteLLM's router matches it (``PatternMatchRouter``)."""

    regex: re.Pattern[str]
    model_name: str
    # The deployment's litellm_params, references resolved; None: LiteLLM serves the names.
    params: Mapping[str, Any] | None


@dataclass(frozen=True)
class FastRoutes:
    """The eligible models, and why the others are not (for the start-up log)."""

    models: Mapping[str, Upstream]
    skipped: Mapping[str, str]
    disabled: str | None = None
    # Every exact model_name (eligible or not): LiteLLM matches patterns only for others.
    names: frozenset[str] = frozenset()
    # Wildcard names, in the order LiteLLM's router tries them.
    patterns: tuple[Pattern, ...] = ()
    default_timeout: float = DEFAULT_TIMEOUT_SECONDS
    _matched: dict[str, Upstream | None] = field(default_factory=dict, compare=False)

    def __bool__(self) -> bool:
        return bool(self.models or any(p.params is not None for p in self.patterns))

    def upstream(self, name: str) -> Upstream | None:
        """Where LiteLLM's router would send a request for ``name``, if the fast path may.

        An exact name is its own deployment; any other name goes to the first wildcard
        pattern LiteLLM's router matches (most specific first, ``re.match`` of the escaped
        name with ``*`` as ``(.*)``), with each ``*`` of the deployment's model replaced by
        the matched parts (``set_deployment_model_name``). No match here: LiteLLM (which
        then also tries ``provider/name``).
        """
        if name in self.names:
            return self.models.get(name)
        if name in self._matched:
            return self._matched[name]
        found = self._match(name)
        if len(self._matched) >= _MATCH_CACHE:
            self._matched.clear()
        self._matched[name] = found
        return found

    def _match(self, name: str) -> Upstream | None:
        if "*" in name:
            return None
        for pattern in self.patterns:
            matched = pattern.regex.match(name)
            if matched is None:
                continue
            if pattern.params is None:
                return None
            params = dict(pattern.params)
            params["model"] = deployment_model(matched, str(params["model"]))
            found = _upstream(name, params, self.default_timeout, {})
            return found if isinstance(found, Upstream) else None
        return None


def _resolve(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("os.environ/"):
        return environ.get(value.removeprefix("os.environ/"))
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


def _config_problem(config: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    extra = set(config) - _TOP_LEVEL
    if extra:
        return f"config has sections the fast path does not handle: {sorted(extra)}"
    for section, allowed in (
        ("general_settings", _GENERAL),
        ("litellm_settings", _LITELLM),
        ("router_settings", _ROUTER),
    ):
        value = config.get(section) or {}
        if not isinstance(value, Mapping):
            return f"{section} is not a mapping"
        extra = set(value) - allowed
        if extra:
            return f"{section} sets {sorted(extra)}, which only LiteLLM applies"
    callbacks = (config.get("litellm_settings") or {}).get("callbacks")
    if callbacks not in (None, [HOOK_CALLBACK], HOOK_CALLBACK):
        return "litellm_settings.callbacks lists callbacks besides the bridge hook"
    for name in _CONNECTION_ENV:
        if environ.get(name):
            return f"{name} is set (LiteLLM's connection settings are not mirrored)"
    return None


def _upstream(
    name: str, params: Mapping[str, Any], default_timeout: float, environ: Mapping[str, str]
) -> Upstream | str:
    """The upstream of one deployment, or why it must go through LiteLLM."""
    extra = set(params) - _PARAMS
    if extra:
        return f"litellm_params {sorted(extra)} need LiteLLM"
    model = params.get("model")
    if not isinstance(model, str) or not model.startswith(_PROVIDERS):
        return "provider is not hosted_vllm/ or openai/"
    upstream_model = model.split("/", 1)[1]
    if model.startswith("openai/") and (
        upstream_model.startswith(_OPENAI_TRANSLATED_PREFIXES)
        or any(part in upstream_model for part in _OPENAI_TRANSLATED_PARTS)
    ):
        return "LiteLLM rewrites parameters for this OpenAI model"
    api_base = _resolve(params.get("api_base"), environ)
    api_key = _resolve(params.get("api_key"), environ)
    if not isinstance(api_base, str) or not api_base.startswith(("http://", "https://")):
        return "no api_base"
    if not isinstance(api_key, str) or not api_key:
        return "no api_key"
    timeout = _number(_resolve(params.get("timeout"), environ))
    if params.get("timeout") is not None and timeout is None:
        return "timeout is not a positive number"
    stream_timeout = _number(_resolve(params.get("stream_timeout"), environ))
    if params.get("stream_timeout") is not None and stream_timeout is None:
        return "stream_timeout is not a positive number"
    timeout = timeout or default_timeout
    return Upstream(
        model_name=name,
        upstream_model=upstream_model,
        url=api_base.rstrip("/") + "/chat/completions",
        api_key=api_key,
        timeout=timeout,
        stream_timeout=stream_timeout or timeout,
        provider=model.split("/", 1)[0],
        chat_bridge=params.get("use_chat_completions_api") is True,
    )


def load_routes(config: Any, environ: Mapping[str, str] | None = None) -> FastRoutes:
    """The models whose chat requests the fast path may serve, from the effective config."""
    environ = os.environ if environ is None else environ
    if not isinstance(config, Mapping):
        return FastRoutes({}, {}, "config is not a mapping")
    problem = _config_problem(config, environ)
    if problem is not None:
        return FastRoutes({}, {}, problem)
    default_timeout = (
        _number((config.get("litellm_settings") or {}).get("request_timeout"))
        or DEFAULT_TIMEOUT_SECONDS
    )
    entries = config.get("model_list") or []
    if not isinstance(entries, list):
        return FastRoutes({}, {}, "model_list is not a list")
    counts: dict[str, int] = {}
    for entry in entries:
        if isinstance(entry, Mapping) and isinstance(entry.get("model_name"), str):
            counts[entry["model_name"]] = counts.get(entry["model_name"], 0) + 1
    models: dict[str, Upstream] = {}
    skipped: dict[str, str] = {}
    patterns: list[Pattern] = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("model_name"), str):
            continue
        name = entry["model_name"]
        params = entry.get("litellm_params")
        if "*" in name:
            if any(p.model_name == name for p in patterns):
                continue
            pattern = _pattern(name, params, counts[name], default_timeout, environ)
            if isinstance(pattern, str):
                skipped[name] = pattern
                pattern = Pattern(_pattern_regex(name), name, None)
            patterns.append(pattern)
        elif counts[name] > 1:
            skipped[name] = "several deployments (LiteLLM balances and fails over)"
        elif not isinstance(params, Mapping):
            skipped[name] = "no litellm_params"
        else:
            found = _upstream(name, params, default_timeout, environ)
            if isinstance(found, Upstream):
                models[name] = found
            else:
                skipped[name] = found
    names = frozenset(n for n in counts if "*" not in n)
    return FastRoutes(
        models,
        skipped,
        names=names,
        patterns=_by_specificity(patterns),
        default_timeout=default_timeout,
    )


# -- wildcard names, as LiteLLM's router matches them (router_utils/pattern_match_deployments)


def _pattern_regex(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(name).replace(r"\*", "(.*)"))


def _by_specificity(patterns: list[Pattern]) -> tuple[Pattern, ...]:
    """LiteLLM's order: longer regex first, then more regex characters; ties in config order."""

    def specificity(pattern: Pattern) -> tuple[int, int]:
        regex = pattern.regex.pattern
        return len(regex), sum(regex.count(c) for c in "*+?\\^$|()")

    return tuple(sorted(patterns, key=specificity, reverse=True))


def deployment_model(matched: re.Match[str], model: str) -> str:
    """The deployment's model with each ``*`` replaced by the matched parts, in order."""
    if "*" not in model:
        return model
    parts = matched.groups()
    if len(parts) > model.count("*"):
        return matched.string
    for part in parts:
        model = model.replace("*", part, 1)
    return model


def _pattern(
    name: str, params: Any, count: int, default_timeout: float, environ: Mapping[str, str]
) -> Pattern | str:
    """A wildcard deployment the fast path may serve, or why LiteLLM must."""
    if count > 1:
        return "several deployments (LiteLLM balances and fails over)"
    if not isinstance(params, Mapping):
        return "no litellm_params"
    # What does not depend on the requested name is checked once, with a stand-in name.
    probe = dict(params)
    probe["model"] = str(params.get("model", "")).replace("*", "x")
    found = _upstream(name, probe, default_timeout, environ)
    if isinstance(found, str):
        return found
    resolved = {k: _resolve(v, environ) for k, v in params.items()}
    return Pattern(_pattern_regex(name), name, resolved)


def _contains_key(value: Any, keys: frozenset[str]) -> bool:
    if isinstance(value, Mapping):
        return any(k in keys or _contains_key(v, keys) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_key(v, keys) for v in value)
    return False


def _forbids_extra_properties(value: Any) -> bool:
    if isinstance(value, Mapping):
        if value.get("additionalProperties") is False:
            return True
        return any(_forbids_extra_properties(v) for v in value.values())
    if isinstance(value, list):
        return any(_forbids_extra_properties(v) for v in value)
    return False


def _message_plain(message: Any) -> bool:
    if not isinstance(message, Mapping) or not set(message) <= _MESSAGE_KEYS:
        return False
    if message.get("role") not in _ROLES:
        return False
    content = message.get("content")
    if content is None:
        return message.get("role") == "assistant"
    return isinstance(content, str)


def _tools_plain(tools: Any) -> bool:
    if not isinstance(tools, list):
        return False
    for tool in tools:
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            return False
    return not _contains_key(tools, _REWRITTEN_KEYS) and not _forbids_extra_properties(tools)


def request_eligible(body: Mapping[str, Any], injected: frozenset[str]) -> bool:
    """True when LiteLLM would send this chat body upstream unchanged (but for injection)."""
    if not set(body) <= _PASSED_AS_IS | injected:
        return False
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return False
    if not all(_message_plain(m) for m in messages):
        return False
    if "tools" in body and not _tools_plain(body["tools"]):
        return False
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        return False
    options = body.get("stream_options")
    if options is not None and not (
        isinstance(options, Mapping) and set(options) <= {"include_usage"}
    ):
        return False
    response_format = body.get("response_format")
    if response_format is not None and not (
        isinstance(response_format, Mapping)
        and set(response_format) == {"type"}
        and response_format.get("type") in ("text", "json_object")
    ):
        return False
    extra = body.get("extra_body")
    if extra is None:
        return True
    # Its keys land at the top level: one that names a chat parameter would override it.
    return isinstance(extra, Mapping) and not set(extra) & _PASSED_AS_IS


# -- translated route: /v1/messages --------------------------------------------------------
# LiteLLM's own adapter translates it (``sidecar.fast_translate``); the rules admit only what
# the differential tests compare against LiteLLM (tests/sidecar/test_fast_messages_diff.py):
# anything else (thinking, documents, server tools, context management, MCP, ...) goes to
# LiteLLM, which may call other code (polyfills, the Responses API bridge, web search).
# Only for ``hosted_vllm/`` models: for ``openai/`` LiteLLM bridges /v1/messages to the
# Responses API.
MESSAGES_PATHS = frozenset({"/v1/messages"})
# Claude Code's query string; LiteLLM's route reads nothing from it.
MESSAGES_QUERY = b"beta=true"
_MESSAGES_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "tools",
        "tool_choice",
        "metadata",
        "thinking",
        "output_config",
        "context_management",
    }
)
_THINKING_TYPES = frozenset({"enabled", "adaptive", "disabled"})
_EFFORTS = frozenset({"low", "medium", "high", "max", "xhigh", "minimal"})
# Context-management edits LiteLLM applies locally (compaction needs a model call: LiteLLM).
_LOCAL_EDITS = frozenset({"clear_thinking_20251015", "clear_tool_uses_20250919"})
_TEXT_BLOCK = frozenset({"type", "text", "cache_control"})
_IMAGE_BLOCK = frozenset({"type", "source", "cache_control"})
_TOOL_USE_BLOCK = frozenset({"type", "id", "name", "input", "cache_control"})
_TOOL_RESULT_BLOCK = frozenset({"type", "tool_use_id", "content", "is_error", "cache_control"})
_TOOL_FIELDS = frozenset(
    {"name", "description", "input_schema", "cache_control", "type", "defer_loading"}
)
_THINKING_BLOCK = frozenset({"type", "thinking", "signature"})
_TOOL_CHOICES = frozenset({"auto", "any", "tool", "none"})


def _number_or_none(value: Any) -> bool:
    return value is None or (not isinstance(value, bool) and isinstance(value, int | float))


def _text_block(block: Any) -> bool:
    return (
        isinstance(block, Mapping)
        and block.get("type") == "text"
        and set(block) <= _TEXT_BLOCK
        and isinstance(block.get("text"), str)
    )


def _image_block(block: Mapping[str, Any]) -> bool:
    source = block.get("source")
    if not set(block) <= _IMAGE_BLOCK or not isinstance(source, Mapping):
        return False
    if source.get("type") == "base64":
        return set(source) == {"type", "media_type", "data"} and all(
            isinstance(source[k], str) for k in ("media_type", "data")
        )
    return source.get("type") == "url" and set(source) == {"type", "url"}


def _content_block(block: Any, role: str) -> bool:
    if not isinstance(block, Mapping):
        return False
    kind = block.get("type")
    if kind == "text":
        return _text_block(block)
    if kind == "image":
        return role == "user" and _image_block(block)
    if kind in ("thinking", "redacted_thinking"):
        # Earlier answers' reasoning: the adapter maps it, the provider drops what it cannot take.
        fields = _THINKING_BLOCK if kind == "thinking" else frozenset({"type", "data"})
        return role == "assistant" and set(block) <= fields
    if kind == "tool_use":
        return (
            role == "assistant"
            and set(block) <= _TOOL_USE_BLOCK
            and isinstance(block.get("id"), str)
            and isinstance(block.get("name"), str)
            and isinstance(block.get("input"), Mapping)
        )
    if kind == "tool_result":
        content = block.get("content", "")
        plain = isinstance(content, str) or (
            isinstance(content, list) and all(_text_block(b) for b in content)
        )
        return (
            role == "user"
            and set(block) <= _TOOL_RESULT_BLOCK
            and isinstance(block.get("tool_use_id"), str)
            and isinstance(block.get("is_error", False), bool)
            and plain
        )
    return False


def _output_config(value: Any) -> bool:
    return (
        isinstance(value, Mapping) and set(value) <= {"effort"} and value.get("effort") in _EFFORTS
    )


def _anthropic_message(message: Any) -> bool:
    if not isinstance(message, Mapping) or not {"role", "content"} <= set(message):
        return False
    role, content = message.get("role"), message.get("content")
    extra = set(message) - {"role", "content"}
    if role == "system":
        # A mid-conversation system turn (Claude Code's), with its effort setting.
        if extra - {"output_config"}:
            return False
        if "output_config" in message and not _output_config(message["output_config"]):
            return False
        return isinstance(content, str) or (
            isinstance(content, list) and all(map(_text_block, content))
        )
    if extra or role not in ("user", "assistant"):
        return False
    if isinstance(content, str):
        return True
    return isinstance(content, list) and all(_content_block(b, role) for b in content)


def _thinking(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and value.get("type") in _THINKING_TYPES
        and set(value) <= {"type", "budget_tokens", "display"}
        and isinstance(value.get("budget_tokens", 0), int)
        and isinstance(value.get("display", ""), str)
    )


def _context_management(value: Any) -> bool:
    if not isinstance(value, Mapping) or set(value) != {"edits"}:
        return False
    edits = value["edits"]
    return isinstance(edits, list) and all(
        isinstance(edit, Mapping) and edit.get("type") in _LOCAL_EDITS for edit in edits
    )


def _anthropic_tools(tools: Any) -> bool:
    if not isinstance(tools, list):
        return False
    for tool in tools:
        if not isinstance(tool, Mapping) or not set(tool) <= _TOOL_FIELDS:
            return False
        # Server tools (web search, code execution, ...) have a type; LiteLLM maps those.
        if tool.get("type") not in (None, "custom") or not isinstance(tool.get("name"), str):
            return False
        if not isinstance(tool.get("input_schema"), Mapping):
            return False
        if not isinstance(tool.get("defer_loading", False), bool):
            return False
    return True


def messages_eligible(body: Mapping[str, Any], injected: frozenset[str]) -> bool:
    """True when LiteLLM's Anthropic adapter alone decides what goes upstream for this body."""
    if not set(body) <= _MESSAGES_FIELDS | injected:
        return False
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        return False
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return False
    if not all(_anthropic_message(m) for m in messages):
        return False
    system = body.get("system")
    if system is not None and not (
        isinstance(system, str) or (isinstance(system, list) and all(map(_text_block, system)))
    ):
        return False
    stop = body.get("stop_sequences")
    if stop is not None and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        return False
    if not isinstance(body.get("stream", False), bool):
        return False
    if not (_number_or_none(body.get("temperature")) and _number_or_none(body.get("top_p"))):
        return False
    if "tools" in body and not _anthropic_tools(body["tools"]):
        return False
    choice = body.get("tool_choice")
    if choice is not None and not (
        isinstance(choice, Mapping)
        and choice.get("type") in _TOOL_CHOICES
        and set(choice) <= {"type", "name", "disable_parallel_tool_use"}
    ):
        return False
    if "thinking" in body and not _thinking(body["thinking"]):
        return False
    if "output_config" in body and not _output_config(body["output_config"]):
        return False
    if "context_management" in body and not _context_management(body["context_management"]):
        return False
    metadata = body.get("metadata")
    return metadata is None or (
        isinstance(metadata, Mapping)
        and set(metadata) <= {"user_id"}
        and isinstance(metadata.get("user_id", ""), str | None)
    )


# What LiteLLM's translation may produce for the upstream, beyond model and messages: a
# translated body with anything else (a parameter only some code path handles) goes to LiteLLM.
_TRANSLATED_PARAMS = frozenset(
    {
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "stream",
        "stream_options",
        "temperature",
        "top_p",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning_effort",
        "prompt_cache_key",
    }
)


def translated_eligible(body: Mapping[str, Any]) -> bool:
    """True when a translated chat body holds only parameters the fast path sends as they are."""
    return set(body) - {"model", "messages"} <= _TRANSLATED_PARAMS
