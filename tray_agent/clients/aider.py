"""aider: ``~/.aider.conf.yml``.

aider's YAML cannot reference environment variables, and ``OPENAI_API_KEY`` is often a real
OpenAI key in the same shell, so the bridge key is written to the file (kept 0600).
"""

from __future__ import annotations

from tray_agent.clients.base import ClientSetup, FileSpec, Target, home
from tray_agent.clients.formats import KeyPath

OFFLINE_SETTINGS: dict[KeyPath, object] = {
    ("analytics-disable",): True,
    ("check-update",): False,
}


class Aider(ClientSetup):
    name = "aider"
    title = "aider"
    executables = ("aider",)

    def files(self, target: Target) -> list[FileSpec]:
        values: dict[KeyPath, object] = {
            ("openai-api-base",): target.openai_base,
            ("openai-api-key",): target.key,
            **OFFLINE_SETTINGS,
        }
        if target.model:
            values[("model",)] = f"openai/{target.model}"
        return [FileSpec(home() / ".aider.conf.yml", "yaml", values, secret=True)]

    def summary(self, url: str, key_reference: str) -> str:
        return (
            f"aider --openai-api-base {url.rstrip('/')}/v1 --openai-api-key {key_reference} "
            "--model openai/<model>"
        )
