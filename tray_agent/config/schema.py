"""The part of LiteLLM's config the bridge relies on, plus the ``bridge:`` section.

Only the top level, ``bridge:`` and a model entry have a known, closed key set; everything
else (``litellm_params``, ``*_settings``) stays open so that valid LiteLLM keys the bridge
does not know keep working.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from tray_agent import formats
from tray_agent.policy.schema import Update
from tray_agent.token.profiles import IamProfile

DEFAULT_PORT = 4000
PORT_MIN = 1024
PORT_MAX = 65535
DEFAULT_NOTIFY_BEFORE = 300
# A started sidecar takes ~380 MB RSS (peak while starting about the same); 2048 MB leaves
# room for configs several times larger while stopping a runaway start (a YAML alias bomb
# grew to 16 GB) long before it hurts an 8 GB laptop.
DEFAULT_MAX_START_MEMORY_MB = 2048
DEFAULT_READY_TIMEOUT = 180

TOKEN_ENV = "LITELLM_BRIDGE_TOKEN"
MASTER_KEY_ENV = "LITELLM_MASTER_KEY"
HOOK_CALLBACK = "sidecar.bridge_hook.bridge_hook"


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class LiteLLMParams(_Open):
    """``litellm_params`` of a model entry: the fields the bridge reads, others passed through."""

    model: str
    api_base: str | None = None
    api_key: str | None = None
    extra_body: dict[str, Any] | None = None
    mock_response: Any = None
    timeout: float | str | None = None
    stream_timeout: float | str | None = None
    max_retries: StrictInt | None = Field(None, ge=0)


class ModelEntry(_Closed):
    model_name: str
    litellm_params: LiteLLMParams
    model_info: dict[str, Any] | None = None
    blocked: StrictBool | None = None


class LiteLLMSettings(_Open):
    callbacks: list[str] | str | None = None


class RouterSettings(_Open):
    disable_cooldowns: StrictBool | None = None


class GeneralSettings(_Open):
    master_key: str | None = None


class SidecarSection(_Closed):
    """``bridge.sidecar``: what a starting sidecar may take before it is killed."""

    # Resident memory of the sidecar's process tree until it is ready.
    max_start_memory_mb: StrictInt = Field(DEFAULT_MAX_START_MEMORY_MB, ge=64, le=1 << 20)
    # Seconds from spawn to "ready"; unset: LITELLM_BRIDGE_READY_TIMEOUT, else 180.
    ready_timeout: StrictInt | float | None = Field(None, ge=1, le=3600)


class BridgeSection(_Closed):
    """``bridge:``: settings of the agent itself, removed before LiteLLM sees the config."""

    # The section's format (tray_agent.formats): absent means 1. The config is the user's
    # file, so a step would edit it in place; a newer format is refused like any bad value.
    format: StrictInt = Field(1, ge=1)
    port: StrictInt = Field(DEFAULT_PORT, ge=PORT_MIN, le=PORT_MAX)
    iam: IamProfile | None = None
    notify_before: StrictInt = Field(DEFAULT_NOTIFY_BEFORE, ge=0, le=86400)
    # The sidecar's fast path for plain OpenAI chat (sidecar/fast_path.py); false = LiteLLM only.
    fast_path: StrictBool = True
    sidecar: SidecarSection = Field(default_factory=lambda: SidecarSection.model_validate({}))
    # Reserved for the usage policy; kept open until that feature defines it.
    policy: dict[str, Any] | None = None
    # Per-user updates (docs/UPDATES.md); the organization policy's ``update`` wins.
    update: Update | None = None

    @field_validator("format")
    @classmethod
    def _readable_format(cls, value: int) -> int:
        known = formats.CONFIG
        if value > known.current:
            raise ValueError(
                f"written by a newer LiteLLM Bridge (format {value}; this version reads up "
                f"to {known.current}): {known.advice}"
            )
        return value


class ConfigFile(_Closed):
    """The whole ``config.yaml``: the top-level keys LiteLLM 1.106 reads (proxy_server.py)."""

    model_list: list[ModelEntry] = Field(min_length=1)
    litellm_settings: LiteLLMSettings | None = None
    router_settings: RouterSettings | None = None
    general_settings: GeneralSettings | None = None
    environment_variables: dict[str, Any] | None = None
    callback_settings: Any = None
    credential_list: Any = None
    search_tools: Any = None
    assistant_settings: Any = None
    sandbox_tools: Any = None
    finetune_settings: Any = None
    files_settings: Any = None
    default_vertex_config: Any = None
    guardrails: Any = None
    prompts: Any = None
    mcp_tools: Any = None
    mcp_servers: Any = None
    agents: Any = None
    agent_list: Any = None
    vector_store_registry: Any = None
    worker_registry: Any = None
    policies: Any = None
    policy_attachments: Any = None
    include: list[str] | None = None
    bridge: BridgeSection = Field(default_factory=lambda: BridgeSection.model_validate({}))


def known_keys(model: type[BaseModel]) -> list[str]:
    """The closed key set of a section, for "did you mean" suggestions."""
    return list(model.model_fields)
