"""Gemini CLI: ``~/.gemini/settings.json`` plus ``~/.gemini/.env`` (``$GEMINI_CLI_HOME``
replaces ``~``).

Gemini CLI has no setting for its base URL or key: both are environment variables, and
``~/.gemini/.env`` is where it documents putting them. It loads that file only in trusted
folders and only when the project has no ``.env`` of its own; the exports printed by
``litellm-bridge clients env`` work everywhere.
"""

from __future__ import annotations

from pathlib import Path

from tray_agent.clients.base import ClientSetup, FileSpec, Target, env_dir, home
from tray_agent.clients.formats import KeyPath

# Measured on 0.61.0: without usageStatisticsEnabled=false it resolves play.googleapis.com
# (usage statistics) on every run; with it, nothing but model calls left the machine.
OFFLINE_SETTINGS: dict[KeyPath, object] = {
    ("privacy", "usageStatisticsEnabled"): False,
    ("telemetry", "enabled"): False,
    ("general", "enableAutoUpdate"): False,
    ("general", "enableAutoUpdateNotification"): False,
}


class GeminiCli(ClientSetup):
    name = "gemini"
    title = "Gemini CLI"
    aliases = ("gemini-cli",)
    executables = ("gemini",)

    def gemini_dir(self) -> Path:
        return env_dir("GEMINI_CLI_HOME", home()) / ".gemini"

    def files(self, target: Target) -> list[FileSpec]:
        settings: dict[KeyPath, object] = {
            ("security", "auth", "selectedType"): "gemini-api-key",
            **OFFLINE_SETTINGS,
        }
        if target.model:
            settings[("model", "name")] = target.model
        env: dict[KeyPath, object] = {
            ("GOOGLE_GEMINI_BASE_URL",): target.url,
            ("GEMINI_API_KEY",): target.key,
        }
        d = self.gemini_dir()
        return [
            FileSpec(d / "settings.json", "json", settings),
            FileSpec(d / ".env", "dotenv", env, secret=True),
        ]

    def notes(self, target: Target) -> list[str]:
        return [
            "Gemini CLI reads ~/.gemini/.env only in trusted folders without a .env of their "
            'own; elsewhere run: eval "$(litellm-bridge clients env)"'
        ]

    def summary(self, url: str, key_reference: str) -> str:
        return f"GOOGLE_GEMINI_BASE_URL={url} GEMINI_API_KEY={key_reference} gemini"
