"""The Anthropic SDKs (Python, Node): ``ANTHROPIC_BASE_URL`` and ``ANTHROPIC_API_KEY``."""

from __future__ import annotations

from tray_agent.clients.base import Target
from tray_agent.clients.snippets import SnippetSetup


class AnthropicSdk(SnippetSetup):
    name = "anthropic-sdk"
    title = "Anthropic SDK"
    aliases = ("anthropic",)
    modules = ("anthropic",)

    def variables(self, target: Target) -> dict[str, str]:
        return {"ANTHROPIC_BASE_URL": target.url, "ANTHROPIC_API_KEY": target.key}

    def summary(self, url: str, key_reference: str) -> str:
        return f'Anthropic(base_url="{url}", api_key={key_reference})'
