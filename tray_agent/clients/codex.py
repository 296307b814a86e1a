"""Codex: a ``litellm-bridge`` model provider in ``$CODEX_HOME/config.toml`` (default
``~/.codex``).

The key stays out of the file: the provider's ``env_key`` names the environment variable
Codex reads it from (``litellm-bridge clients env`` exports it).
"""

from __future__ import annotations

from tray_agent.clients.base import KEY_ENV, ClientSetup, FileSpec, Target, env_dir, home
from tray_agent.clients.formats import KeyPath

PROVIDER = "litellm-bridge"

# Measured on 0.171.0: with these, `codex exec` made no request except model calls.
# features.plugins=false stops the start-up sync of the curated plugin repository from
# github.com; the others stop update checks, analytics and feedback uploads.
OFFLINE_SETTINGS: dict[KeyPath, object] = {
    ("check_for_update_on_startup",): False,
    ("analytics", "enabled"): False,
    ("feedback", "enabled"): False,
    ("features", "plugins"): False,
}


class Codex(ClientSetup):
    name = "codex"
    title = "Codex"
    executables = ("codex",)

    def files(self, target: Target) -> list[FileSpec]:
        values: dict[KeyPath, object] = {
            ("model_provider",): PROVIDER,
            **OFFLINE_SETTINGS,
            ("model_providers", PROVIDER): {
                "name": "LiteLLM Bridge",
                "base_url": target.openai_base,
                "env_key": KEY_ENV,
                "env_key_instructions": (
                    f'export {KEY_ENV}: eval "$(litellm-bridge clients env)" '
                    "or see `litellm-bridge key`"
                ),
                "wire_api": "responses",
            },
        }
        if target.model:
            values[("model",)] = target.model
        path = env_dir("CODEX_HOME", home() / ".codex") / "config.toml"
        return [FileSpec(path, "toml", values)]

    def notes(self, target: Target) -> list[str]:
        return [f'Codex reads the key from ${KEY_ENV}: eval "$(litellm-bridge clients env)"']

    def summary(self, url: str, key_reference: str) -> str:
        return (
            f"provider {PROVIDER!r} (base_url {url.rstrip('/')}/v1, wire_api responses) "
            f"via `litellm-bridge clients setup codex`; {KEY_ENV}={key_reference} codex"
        )
