"""Every supported client, in the order they are listed."""

from __future__ import annotations

from tray_agent.clients.aider import Aider
from tray_agent.clients.anthropic_sdk import AnthropicSdk
from tray_agent.clients.base import ClientSetup
from tray_agent.clients.claude_code import ClaudeCode
from tray_agent.clients.codex import Codex
from tray_agent.clients.curl import Curl
from tray_agent.clients.errors import ClientsError
from tray_agent.clients.gemini_cli import GeminiCli
from tray_agent.clients.openai_sdk import OpenAISdk


def all_clients() -> list[ClientSetup]:
    return [ClaudeCode(), GeminiCli(), Codex(), Aider(), OpenAISdk(), AnthropicSdk(), Curl()]


def get_client(name: str) -> ClientSetup:
    wanted = name.strip().lower()
    for client in all_clients():
        if wanted == client.name or wanted in client.aliases:
            return client
    names = ", ".join(c.name for c in all_clients())
    raise ClientsError(f"unknown client {name!r}; supported: {names}")
