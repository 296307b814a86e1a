"""CLI tool setup: point Claude Code, Gemini CLI, Codex, aider, SDKs and curl at the bridge.

Each tool is one ``ClientSetup`` (``base``) describing the files and keys it owns; the shared
engine (``setup``) plans, diffs, backs up, writes and restores; ``loop`` refuses setups that
would make the bridge call itself; every refusal is a ``ClientsError`` (``errors``).
"""

from tray_agent.clients.base import KEY_ENV, URL_ENV, ClientSetup, FileSpec, Target
from tray_agent.clients.endpoint import Endpoint, bridge_endpoint, key_command
from tray_agent.clients.errors import ClientsError
from tray_agent.clients.registry import all_clients, get_client
from tray_agent.clients.summary import setup_summary

__all__ = [
    "KEY_ENV",
    "URL_ENV",
    "ClientSetup",
    "ClientsError",
    "Endpoint",
    "FileSpec",
    "Target",
    "all_clients",
    "bridge_endpoint",
    "get_client",
    "key_command",
    "setup_summary",
]
