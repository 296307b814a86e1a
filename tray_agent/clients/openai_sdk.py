"""The OpenAI SDKs (Python, Node): ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``."""

from __future__ import annotations

from tray_agent.clients.base import Target
from tray_agent.clients.snippets import SnippetSetup


class OpenAISdk(SnippetSetup):
    name = "openai-sdk"
    title = "OpenAI SDK"
    aliases = ("openai",)
    modules = ("openai",)

    def variables(self, target: Target) -> dict[str, str]:
        return {"OPENAI_BASE_URL": target.openai_base, "OPENAI_API_KEY": target.key}

    def summary(self, url: str, key_reference: str) -> str:
        return f'OpenAI(base_url="{url.rstrip("/")}/v1", api_key={key_reference})'
