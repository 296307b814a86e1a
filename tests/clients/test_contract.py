"""Every client setup runs the shared contract (tests/clients/contract.py)."""

from __future__ import annotations

from tests.clients.contract import ClientSetupContract
from tray_agent.clients.aider import Aider
from tray_agent.clients.anthropic_sdk import AnthropicSdk
from tray_agent.clients.claude_code import ClaudeCode
from tray_agent.clients.codex import Codex
from tray_agent.clients.curl import Curl
from tray_agent.clients.gemini_cli import GeminiCli
from tray_agent.clients.openai_sdk import OpenAISdk


class TestClaudeCode(ClientSetupContract):
    client_factory = ClaudeCode


class TestClaudeCodeWithModel(ClientSetupContract):
    client_factory = ClaudeCode
    model = "internal-large"


class TestGeminiCli(ClientSetupContract):
    client_factory = GeminiCli


class TestGeminiCliWithModel(ClientSetupContract):
    client_factory = GeminiCli
    model = "internal-large"


class TestCodex(ClientSetupContract):
    client_factory = Codex


class TestCodexWithModel(ClientSetupContract):
    client_factory = Codex
    model = "internal-large"


class TestAider(ClientSetupContract):
    client_factory = Aider
    model = "internal-large"


class TestOpenAISdk(ClientSetupContract):
    client_factory = OpenAISdk


class TestAnthropicSdk(ClientSetupContract):
    client_factory = AnthropicSdk


class TestCurl(ClientSetupContract):
    client_factory = Curl
