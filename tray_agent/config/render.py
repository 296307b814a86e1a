"""Render the effective config the sidecar loads, and the injection spec it applies.

The effective config holds no secret: values stay ``os.environ/NAME`` references, which the
sidecar resolves from the env entries it is started with.
"""

from __future__ import annotations

import copy
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tray_agent.config.issues import ConfigInvalid, ConfigIssue
from tray_agent.config.refs import env_names, ref_name
from tray_agent.config.schema import (
    HOOK_CALLBACK,
    MASTER_KEY_ENV,
    TOKEN_ENV,
)
from tray_agent.config.validate import load_config
from tray_agent.config.yamlload import dump_plain
from tray_agent.envref import ENV_PREFIX
from tray_agent.fsutil import atomic_write
from tray_agent.paths import Paths
from tray_agent.token.profiles import JsonIamProfile, OAuth2PasswordIamProfile

InjectSpec = dict[str, dict[str, Any]]

MAX_EFFECTIVE_BYTES = 16 * 1024 * 1024
"""Largest effective config rendered: validation bounds the text to 8 MiB, escapes can
grow it; LiteLLM parses it with pure-Python YAML, which takes a minute for 50 MB."""


class _TooLarge(Exception):
    pass


class _CappedText(io.StringIO):
    """Collects the rendered text and stops the dump as soon as it passes ``limit``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, s: str) -> int:
        if self.tell() + len(s) > self.limit:
            raise _TooLarge
        return super().write(s)


@dataclass
class Rendered:
    """What the agent needs to start a sidecar for one version of ``config.yaml``."""

    text: str
    inject: InjectSpec
    port: int
    model_names: list[str]
    iam: JsonIamProfile | OAuth2PasswordIamProfile | None = None
    notify_before: int = 300
    fast_path: bool = True
    env_names: set[str] = field(default_factory=set)
    needs_token: bool = False
    warnings: list[ConfigIssue] = field(default_factory=list)
    # The whole validated ``bridge:`` section (BridgeSection): every key the agent applies.
    bridge: Any = None

    @property
    def inject_json(self) -> str:
        """The spec as the sidecar reads it from ``LITELLM_BRIDGE_INJECT``."""
        return json.dumps(self.inject, sort_keys=True, separators=(",", ":"))


def injection_for(extra_body: dict[str, Any]) -> dict[str, Any]:
    """Split one ``extra_body`` into token fields, env-backed fields and literal fields."""
    spec: dict[str, Any] = {"token": [], "env": {}, "literal": {}}
    for field_name, value in extra_body.items():
        name = ref_name(value)
        if name == TOKEN_ENV:
            spec["token"].append(str(field_name))
        elif name is not None:
            spec["env"][str(field_name)] = name
        else:
            spec["literal"][str(field_name)] = value
    return spec


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        value = {}
        data[key] = value
    return value


def render_data(data: dict[str, Any]) -> tuple[dict[str, Any], InjectSpec]:
    """The effective config data and injection spec for a validated config's raw data.

    ``data`` has its includes merged in already (``load_config``): the effective config names
    no other file, so LiteLLM reads nothing the bridge did not check.
    """
    out = copy.deepcopy(data)
    out.pop("bridge", None)
    out.pop("include", None)
    inject: InjectSpec = {}
    for entry in out.get("model_list") or []:
        params = entry.get("litellm_params") or {}
        if str(params.get("model", "")).startswith("hosted_vllm/"):
            # A chat-only upstream: LiteLLM must bridge /v1/responses to chat completions
            # instead of forwarding it as is (the upstream has no Responses API).
            params.setdefault("use_chat_completions_api", True)
        body = params.pop("extra_body", None)
        if isinstance(body, dict) and body:
            inject[str(entry["model_name"])] = injection_for(body)
    general = _section(out, "general_settings")
    general["master_key"] = f"{ENV_PREFIX}{MASTER_KEY_ENV}"
    settings = _section(out, "litellm_settings")
    callbacks = settings.get("callbacks")
    if callbacks is None:
        callbacks = []
    elif isinstance(callbacks, str):
        callbacks = [callbacks]
    if HOOK_CALLBACK not in callbacks:
        callbacks = [*callbacks, HOOK_CALLBACK]
    settings["callbacks"] = callbacks
    router = _section(out, "router_settings")
    if router.get("disable_cooldowns") is None:
        # One internal upstream: a single failure must not lock every request out.
        router["disable_cooldowns"] = True
    return out, inject


def _dump_capped(data: dict[str, Any], header: str, path: Path, limit: int) -> str:
    out = _CappedText(limit)
    out.write(header)
    try:
        # Without aliases: the sidecar meets exactly the nodes validation counted, none shared.
        dump_plain(data, out, sort_keys=False, allow_unicode=True, width=100)
    except _TooLarge:
        mib = f"{limit >> 20} MiB" if limit % (1 << 20) == 0 else f"{limit} bytes"
        issue = ConfigIssue(
            str(path),
            1,
            1,
            f"the effective config would be larger than {mib}; nothing was written",
            "shorten long values and repeated parts (aliases are written out in full)",
        )
        raise ConfigInvalid([issue]) from None
    return out.getvalue()


def render_effective(
    config_path: Path | str, max_bytes: int = MAX_EFFECTIVE_BYTES, text: str | None = None
) -> Rendered:
    """Validate ``config.yaml`` and render it; raise ``ConfigInvalid`` when it has errors.

    The effective config is at most ``max_bytes`` long; a larger one is refused, not cut.
    ``text``: the file's content as already read (else it is read here).
    """
    path = Path(config_path)
    loaded = load_config(path, text)
    data, inject = render_data(loaded.data)
    header = (
        f"# Generated by litellm-bridge from {path.name}; do not edit: changes are overwritten.\n"
    )
    text = _dump_capped(data, header, path, max_bytes)
    bridge = loaded.config.bridge
    names = [m.model_name for m in loaded.config.model_list]
    referenced = env_names(data) - {MASTER_KEY_ENV, TOKEN_ENV}
    referenced |= {n for spec in inject.values() for n in spec["env"].values()}
    return Rendered(
        text=text,
        inject=inject,
        port=bridge.port,
        model_names=list(dict.fromkeys(names)),
        iam=bridge.iam,
        notify_before=bridge.notify_before,
        fast_path=bridge.fast_path,
        env_names=referenced,
        needs_token=any(spec["token"] for spec in inject.values()),
        warnings=[i for i in loaded.issues if not i.is_error],
        bridge=bridge,
    )


def write_effective(paths: Paths, rendered: Rendered) -> Path:
    """Write the effective config atomically, readable by this user only (0600)."""
    atomic_write(paths.effective_config, rendered.text, mode=0o600)
    return paths.effective_config
