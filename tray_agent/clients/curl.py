"""Plain HTTP (curl): the bridge URL and key as ``LITELLM_BRIDGE_URL`` / ``_API_KEY``."""

from __future__ import annotations

from tray_agent.clients.base import KEY_ENV, URL_ENV, Target
from tray_agent.clients.snippets import SnippetSetup


class Curl(SnippetSetup):
    name = "curl"
    title = "curl"
    executables = ("curl",)

    def variables(self, target: Target) -> dict[str, str]:
        return {URL_ENV: target.url, KEY_ENV: target.key}

    def summary(self, url: str, key_reference: str) -> str:
        return (
            f'curl {url.rstrip("/")}/v1/chat/completions -H "Authorization: Bearer '
            f"{key_reference}\" -H 'Content-Type: application/json' "
            """-d '{"model": "<model>", "messages": [{"role": "user", "content": "hi"}]}'"""
        )
